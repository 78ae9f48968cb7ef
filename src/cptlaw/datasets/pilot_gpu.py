"""The grid that ``pilot-gpu-german`` (and ``pilot-gpu-german-mix``) were trained on, as a cptlaw plan space.

From ``pilot-gpu-german/PROVENANCE.md``: PT runs ``const`` (100-step linear warmup, then the size's peak P)
and ``wsd`` (the same, then a linear decay over the last 240 of 1200 steps to 0.1 P); CPT for 1000 steps from
the transfer at 300, 600 or 1200, with ``constant``, ``cosine`` (to 0.1 P) or ``wsd`` (decay over the last
200 steps) schedules, optionally re-warmed from zero over 100 steps, to peaks 0.5 P, P or 1.5 P, at replay
ratios 0, 0.1, 0.25 and 0.5.  Every run of the grid is one candidate of this space (the regret check matches
them by their dense LR), so the planner can rank the very runs that were trained.
"""

from __future__ import annotations

from ..plan import Space, parse_space

PEAK = {"s": 2e-3, "m": 2e-3, "l": 1.5e-3}  # the PT (and CPT) peak LR P of each model size
SIZES = {"s": 1_607_808, "m": 6_426_880, "l": 21_243_264}  # non-embedding parameters


def grid_space(size: str, replay=(0.0, 0.1, 0.25, 0.5), lambda1=(0.2, 0.5, 0.8), guard: bool = False,
               pilot: dict | None = None, allow_peak: bool = False) -> Space:
    """The grid of ``size`` as a plan space.  ``guard``: the constraint ``no_extrapolation: [replay]``;
    ``allow_peak``: lift the planner's default guard on the CPT peak LR (``allow_extrapolation: [peak_lr]``)."""
    p = PEAK[size]
    doc = {
        "constraints": {"no_extrapolation": ["replay"] if guard else [], "tokens_per_step": 10240,
                        "allow_extrapolation": ["peak_lr"] if allow_peak else []},
        "objective": {"lambda1": list(lambda1)},
        "pt": {"schedules": {
            "const": {"kind": "warmup", "steps": 100, "schedule": {"kind": "constant", "lr": p}},
            "wsd": {"kind": "warmup", "steps": 100,
                    "schedule": {"kind": "wsd", "peak": p, "steps": 1100, "decay_steps": 240, "floor": 0.1 * p}}},
            "transfer": [300, 600, 1200]},
        "cpt": {"family": ["constant", "cosine", "wsd"], "peak_lr": [0.5 * p, p, 1.5 * p], "rewarmup_steps": [0, 100],
                "floor": 0.1, "decay_fraction": 0.2, "steps": 1000, "replay": list(replay)}}
    if pilot:
        doc["pilot"] = pilot
    return parse_space(doc, f"pilot-gpu-german {size}")
