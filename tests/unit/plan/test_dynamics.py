"""The plan's dynamics (§4.4: patterns, critical point, turning length) on the published Fig. 3 coefficients,
checked against brute-force scans of the predicted curves."""

import numpy as np
import pytest

from cptlaw.datasets.synthetic import CPT_FIG3, published_law
from cptlaw.plan import parse_space
from cptlaw.plan.dynamics import critical_point, dynamics, end_losses, pattern, predicted_curve, turning_length


G, D = published_law(CPT_FIG3["general"]), published_law(CPT_FIG3["domain"])


def plan(transfer, family="constant", steps=20000):
    sp = parse_space({"pt": {"schedule": {"kind": "constant", "lr": 2e-4}, "transfer": transfer},
                      "cpt": {"family": family, "peak_lr": 2e-4, "steps": steps},
                      "constraints": {"tokens_per_step": 4e6}})
    return sp, next(sp.candidates())


def brute_turning(curve, at):
    above = curve > at
    if not above.any():
        return 0
    first = int(np.argmax(above))
    back = np.flatnonzero(~above[first:])
    return None if back.size == 0 else first + int(back[0]) + 1


@pytest.mark.parametrize("transfer", [2000, 5000, 20000])
def test_turning_length_equals_a_scan_of_the_constant_lr_curve(transfer):
    """Under a constant CPT LR the end loss of a length-T CPT is the curve at step T: the two must agree."""
    sp, cand = plan(transfer, steps=60000)
    _, curve, at = predicted_curve(G, sp, cand)
    got = turning_length([(G, 1.0)], sp, cand, at, horizon=60000)
    assert got == brute_turning(curve, at)
    assert (got is None) == (transfer == 20000)


def test_turning_length_of_a_cosine_family_is_the_first_length_back():
    sp, cand = plan(5000, "cosine")
    _, _, at = predicted_curve(G, sp, cand)
    t = turning_length([(G, 1.0)], sp, cand, at, horizon=50000)
    assert t is not None and t > 1
    below = np.unique(np.linspace(1, t - 1, 400).round().astype(int))
    v = end_losses([(G, 1.0)], sp, cand, below)
    rose = np.argmax(v > at)
    assert v[rose:].min() > at  # every scanned length after the rise and before t is still above
    assert end_losses([(G, 1.0)], sp, cand, np.array([t]))[0] <= at


def test_critical_point_separates_transfers_that_can_return_from_those_that_cannot():
    for transfer in (2000, 5000, 20000, 40000):
        sp, cand = plan(transfer, steps=150000)
        _, curve, at = predicted_curve(G, sp, cand)
        crit = critical_point(G, sp, cand)
        assert np.isclose(crit, 3.057 + 0.366)  # constant LRs: no annealing area, so L0 + B
        returns = curve[int(np.argmax(curve)):].min() < at
        assert returns == (at > crit)
    # the limit itself: the law's value at a huge S1cpt approaches it
    sp, cand = plan(5000)
    from cptlaw.plan import candidate_design

    d = candidate_design(G, sp, [cand])
    d.features["S1"] = d.features["S1"] + 1e14
    d.features["S1cpt"] = d.features["S1cpt"] + 1e14
    assert abs(G.value(G.theta(), d)[0] - critical_point(G, sp, cand)) < 1e-3


def test_patterns():
    at = 1.0
    assert pattern(np.array([0.9, 0.95, 0.99]), at) == "none"
    assert pattern(np.array([1.1, 1.2, 1.3]), at) == "rises"
    assert pattern(np.array([1.1, 1.3, 1.2]), at) == "rises_then_falls_above"
    assert pattern(np.array([1.1, 1.3, 0.9]), at) == "rises_then_falls_below"
    expected = {2000: "rises_then_falls_below", 20000: "rises_then_falls_above", 40000: "rises"}
    for transfer, want in expected.items():
        sp, cand = plan(transfer)
        assert dynamics(G, D, sp, cand, [])["pattern"] == want


def test_composite_turning_length_grows_with_lambda1():
    """Fig. 13: 0 for a small lambda1 (the domain gain dominates), finite for a moderate one, none (CPT not
    worth it) for lambda1 = 1 after a post-critical transfer."""
    sp, cand = plan(20000)
    weights = [(f"{l1}", l1, 1 - l1) for l1 in (0.2, 0.8, 1.0)]
    tl = dynamics(G, D, sp, cand, weights, horizon=100000)["turning_length"]
    assert tl["0.2"]["steps"] == 0
    assert tl["0.8"]["steps"] > 0 and tl["0.8"]["tokens"] == tl["0.8"]["steps"] * 4e6
    assert tl["1.0"]["steps"] is None and tl["general"]["steps"] is None


def test_dynamics_of_a_step_driven_shift_are_the_laws_own_terms():
    """A ``shift="steps"`` fit's shift term is driven by the CPT step count, not S1cpt: the planner's saturation
    and critical point must be the law's own (before the law owned them, the planner rebuilt the term from
    S1cpt and reported a near-zero saturation and a critical point with the shift unsaturated)."""
    from cptlaw.plan.features import plan_run

    params = {**CPT_FIG3["general"], "E": 2e-3}  # E per CPT step: E * t ~ 1 after 500 steps
    g = published_law(params, shift="steps")
    d = published_law({**CPT_FIG3["domain"], "E": 2e-3}, shift="steps")
    sp, cand = plan(5000, "cosine", steps=2000)
    run = plan_run(sp, cand)
    end = g.design([run], at={"plan": np.array([run.steps.size - 1])})
    t = end.features["tcpt"][0]
    own = 1.0 - (1.0 + params["E"] * t) ** (-params["beta"])
    out = dynamics(g, d, sp, cand, [])
    assert out["shift_saturation_at_end"] == pytest.approx(own, rel=1e-12)
    assert own > 0.2  # (the S1cpt-driven copy gave 8e-5 here)
    f = end.features
    saturated = params["L0"] - params["C1"] * f["S2pt"][0] - params["C2"] * f["S2cpt"][0] + params["B"]
    assert out["critical_point"] == pytest.approx(saturated, rel=1e-12)
