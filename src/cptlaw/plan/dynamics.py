"""The dynamics of one CPT plan, stated: Wang, Tissue et al. 2025 §4.4 (Fig. 7c, Finding 4) and §5 (Fig. 13);
laws.md §3.4.

* **Pattern** of the general (D_pt) loss along the plan's predicted CPT curve, against its value at the
  transfer ``L_tr`` (the last PT step): (1) it rises throughout; (2) it rises, then falls but stays above
  ``L_tr``; (3) it rises, then falls below ``L_tr``.  A fourth answer, "no rise", covers a curve that never
  exceeds ``L_tr`` (e.g. an in-distribution CPT).
* **Critical point**: the value the loss converges to on the CPT branch, the law's own
  (:meth:`cptlaw.laws.CPTLaw.critical_point`: the forward-area term gone, the shift saturated at 1, the annealing
  terms held at their values at the plan's end; the paper's "hidden curve" drops them; with ``S2 = 0`` this is
  exactly ``L0 + B``).  The paper defines the point in words only, so this reading is ours.  A transfer whose ``L_tr`` lies above it is *pre-critical*: enough CPT can end below
  ``L_tr``; a post-critical one never does.
* **Turning length**: the fewest CPT steps for which the end-of-CPT loss of the *same family* (every knob
  kept, the length changed) comes back to ``L_tr`` after having risen above it; 0 when it never rises, None
  when it does not come back within the horizon.  For a weighted composite ``w1*L_general + w2*L_domain``
  (Eq. 5 / Eq. 6) the same, against the composite's value at the transfer (Fig. 13).  Found on a geometric
  grid of lengths, then by bisection between the grid points that bracket the return (one crossing there is
  assumed); :func:`predicted_curve` gives the brute-force scan for a constant LR, where both agree exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .features import candidate_design, plan_run
from .space import Candidate, Space

PATTERNS = {
    "none": "does not rise above its value at the transfer",
    "rises": "rises throughout the CPT (pattern 1)",
    "rises_then_falls_above": "rises, then falls, but stays above its value at the transfer (pattern 2)",
    "rises_then_falls_below": "rises, then falls below its value at the transfer (pattern 3)",
}


def predicted_curve(law, space: Space, cand: Candidate) -> tuple[np.ndarray, np.ndarray, float]:
    """The loss after each CPT step (k = 1..steps) and the loss at the transfer (after the last PT step)."""
    n = cand.transfer + cand.steps
    run = plan_run(space, cand)
    d = law.design([run], at={"plan": np.arange(cand.transfer - 1, n)})
    with np.errstate(all="ignore"):
        v = law.value(law.theta(), d)
    return np.arange(1, cand.steps + 1), v[1:], float(v[0])


def pattern(curve: np.ndarray, at_transfer: float, rtol: float = 1e-9) -> str:
    """Which of the paper's patterns a predicted CPT curve follows (a key of :data:`PATTERNS`)."""
    tol = rtol * abs(at_transfer)
    k = int(np.argmax(curve))
    if curve[k] <= at_transfer + tol:
        return "none"
    if curve[-1] >= curve[k] - tol:
        return "rises"
    return "rises_then_falls_below" if curve[k:].min() < at_transfer - tol else "rises_then_falls_above"


def critical_point(law, space: Space, cand: Candidate) -> float:
    """The law's critical point (:meth:`CPTLaw.critical_point`) with the plan's end-of-CPT annealing areas."""
    return float(law.critical_point(candidate_design(law, space, [cand]))[0])


def shift_saturation(law, space: Space, cand: Candidate) -> float:
    """How far the law's distribution-shift term (:meth:`CPTLaw.shift_progress`) has come at the plan's end (0..1).
    Far below 1, the critical point lies far beyond the plan and the data (e.g. a fit with beta near 0)."""
    return float(law.shift_progress(candidate_design(law, space, [cand]))[0])


def end_losses(terms, space: Space, cand: Candidate, lengths: np.ndarray) -> np.ndarray:
    """The weighted end-of-CPT loss ``sum w * L`` of the candidate's family at each CPT length."""
    cands = [replace(cand, steps=int(t)) for t in lengths]
    out = np.zeros(len(cands))
    for law, w in terms:
        if w:
            with np.errstate(all="ignore"):
                out += w * law.value(law.theta(), candidate_design(law, space, cands))
    return out


def turning_length(terms, space: Space, cand: Candidate, at_transfer: float, horizon: int | None = None,
                   grid: int = 160) -> int | None:
    """Fewest CPT steps after which the weighted loss ``terms`` = [(law, weight), ...] is back at or below
    ``at_transfer``, having risen above it; 0 if it never rises within ``horizon`` (default 10x the plan's
    steps), None if it does not come back within it."""
    horizon = int(horizon or 10 * cand.steps)
    lo = cand.rewarmup_steps + 1
    lengths = np.unique(np.geomspace(lo, max(horizon, lo), grid).round().astype(np.int64))
    v = end_losses(terms, space, cand, lengths)
    above = v > at_transfer
    if not above.any():
        return 0
    first = int(np.argmax(above))
    back = np.flatnonzero(~above[first:])
    if back.size == 0:
        return None
    j = first + int(back[0])
    a, b = int(lengths[j - 1]), int(lengths[j])  # above at a, back at b: bisect for the first length back
    while b - a > 1:
        m = (a + b) // 2
        if end_losses(terms, space, cand, np.array([m]))[0] > at_transfer:
            a = m
        else:
            b = m
    return b


def dynamics(general, domain, space: Space, cand: Candidate, weights, horizon: int | None = None) -> dict:
    """Everything §4.4 states about one plan: the general loss's pattern and critical point, and the turning
    lengths (steps, and tokens when ``tokens_per_step`` is known) of the general loss and of each weighted
    composite in ``weights`` = [(label, w_general, w_domain), ...].  ``general``/``domain`` are fitted laws."""
    _, curve, g_tr = predicted_curve(general, space, cand)
    _, dcurve, d_tr = predicted_curve(domain, space, cand)
    end = candidate_design(general, space, [cand])  # the plan's last CPT step, computed once
    crit = float(general.critical_point(end)[0])
    tps = space.constraints.tokens_per_step
    peak = int(np.argmax(curve))

    def length(terms, at):
        t = turning_length(terms, space, cand, at, horizon)
        return {"steps": t, "tokens": None if t is None or not tps else t * tps}

    key = pattern(curve, g_tr)
    out = {"pattern": key, "pattern_text": f"the general loss {PATTERNS[key]}",
           "general_at_transfer": g_tr, "general_final": float(curve[-1]),
           "general_max": float(curve[peak]), "general_max_step": peak + 1,
           "domain_at_transfer": d_tr, "domain_final": float(dcurve[-1]),
           "critical_point": crit, "pre_critical": bool(g_tr > crit),
           "shift_saturation_at_end": float(general.shift_progress(end)[0]),
           "horizon": int(horizon or 10 * cand.steps),
           "turning_length": {"general": length([(general, 1.0)], g_tr)}}
    for label, wg, wd in weights:
        out["turning_length"][label] = length([(general, wg), (domain, wd)], wg * g_tr + wd * d_tr)
    return out

