"""The planner on the CPT paper's published coefficients (Fig. 3: 106M, FineWeb -> Knowledge-Pile)."""

import numpy as np
import pytest

from cptlaw.datasets.synthetic import CPT_FIG3
from cptlaw.laws import CPTLaw
from cptlaw.plan import parse_space
from cptlaw.plan.search import choose, pareto_front, plan, predict_candidates


class Published:
    """A fit made of published coefficients (no data, so no fitted ranges and no flags)."""

    def __init__(self, params):
        self.params, self.diagnostics = params, {}

    def law(self):
        law = CPTLaw()
        law.params_ = dict(self.params)
        return law


GENERAL, DOMAIN = Published(CPT_FIG3["general"]), Published(CPT_FIG3["domain"])
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
