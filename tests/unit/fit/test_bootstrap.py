"""Bootstrap intervals: parameters, predictions, saved fits, and their calibration on bundled real data."""

import numpy as np
import pytest

from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.errors import CptlawError
from cptlaw.laws import AnnealingLaw, CPTLaw
from cptlaw.predict import predict_runs
from cptlaw.laws import load as load_fit

SPECS = [("a", "constant", 20000, "constant", 10000), ("b", "wsd", 20000, "cosine", 10000),
         ("c", "constant", 30000, "wsd", 10000), ("d", "wsd", 10000, "constant", 20000)]


@pytest.fixture(scope="module")
def boot():
    runs = simulate_cpt_runs(SPECS + [("new", "wsd", 25000, "cosine", 15000)], target="general", noise=2e-3,
                             seed=4, n_eval=120)
    law = CPTLaw().fit(runs, "general", names=[s[0] for s in SPECS], bootstrap=40)
    return runs, law


def test_parameter_intervals_and_samples(boot, tmp_path):
    runs, law = boot
    u = law.result_.uncertainty
    assert u.method == "runs" and u.n == 40 and len(u.samples) == 40
    assert u.residuals == "leave-one-run-out" and len(u.residual_quantiles) == 40
    for name, (lo, hi) in u.intervals.items():
        assert lo <= hi
    for name in ("L0", "A", "alpha"):
        lo, hi = u.intervals[name]
        assert lo <= law.params_[name] * 1.02 and hi >= law.params_[name] * 0.98
    path = law.result_.save(tmp_path / "fit.json")
    assert load_fit(path).result_.uncertainty.samples == u.samples


def test_prediction_interval_brackets_the_prediction(boot):
    runs, law = boot
    rows = predict_runs(law, runs, ["new"], interval=0.9)
    lo, mid, hi = (np.array([r[k] for r in rows]) for k in ("lower", "predicted", "upper"))
    assert np.all(lo < hi) and np.mean((lo <= mid) & (mid <= hi)) > 0.95
    obs = np.array([r["observed"] for r in rows])
    assert np.mean((lo <= obs) & (obs <= hi)) >= 0.85  # simulated from the law: nominal coverage or better
    narrow = predict_runs(law, runs, ["new"], interval=0.5)
    assert np.all(np.array([r["upper"] - r["lower"] for r in narrow]) <= hi - lo + 1e-12)


def test_interval_needs_a_bootstrap_and_runs_need_three():
    runs = simulate_cpt_runs(SPECS[:2], target="general", n_eval=60)
    fit = CPTLaw().fit(runs, "general", n_starts=8)
    with pytest.raises(CptlawError, match="--bootstrap"):
        predict_runs(fit, runs, interval=0.9)
    with pytest.raises(CptlawError, match="residual"):
        CPTLaw().fit(runs, "general", n_starts=8, bootstrap=5)
    law = AnnealingLaw().fit(runs, "general", n_starts=8, bootstrap=5, bootstrap_method="residuals")
    assert law.result_.uncertainty.residuals == "in-sample" and law.result_.uncertainty.block >= 3
