"""The global fit: variable projection, seed independence, diagnostics, checked predictions."""

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from cptlaw.data import Run, RunSet
from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.fit.varpro import bounded_lstsq
from cptlaw.laws import AnnealingLaw, CPTLaw, DCPTLaw, MultiPowerLaw
from cptlaw.schedules import WSD, Constant, Cosine, Warmup


@pytest.mark.parametrize("seed", range(6))
def test_bounded_lstsq_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(200, 5)) * np.array([1.0, 1e3, 1e-3, 1.0, 10.0])  # badly scaled columns
    b = rng.normal(size=200)
    sign = np.array([1, 1, 0, -1, 1])
    lo = np.where(sign > 0, 0.0, -np.inf)
    hi = np.where(sign < 0, 0.0, np.inf)
    ref = lsq_linear(M, b, bounds=(lo, hi), tol=1e-14, lsmr_tol="auto").x
    ours = bounded_lstsq(M, b, sign)
    assert np.all(ours[sign > 0] >= 0) and np.all(ours[sign < 0] <= 0)
    assert np.sum((M @ ours - b) ** 2) <= np.sum((M @ ref - b) ** 2) * (1 + 1e-9)


@pytest.mark.parametrize("law", [AnnealingLaw(), AnnealingLaw(size=True), CPTLaw(), CPTLaw(size=True, replay="domain"),
                                 MultiPowerLaw(), DCPTLaw()], ids=lambda l: l.name)
def test_linear_parameters_are_linear(law):
    """value = basis @ theta[linear] exactly: the law is linear in the parameters it declares linear."""
    rng = np.random.default_rng(1)
    if law.name == "dcpt":
        design = law.design_points([5e8, 1.8e9, 4e9], [1e9, 5e9, 2e10], [0.1, 0.5, 0.9])
    else:
        runs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000)], n_eval=40)
        for i, r in enumerate(runs):
            r.model_size, r.replay_ratio = [20e6, 80e6][i], [0.1, 0.3][i]
        design = law.design(list(runs), "loss:general")
    params = law.parameters()
    theta = np.array([rng.uniform(*p.init) for p in params])
    lin = [j for j, p in enumerate(params) if p.linear]
    assert lin, "every law has amplitudes"
    np.testing.assert_allclose(law.basis(theta, design) @ theta[lin], law.value(theta, design), rtol=1e-10)
    theta2 = theta.copy()
    theta2[lin] *= 3.0  # the basis does not depend on the amplitudes
    np.testing.assert_allclose(law.basis(theta2, design), law.basis(theta, design), rtol=1e-12)


def test_amplitude_is_not_lost_at_zero():
    """Annealing-law curves with C = 1.11 (constant, cosine and WSD runs): every seed recovers C, none ends at
    C = 0 (the previous fitter's log-space amplitudes could collapse there)."""
    truth = np.array([2.9, 0.45, 0.5, 1.11])
    runs = []
    for name, sched in [("const", Warmup(Constant(1e-3), 200)), ("cos", Warmup(Cosine(1e-3, 9800, 1e-4), 200)),
                        ("wsd", Warmup(WSD(1e-3, 9800, 2000, 0.0), 200))]:
        run = Run.from_schedule(name, sched, 10000)
        idx = np.arange(250, 10000, 50)
        d = AnnealingLaw().design([run], at={name: idx})
        run.losses["loss:val"] = (idx, AnnealingLaw().value(truth, d) * np.exp(
            np.random.default_rng(len(name)).normal(0, 5e-4, idx.size)))
        runs.append(run)
    runs = RunSet(runs)
    for seed in range(4):
        law = AnnealingLaw().fit(runs, "loss:val", seed=seed)
        assert law.params_["C"] == pytest.approx(1.11, rel=0.05)


def test_diagnostics_report_bounds_unidentified_and_ranges():
    """PT-only runs cannot identify the distribution-shift term; the fit says so, and saves input ranges."""
    runs = simulate_cpt_runs([("p1", "constant", 20000, "constant", 0), ("p2", "wsd", 20000, "constant", 0)],
                             target="general", n_eval=100)
    fit = CPTLaw().fit(runs, "general", n_starts=16).result_
    d = fit.diagnostics
    flagged = {p for u in d.unidentified for p in u["parameters"]} | {b["param"] for b in d.at_bound}
    assert {"B", "E", "beta"} <= flagged | set(fit.degenerate)
    assert d.stderr["L0"] is not None and d.stderr["L0"] > 0
    assert d.converged is True and d.caps == {"local_capped": 0, "final_capped": False}
    assert d.input_ranges["S1cpt"] == [0.0, 0.0] and d.input_ranges["S1"][1] == pytest.approx(4.0, rel=1e-6)
    assert fit.warnings


def test_stderr_covers_truth_on_recovery():
    runs = simulate_cpt_runs([("a", "constant", 20000, "constant", 10000), ("b", "wsd", 20000, "cosine", 10000),
                              ("c", "constant", 30000, "wsd", 10000)], target="general", noise=1e-3, seed=2,
                             n_eval=200)
    fit = CPTLaw().fit(runs, "general").result_
    se = fit.diagnostics.stderr
    for name, true in {"L0": 3.057, "A": 0.490, "alpha": 0.497}.items():
        assert se[name] is not None and abs(fit.params[name] - true) < 6 * se[name] + 1e-3
