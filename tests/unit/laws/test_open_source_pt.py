"""The CPT law for open-source PT models (``pt="unknown"``; Wang, Tissue et al. 2025 §6, App. G): S1pt fitted,
the PT annealed to 0, CPT-only runs."""

import numpy as np
import pytest

from cptlaw.data import Run, RunSet
from cptlaw.datasets import load
from cptlaw.errors import CptlawError
from cptlaw.laws import CPTLaw
from cptlaw.laws.cpt import cpt_part
from cptlaw.schedules import Constant, Cosine, Warmup
from cptlaw.laws import load as load_fit
from tests.helpers import check_jacobian

# Fig. 18 (laws.md §3.4): the paper's own 106M model treated as unknown, CPT on Pile-of-Law (peak 2e-4),
# on the proxy general set C4 and on the domain set.
FIG18_C4 = dict(L0=2.742, A=0.887, alpha=0.414, S1pt=5.157, C2=0.279, B=3.112, E=100.0, beta=0.072)
FIG18_LAW = dict(L0=2.414, A=0.171, alpha=0.531, S1pt=0.085, C2=0.311, B=-0.790, E=17.0, beta=35.333)


def cpt_run(name, post, steps=6000, warm=200):
    """A CPT-only run: the LR re-warms from 0 (the unknown PT ended annealed to 0)."""
    sched = Warmup(post, warm, init=0.0)
    s = np.arange(steps)
    return Run(name, s, sched(s))


def areas_by_definition(lr, lam=0.999):
    """S1cpt and S2cpt of a CPT LR after a PT that ended at LR 0, straight from the definitions (laws.md §1.1):
    S1(t) = sum_{i<=t} eta_i, S2(t) = sum_{i<=t} sum_{k<=i} (eta_{k-1} - eta_k) lam^(i-k), eta_{-1} = 0."""
    eta = np.r_[0.0, lr]
    s1 = np.cumsum(lr)
    s2 = np.zeros(lr.size)
    for i in range(lr.size):
        k = np.arange(i + 1)
        s2[i] = (s2[i - 1] if i else 0.0) + np.sum((eta[k] - eta[k + 1]) * lam ** (i - k))
    return s1, s2


@pytest.mark.parametrize("params", [FIG18_C4, FIG18_LAW], ids=["c4", "pile-of-law"])
def test_published_fig18_equations(params):
    run = cpt_run("cosine", Cosine(2e-4, 1800, 2e-5), steps=2000)
    s1, s2 = areas_by_definition(run.lr)
    p = params
    want = (p["L0"] + p["A"] * (s1 + p["S1pt"]) ** -p["alpha"] - p["C2"] * s2
            + p["B"] * (1 - (p["E"] * s1 + 1) ** -p["beta"]))
    got = CPTLaw(pt="unknown").predict(run, params=params)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert s2[100] < 0  # the re-warmup from the PT's final LR 0 counts negatively in S2cpt


def test_jacobian_matches_finite_differences():
    rng = np.random.default_rng(0)
    runs = [cpt_run("a", Cosine(2e-4, 2800, 2e-5), 3000), cpt_run("b", Constant(1e-4), 2000)]
    for r, size, rep in zip(runs, (20e6, 80e6), (0.1, 0.5)):
        r.losses["loss:general"] = (np.arange(0, r.steps.size, 50), np.ones(r.steps.size // 50 + (r.steps.size % 50 > 0)))
        r.model_size, r.replay_ratio = size, rep
    for law in (CPTLaw(pt="unknown"), CPTLaw(pt="unknown", size=True, replay="domain")):
        design = law.design(runs, "loss:general")
        theta = np.array([np.exp(rng.uniform(*np.log(p.init))) if p.log else rng.uniform(*p.init)
                          for p in law.parameters(design.y, design)])
        check_jacobian(law, design, theta)


def test_recovery_from_the_start_of_cpt_predicts_the_rest():
    """Curves made with the Fig. 18 C4 equation: a fit on the first 25% of two runs predicts all of a third."""
    runs = [cpt_run("cos", Cosine(2e-4, 5800, 2e-5)), cpt_run("const", Constant(2e-4)),
            cpt_run("cos_low", Cosine(1e-4, 5800, 1e-5))]
    for r in runs:
        idx = np.arange(0, r.steps.size, 25)
        r.losses["loss:c4"] = (idx, CPTLaw(pt="unknown").predict(r, r.steps[idx], params=FIG18_C4))
    early = RunSet([Run(r.name, r.steps, r.lr, losses={"loss:c4": (i[i < 1500], v[i < 1500])})
                    for r in runs[:2] for i, v in [r.losses["loss:c4"]]])
    law = CPTLaw(pt="unknown").fit(early, "loss:c4")
    for r in runs:
        idx, y = r.observed("c4")
        np.testing.assert_allclose(law.predict(r, r.steps[idx]), y, rtol=2e-3)


def test_runs_with_a_pt_prefix_are_refused_and_cpt_part_cuts_them(tmp_path):
    runs = load("pilot-gpu-german")
    run = runs["s_german_const600_cosine_r25"]
    with pytest.raises(CptlawError, match="takes CPT-only runs.*cpt_part"):
        CPTLaw(pt="unknown").fit([run], "loss:german")
    part = cpt_part(run)
    assert part.transfer is None and part.steps[0] == run.transfer_step and part.lr.size == run.lr.size - run.transfer
    idx, y = part.observed("german")
    np.testing.assert_array_equal(part.steps[idx], run.steps[run.observed("german")[0]][-idx.size:])
    law = CPTLaw(pt="unknown").fit([part], "loss:german", n_starts=4)  # the round trip, not the fit, is tested
    assert law.result_.options["pt"] == "unknown" and "S1pt" in law.params_ and "C1" not in law.params_
    law.result_.save(tmp_path / "fit.json")
    again = load_fit(tmp_path / "fit.json")
    np.testing.assert_array_equal(again.predict(part), law.predict(part))
