"""Checked predictions (cptlaw.predict): outside the fitted range flagged, non-losses refused, warmup excluded."""

import numpy as np
import pytest

from cptlaw.data import Run, RunSet
from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.errors import DataError
from cptlaw.laws import CPTLaw
from cptlaw.predict import predict_runs
from cptlaw.schedules import WSD, Constant, Continual, Cosine, Warmup
from cptlaw.laws import from_result


@pytest.fixture(scope="module")
def constant_pt_fit():
    """One fit, shared: it never saw an annealed PT."""
    runs = simulate_cpt_runs([("p", "constant", 20000, "constant", 0), ("a", "constant", 20000, "cosine", 10000),
                              ("b", "constant", 10000, "constant", 20000)], target="general", n_eval=150)
    return CPTLaw().fit(runs, "general")


def test_prediction_outside_the_fitted_range_is_flagged(constant_pt_fit):
    fit = constant_pt_fit  # never saw an annealed PT
    plan = Continual(Warmup(WSD(2e-4, 19500, 4000, 0.0), 500), Cosine(2e-4, 10000), 20000)
    runs = RunSet([Run.from_schedule("plan", plan, 30000)])
    rows = predict_runs(fit, runs, every=500)
    assert rows and all(np.isfinite(r["predicted"]) and r["predicted"] > 0 for r in rows)
    assert any("S2pt" in r["extrapolated"].split(";") for r in rows)
    inside = predict_runs(fit, simulate_cpt_runs([("a", "constant", 20000, "cosine", 10000)], n_eval=50))
    assert all(r["extrapolated"] == "" for r in inside if r["step"] < 20000)


def test_a_transfer_point_never_fitted_is_flagged(constant_pt_fit):
    """The fit saw CPT from 10000 and 20000 steps of PT: a CPT run from 5000 or 25000 starts from a PT area it never
    saw (S1_transfer), whatever its other inputs; one from 15000 lies between and is not flagged for it."""
    for transfer, flagged in ((5000, True), (15000, False), (25000, True)):
        run = simulate_cpt_runs([("x", "constant", transfer, "constant", 5000)], n_eval=40)
        rows = [r for r in predict_runs(constant_pt_fit, run) if r["step"] >= transfer]
        assert rows and all(("S1_transfer" in r["extrapolated"].split(";")) == flagged for r in rows), transfer
    pt_rows = [r for r in predict_runs(constant_pt_fit, run) if r["step"] < 25000]
    assert not any("S1_transfer" in r["extrapolated"] for r in pt_rows)


def test_non_positive_prediction_is_an_error(constant_pt_fit):
    fit = constant_pt_fit
    fit = from_result(fit.result_.model_copy(update={"params": {**fit.params_, "C1": 50.0}}))  # annealing explodes
    plan = Continual(Warmup(WSD(2e-4, 19500, 4000, 0.0), 500), Constant(2e-4), 20000)
    with pytest.raises(DataError, match="not a loss"):
        predict_runs(fit, RunSet([Run.from_schedule("plan", plan, 25000)]))


def test_warmup_points_are_outside_the_domain(constant_pt_fit):
    fit = constant_pt_fit
    run = Run.from_schedule("plan", Warmup(Constant(2e-4), 500), 2000)
    rows = predict_runs(fit, RunSet([run]), every=100)
    assert min(r["step"] for r in rows) >= 500
