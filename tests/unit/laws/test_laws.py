import numpy as np
import pytest

from cptlaw.data import Run
from cptlaw.datasets.synthetic import CPT_FIG3, simulate_cpt_runs
from cptlaw.laws import AnnealingLaw, CPTLaw, DCPTLaw, Design, MultiPowerLaw
from cptlaw.schedules import Constant, Continual, Cosine, Warmup, WSD
from tests.helpers import check_jacobian


def design_of(features, n):
    return Design(["x"], np.zeros(n, np.int64), np.arange(n), None, features)


def test_cpt_fig3_published_equations():
    """laws.md §6: CPT Fig. 3 laws at S1pt = 8, S1cpt = 2, S2 = 0."""
    f = {"S1": np.array([10.0]), "S1cpt": np.array([2.0]), "S2pt": np.zeros(1), "S2cpt": np.zeros(1)}
    law = CPTLaw()
    for target, expected in (("general", 3.40857), ("domain", 2.61512)):
        assert law.value(law.theta(CPT_FIG3[target]), design_of(f, 1))[0] == pytest.approx(expected, abs=1e-5)


def test_tissue_fig2_published_equation_on_constant_and_cosine():
    """laws.md §6: Tissue Fig. 2 (L0, A, alpha, C) = (2.628, 0.429, 0.550, 0.411) at 20K steps."""
    law = AnnealingLaw()
    p = dict(L0=2.628, A=0.429, alpha=0.550, C=0.411)
    const = Run.from_schedule("c", Warmup(Constant(2e-4), 500), 20000)
    cos = Run.from_schedule("k", Warmup(Cosine(2e-4, 19500, 0.0), 500), 20000)
    assert law.predict(const, [19999], params=p)[0] == pytest.approx(2.82814, abs=1e-5)
    assert law.predict(cos, [19999], params=p)[0] == pytest.approx(2.83589, abs=1e-5)


def test_model_size_units_are_millions():
    """Tissue Eq. 7 setting A: 1.504 + 3.067 * 594.6^-0.158 ~ the single-size L0 2.628 (laws.md §1.3)."""
    law = AnnealingLaw(size=True)
    p = dict(L0=1.504, A=0.440, alpha=0.546, C=0.273, B=3.067, beta=0.158, gamma=0.052)
    f = {"S1": np.array([1e12]), "S2": np.zeros(1), "N": np.array([594.6e6 / law.n_unit])}
    assert law.value(law.theta(p), design_of(f, 1))[0] == pytest.approx(2.62, abs=0.01)
    cpt = CPTLaw(size=True)  # CPT Eq. 7 (Fig. 15): 1.829 + 3.072 * 106^-0.195 ~ 3.067
    q = dict(L0=1.829, A=0.504, alpha=0.537, C1=0.090, C2=0.103, B=0.278, E=12.0, beta=0.359, gamma1=0.235,
             gamma2=0.199, F=3.072, gamma3=0.195)
    f = {"S1": np.array([1e12]), "S1cpt": np.zeros(1), "S2pt": np.zeros(1), "S2cpt": np.zeros(1), "N": np.array([106.0])}
    assert cpt.value(cpt.theta(q), design_of(f, 1))[0] == pytest.approx(3.067, abs=0.01)


def random_runs(meta=True):
    rs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000),
                            ("c", "constant", 4000, "constant", 0)], target="general", n_eval=40)
    for i, r in enumerate(rs):
        r.model_size = [20e6, 80e6, 300e6][i]
        r.replay_ratio = [0.1, 0.3, 0.0][i]
        r.tokens_per_step = 4096.0
    return rs


@pytest.mark.parametrize("law", [AnnealingLaw(), AnnealingLaw(size=True), CPTLaw(), CPTLaw(size=True),
                                 CPTLaw(replay="general"), CPTLaw(replay="domain"), CPTLaw(size=True, replay="domain"),
                                 CPTLaw(shift="steps"), CPTLaw(shift="steps", replay="general"),
                                 MultiPowerLaw(), MultiPowerLaw(ld_max_points=None, warmup="as_peak")],
                         ids=lambda l: f"{l.name}-{l.options().get('size')}-{l.options().get('replay')}-{l.options().get('shift', '')}")
def test_analytic_jacobian_matches_finite_differences(law):
    rng = np.random.default_rng(0)
    runs = random_runs()
    design = law.design(list(runs), "loss:general")
    params = law.parameters(design.y)
    theta = np.array([np.exp(rng.uniform(np.log(p.init[0]), np.log(p.init[1]))) if p.log
                      else rng.uniform(*p.init) for p in params])
    check_jacobian(law, design, theta)


def test_dcpt_jacobian_and_r_zero_is_finite():
    law = DCPTLaw()
    d = law.design_points([5e8, 1.8e9, 4e9, 5e8], [1e9, 5e9, 2e10, 3e9], [0.0, 0.2, 0.9, 1.0])
    theta = np.array([1.5, 2.0, 0.3, 0.8, 0.4, 0.6, 0.05, 0.3, 0.02])
    assert np.all(np.isfinite(law.value(theta, d)))
    d2 = law.design_points([5e8, 1.8e9, 4e9], [1e9, 5e9, 2e10], [0.1, 0.2, 0.9])
    check_jacobian(law, d2, theta)


def test_dcpt_trends():
    """L3's explicit trends: loss falls with N and with D (laws.md §4.1)."""
    law = DCPTLaw()
    theta = np.array([1.5, 2.0, 0.3, 0.8, 0.4, 0.6, 0.05, 0.3, 0.02])
    by_n = law.value(theta, law.design_points([1e8, 1e9, 1e10], 1e9, 0.5))
    by_d = law.value(theta, law.design_points(1e9, [1e8, 1e9, 1e10], 0.5))
    assert np.all(np.diff(by_n) < 0) and np.all(np.diff(by_d) < 0)


def test_cpt_law_reduces_to_annealing_law_on_pt_runs():
    run = Run.from_schedule("pt", Warmup(WSD(2e-4, 9500, 1000), 500), 10000)
    p = CPT_FIG3["general"]
    cpt = CPTLaw().predict(run, params=p)
    ann = AnnealingLaw().predict(run, params=dict(L0=p["L0"], A=p["A"], alpha=p["alpha"], C=p["C1"]))
    np.testing.assert_allclose(cpt, ann, rtol=1e-12)


def test_cpt_predicts_unseen_planned_schedule():
    """The law predicts a CPT schedule that was never trained (built from a spec)."""
    sched = Continual(Warmup(Constant(2e-4), 500), Cosine(1e-4, 5000), 20000, rewarmup_steps=100)
    run = Run.from_schedule("plan", sched, 25000)
    law = CPTLaw()
    pred = law.predict(run, params=CPT_FIG3["domain"])
    assert np.all(np.isnan(pred[:500])) and np.all(np.isfinite(pred[500:]))  # inside the as_peak warmup: no law
    assert pred[-1] < pred[19999]  # the domain loss falls during CPT (B < 0)
    gen = law.predict(run, params=CPT_FIG3["general"])
    assert gen[20500] > gen[19999]  # the general loss rises right after the switch (B > 0, re-warmup)


def test_steps_driven_shift_is_the_area_one_at_a_constant_cpt_lr():
    """shift="steps" uses t, the CPT steps done; at a constant CPT LR eta, S1cpt = eta * t, so the two forms are
    the same law with E rescaled by eta (and record their option only when it is not Eq. 4's)."""
    run = Run.from_schedule("c", Continual(Warmup(Constant(3e-4), 100), Constant(2e-4), transfer=1000), 2000)
    area, steps = CPTLaw(), CPTLaw(shift="steps")
    params = {"L0": 2.0, "A": 0.5, "alpha": 0.4, "C1": 0.3, "C2": 0.3, "B": -0.5, "E": 300.0, "beta": 0.5}
    a = area.predict(run, params=params)
    b = steps.predict(run, params={**params, "E": 300.0 * 2e-4})
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert area.options()["shift"] == "area" and steps.options()["shift"] == "steps"  # always recorded (v3)


def test_dcpt_corpus_is_learned_by_fit_not_by_a_design():
    """corpus='auto': fit learns which corpus's share r is (corpus_, from the target); a later design reads it and
    changes nothing (a design used to reset a private attribute)."""
    runs = random_runs()
    law = DCPTLaw().fit(runs, "loss:general", n_starts=4)
    assert law.corpus_ == "general" and law.options()["corpus"] == "general"
    r_general = law.design([runs["a"]], "loss:general").features["r"][0]
    assert r_general == pytest.approx(runs["a"].replay_ratio) and law.options()["corpus"] == "general"
    assert DCPTLaw().options()["corpus"] == "domain"  # unfitted: a domain's share, as before
