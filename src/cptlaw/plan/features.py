"""The law's inputs at the end of CPT for many candidate plans at once.

The areas S1, S1pt, S1cpt, S2pt and S2cpt are linear in the LR sequence (cumulative sums, and the momentum
recursion of Tissue et al. 2024 Eq. 5 is a linear filter of the LR drops); the warmup convention only
touches the PT prefix, which a group of candidates shares.  Every parametric CPT family here (constant,
cosine or WSD to a floor that is a fraction of the peak, with a linear re-warmup from 0 or from the PT's
final LR) is affine in its peak LR.  So for candidates that differ only in the peak, the areas are exactly

    S(peak) = S(p_a) + (peak - p_a) / (p_b - p_a) * (S(p_b) - S(p_a))

from two exact trajectories built with :mod:`cptlaw.schedules` (``Continual``) and the law's own
:meth:`Law.design`: any number of peaks costs two area computations, with the same conventions (warmup, λ,
momentum across the boundary, step index) as the fit.  A feature that is not affine in the peak (the law's
``NONAFFINE_PEAK_FEATURES``, e.g. the CPT law's square-root clock) is computed exactly once per distinct peak.  :func:`exact_features` is the per-candidate reference
(a plain loop), used by the tests and the benchmark.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import numpy as np

from ..data import Run
from ..errors import SpecError
from ..progress import bar
from ..laws.base import Design, Law
from .space import Candidate, Space

# the knobs that change the areas: one pair of exact area computations per combination of them (the peak LR
# is affine, replay and model size do not enter the areas)
AREA_KNOBS = ("pt", "transfer", "family", "rewarmup_steps", "rewarmup_from", "floor", "decay_fraction",
              "decay_shape", "steps")


def plan_run(space: Space, cand: Candidate, peak: float | None = None) -> Run:
    """The candidate's whole trajectory (PT prefix, then CPT) as a run with its metadata and no losses."""
    sched = cand.schedule(space.pt(cand), peak)
    meta = {}
    if cand.model_size is not None:
        meta["model_size"] = cand.model_size
    if cand.replay is not None:
        meta["replay_ratio"] = cand.replay
    return Run.from_schedule("plan", sched, cand.transfer + cand.steps, **meta)


def exact_features(law: Law, space: Space, cand: Candidate) -> dict[str, float]:
    """The law's features at the last CPT step of one candidate (the reference path)."""
    run = plan_run(space, cand)
    d = law.design([run], at={"plan": np.array([run.steps.size - 1])})
    return {k: float(v[0]) for k, v in d.features.items() if isinstance(v, np.ndarray)}


def candidate_design(law: Law, space: Space, cands: list[Candidate]) -> Design:
    """One design with a point per candidate (its last CPT step), in the order of ``cands``.  The law says how its
    features depend on the CPT peak LR (``AREA_FEATURES``: affine; ``PEAK_FEATURES``: the highest LR applied,
    over the run or its CPT phase; the rest: not at all) and gives the model-size and replay inputs
    (``meta_features``)."""
    n = len(cands)
    sizes = [_need(c.model_size, "cpt.model_size", "of Eq. 7 (model size)") for c in cands] if law.size else None
    replays = [_need(c.replay, "cpt.replay", "of Eq. 8 (replay)") for c in cands] if law.replay else None
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(cands):
        groups[tuple(getattr(c, k) for k in AREA_KNOBS)].append(i)
    feats: dict[str, np.ndarray] = {}
    pt_peak = {(p, t): float(np.max(space.pts[p](np.arange(t)))) for p, t in {(c.pt, c.transfer) for c in cands}}
    for idx in bar(list(groups.values()), desc="plan: candidate areas", unit="group", min_total=200):
        peaks = np.array([cands[i].peak_lr for i in idx])
        lo, hi = float(peaks.min()), float(peaks.max())
        base = cands[idx[0]]
        fa = exact_features(law, space, replace(base, peak_lr=lo))
        fb = exact_features(law, space, replace(base, peak_lr=hi)) if hi > lo else fa
        t = (peaks - lo) / (hi - lo) if hi > lo else np.zeros(peaks.size)
        # the highest LR: the CPT's is its peak (or the re-warmup's start, if higher); the run's adds the PT's
        init = float(space.pt(base)(base.transfer - 1)) if base.rewarmup_from == "pt_final" and base.rewarmup_steps else 0.0
        highest = {"cpt": np.maximum(peaks, init)}
        highest["run"] = np.maximum(highest["cpt"], pt_peak[base.pt, base.transfer])
        for name, value in fa.items():
            if name in law.AREA_FEATURES:
                value = value + t * (fb[name] - value)
            elif name in law.PEAK_FEATURES:
                value = highest[law.PEAK_FEATURES[name]]
            feats.setdefault(name, np.empty(n))[idx] = value
        if law.NONAFFINE_PEAK_FEATURES and hi > lo:  # (e.g. a square-root clock): exactly, once per distinct peak
            at = np.asarray(idx)
            for peak in np.unique(peaks):
                fe = exact_features(law, space, replace(base, peak_lr=float(peak)))
                for name in law.NONAFFINE_PEAK_FEATURES:
                    feats[name][at[peaks == peak]] = fe[name]
    feats.update(law.meta_features(n, sizes, replays))
    steps = np.array([c.transfer + c.steps - 1 for c in cands])
    return Design([f"plan{i}" for i in range(n)], np.arange(n), steps, None, feats)


def _need(value, key: str, what: str) -> float:
    if value is None:
        raise SpecError(f"{key}: the fits are {what}; the plan space must give {key}")
    return float(value)
