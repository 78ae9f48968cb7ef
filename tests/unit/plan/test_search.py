"""The planner on the CPT paper's published coefficients (Fig. 3: 106M, FineWeb -> Knowledge-Pile)."""

import numpy as np
import pytest

from cptlaw.datasets.synthetic import CPT_FIG3, published_law
from cptlaw.plan import parse_space
from cptlaw.plan.search import choose, pareto_front, plan, predict_candidates


GENERAL, DOMAIN = published_law(CPT_FIG3["general"]), published_law(CPT_FIG3["domain"])
# PT: WSD, 40K steps at 2e-4 with a 10K linear cooldown to 0; checkpoints in the cooldown give loss potentials
# 100%, 75%, 50%, 25% and 0% (eta_pt_final / eta_pt_peak, laws.md §3.4)
PT = {"kind": "wsd", "peak": 2e-4, "steps": 40000, "decay_steps": 10000}
TRANSFERS = [30000, 32500, 35000, 37500, 40000]


def space(**cpt):
    return parse_space({"pt": {"schedule": PT, "transfer": TRANSFERS},
                        "cpt": {"family": "cosine", "peak_lr": 2e-4, "rewarmup_steps": 0, "steps": 10000, **cpt},
                        "objective": {"lambda1": [0.2, 0.4, 0.6, 0.8, 1.0]}})


def optimum(sp, key):
    res = plan(GENERAL, DOMAIN, sp)
    return [getattr(res["candidates"][c["best"]], key) for c in res["choices"]]


def test_optimal_loss_potential_falls_as_lambda1_rises():
    transfers = optimum(space(), "transfer")  # a later checkpoint in the cooldown = lower loss potential
    assert transfers == sorted(transfers) and transfers[0] < transfers[-1]


def test_optimal_peak_lr_falls_as_lambda1_rises():
    sp = space(peak_lr={"min": 2.5e-5, "max": 2e-4, "num": 8, "scale": "log"}, rewarmup_steps=500)
    peaks = optimum(sp, "peak_lr")
    assert peaks == sorted(peaks, reverse=True) and peaks[0] > peaks[-1]


def test_general_loss_cap_is_respected_and_binds():
    sp = space(peak_lr={"min": 2.5e-5, "max": 2e-4, "num": 8, "scale": "log"})
    cands = list(sp.candidates())
    pred = predict_candidates(GENERAL, DOMAIN, sp, cands)
    free = choose(sp, cands, pred, 0.0, 1.0)
    rise = pred["general"] - pred["general_at_transfer"]
    cap = 0.5 * rise[free]
    sp.constraints.max_general_increase = cap
    capped = choose(sp, cands, pred, 0.0, 1.0)
    assert rise[capped] <= cap and pred["domain"][capped] > pred["domain"][free]


def test_pareto_front_is_non_dominated():
    rng = np.random.default_rng(1)
    g, d = rng.random(300), rng.random(300)
    front = pareto_front(g, d)
    for i in front:
        assert not np.any((g < g[i]) & (d < d[i]))
    others = np.setdiff1d(np.arange(300), front)
    assert all(np.any((g[front] <= g[i]) & (d[front] <= d[i])) for i in others)


def test_higher_loss_potential_gives_lower_final_domain_loss():
    """Finding 3 (Wang, Tissue et al. 2025 §4.2): PT runs of one length annealed to different final LRs; the
    same CPT from each ends lower on the domain the less the PT was annealed."""
    finals = [0.0, 0.25, 0.5, 1.0]
    pts = {f"final{f:g}": {"kind": "wsd", "peak": 2e-4, "steps": 40000, "decay_steps": 10000, "floor": f * 2e-4}
           for f in finals}
    sp = parse_space({"pt": {"schedules": pts, "transfer": 40000},
                      "cpt": {"family": "cosine", "peak_lr": 2e-4, "rewarmup_steps": 500, "steps": 10000},
                      "objective": {"lambda1": 0.0}})
    cands = list(sp.candidates())
    potential = np.array([sp.loss_potential(c) for c in cands])
    assert np.allclose(np.sort(potential), finals, atol=1e-3)
    pred = predict_candidates(GENERAL, DOMAIN, sp, cands)
    order = np.argsort(potential)
    assert np.all(np.diff(pred["domain"][order]) < 0)
    assert cands[choose(sp, cands, pred, 0.0, 1.0)].pt == "final1"


def test_pt_needs_one_schedule_or_named_schedules():
    from cptlaw.errors import SpecError

    base = {"cpt": {"peak_lr": 1e-4, "steps": 100}}
    with pytest.raises(SpecError, match="pt: give schedule"):
        parse_space({"pt": {"transfer": 100}, **base})
    with pytest.raises(SpecError, match="pt.schedules.b"):
        parse_space({"pt": {"schedules": {"a": PT, "b": {"kind": "nope"}}, "transfer": 100}, **base})


def test_target_domain_loss_is_reached_in_the_fewest_steps():
    sp = space(steps=[2000, 5000, 10000, 20000])
    cands = list(sp.candidates())
    pred = predict_candidates(GENERAL, DOMAIN, sp, cands)
    steps = np.array([c.steps for c in cands])
    target = float(np.median(pred["domain"][steps == 10000]))  # some 10K plans reach it, no 2K plan does
    assert pred["domain"][steps == 2000].min() > target
    sp.constraints.target_domain_loss = target
    best = choose(sp, cands, pred, 0.5, 0.5)
    reach = pred["domain"] <= target
    assert reach[best] and cands[best].steps == steps[reach].min()


def test_token_budgets_remove_what_they_must():
    from cptlaw.plan.search import feasible

    sp = parse_space({"pt": {"schedule": PT, "transfer": 40000},
                      "cpt": {"peak_lr": 2e-4, "steps": [1000, 2000, 4000], "replay": [0.0, 0.5]},
                      "constraints": {"tokens_per_step": 1e6, "max_cpt_tokens": 3e9, "domain_tokens": 1e9,
                                      "max_domain_epochs": 2.0}})
    cands = list(sp.candidates())
    pred = {"general": np.full(len(cands), 3.0), "domain": np.full(len(cands), 2.0),
            "general_at_transfer": np.full(len(cands), 3.0), "valid": np.ones(len(cands), bool),
            "extrapolated": [""] * len(cands)}
    ok, removed = feasible(sp, cands, pred)
    kept = {(c.steps, c.replay) for c, k in zip(cands, ok) if k}
    # 4000 steps = 4e9 tokens > 3e9; 2000 steps without replay = 2e9 domain tokens = 2 epochs (allowed)
    assert kept == {(1000, 0.0), (1000, 0.5), (2000, 0.0), (2000, 0.5)}
    assert removed["max_cpt_tokens"] == 2 and removed["domain_tokens"] == 0
    sp.constraints.max_domain_epochs = 1.5
    ok, removed = feasible(sp, cands, pred)
    assert removed["domain_tokens"] == 1  # 2000 steps with no replay: 2 epochs


def test_ood_objective_is_eq5_with_its_coefficients():
    from cptlaw.plan.search import weights

    sp = parse_space({"pt": {"schedule": PT, "transfer": TRANSFERS}, "cpt": {"peak_lr": 2e-4, "steps": 10000},
                      "objective": {"ood": {"general": 0.867, "domain": 0.152}}})  # C4, Fig. 9
    assert weights(sp) == [("ood", 0.867, 0.152)]
    cands = list(sp.candidates())
    pred = predict_candidates(GENERAL, DOMAIN, sp, cands)
    best = choose(sp, cands, pred, 0.867, 0.152)
    assert best == int(np.argmin(0.867 * pred["general"] + 0.152 * pred["domain"]))
    res = plan(GENERAL, DOMAIN, sp)
    assert res["choices"][0]["best"] == best


def test_no_extrapolation_keeps_plans_inside_the_fitted_range():
    from cptlaw.errors import SpecError
    from cptlaw.plan.search import feasible

    sp = parse_space({"pt": {"schedule": PT, "transfer": 40000},
                      "cpt": {"peak_lr": [1e-4, 2e-4], "steps": 1000, "replay": [0.0, 0.25]},
                      "constraints": {"no_extrapolation": ["replay"], "allow_extrapolation": ["peak_lr"]}})
    cands = list(sp.candidates())
    n = len(cands)
    flags = ["general:r_pt" if c.replay == 0.0 else ("domain:lr_peak_cpt" if c.peak_lr == 2e-4 else "")
             for c in cands]
    pred = {"general": np.full(n, 3.0), "domain": np.full(n, 2.0), "general_at_transfer": np.full(n, 3.0),
            "valid": np.ones(n, bool), "extrapolated": flags}
    ok, removed = feasible(sp, cands, pred)
    assert [c.replay for c, k in zip(cands, ok) if k] == [0.25, 0.25] and removed["no_extrapolation:replay"] == 2
    default = parse_space({"pt": {"schedule": PT, "transfer": 40000},  # peak_lr is guarded unless allowed
                           "cpt": {"peak_lr": [1e-4, 2e-4], "steps": 1000, "replay": [0.0, 0.25]},
                           "constraints": {"no_extrapolation": ["replay"]}})
    assert default.constraints.no_extrapolation == ["replay", "peak_lr"]
    ok, removed = feasible(default, cands, pred)
    assert [(c.peak_lr, c.replay) for c, k in zip(cands, ok) if k] == [(1e-4, 0.25)]
    assert removed["no_extrapolation:peak_lr"] == 1
    with pytest.raises(SpecError, match="both no_extrapolation and allow_extrapolation"):
        parse_space({"pt": {"schedule": PT, "transfer": 40000}, "cpt": {"peak_lr": 1e-4, "steps": 10},
                     "constraints": {"no_extrapolation": ["peak_lr"], "allow_extrapolation": ["peak_lr"]}})
    with pytest.raises(SpecError, match="allow_extrapolation: 'replay' is not one of peak_lr"):
        parse_space({"pt": {"schedule": PT, "transfer": 40000}, "cpt": {"peak_lr": 1e-4, "steps": 10},
                     "constraints": {"allow_extrapolation": ["replay"]}})
    with pytest.raises(SpecError, match="no_extrapolation: 'lr'"):
        parse_space({"pt": {"schedule": PT, "transfer": 40000}, "cpt": {"peak_lr": 1e-4, "steps": 10},
                     "constraints": {"no_extrapolation": ["lr"]}})


def test_coarse_to_fine_finds_the_exhaustive_optimum():
    sp = parse_space({"pt": {"schedule": PT, "transfer": np.linspace(30000, 40000, 5).astype(int).tolist()},
                      "cpt": {"family": ["cosine", "wsd"], "peak_lr": {"min": 2e-5, "max": 4e-4, "num": 9, "scale": "log"},
                              "steps": {"min": 2000, "max": 20000, "num": 10}, "rewarmup_steps": [0, 500]},
                      "objective": {"lambda1": [0.2, 0.5, 0.8]}})
    full = plan(GENERAL, DOMAIN, sp, exhaustive=True)
    fast = plan(GENERAL, DOMAIN, sp, exhaustive=False)
    assert not fast["exhaustive"] and len(fast["candidates"]) < 0.5 * len(full["candidates"])
    for a, b in zip(full["choices"], fast["choices"]):
        wg, wd = a["w_general"], a["w_domain"]
        sa = wg * full["predictions"]["general"][a["best"]] + wd * full["predictions"]["domain"][a["best"]]
        sb = wg * fast["predictions"]["general"][b["best"]] + wd * fast["predictions"]["domain"][b["best"]]
        assert sb == pytest.approx(sa, rel=1e-12)
        assert fast["candidates"][b["best"]] == full["candidates"][a["best"]]


# Fig. 15 (Eq. 7, 106M/594M/1720M; N in millions assumed: the paper does not print the unit)
FIG15 = {"general": dict(L0=1.829, A=0.504, alpha=0.537, B=0.278, E=12, beta=0.359, C1=0.090, gamma1=0.235,
                         C2=0.103, gamma2=0.199, F=3.072, gamma3=0.195),
         "domain": dict(L0=1.860, A=0.438, alpha=0.585, B=-0.552, E=187, beta=0.326, C1=0.333, gamma1=0.012,
                        C2=0.140, gamma2=0.145, F=2.718, gamma3=0.189)}
def test_model_size_plans_with_eq7_fits():
    g, d = (published_law(FIG15[k], size=True) for k in ("general", "domain"))
    sp = parse_space({"pt": {"schedule": PT, "transfer": 40000},
                      "cpt": {"peak_lr": 2e-4, "steps": 10000, "model_size": [1.06e8, 5.94e8, 1.72e9]}})
    cands = list(sp.candidates())
    pred = predict_candidates(g, d, sp, cands)
    assert np.all(np.diff(pred["general"]) < 0) and np.all(np.diff(pred["domain"]) < 0)
    assert np.all(np.diff(pred["general_at_transfer"]) < 0)  # each size has its own PT checkpoint loss
    no_size = parse_space({"pt": {"schedule": PT, "transfer": 40000}, "cpt": {"peak_lr": 2e-4, "steps": 10000}})
    from cptlaw.errors import SpecError

    with pytest.raises(SpecError, match="cpt.model_size"):
        predict_candidates(g, d, no_size, list(no_size.candidates()))
