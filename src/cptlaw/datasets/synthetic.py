"""Curves simulated from *published* law coefficients, for parameter-recovery tests and benchmarks.

They are not real training data: the loss is the law itself (plus optional Gaussian noise on the log loss).
"""

from __future__ import annotations

import numpy as np

from ..data import Run, RunSet
from ..laws import CPTLaw, from_params
from ..schedules import Continual, Schedule, cpt_family, pt_family

# Wang, Tissue et al. 2025, Fig. 3 (106M, FineWeb -> Knowledge-Pile), laws.md §3.3.
CPT_FIG3 = {
    "general": dict(L0=3.057, A=0.490, alpha=0.497, C1=0.299, C2=0.298, B=0.366, E=28.0, beta=0.189),
    "domain": dict(L0=3.024, A=0.412, alpha=0.677, C1=0.278, C2=0.324, B=-0.666, E=5662.0, beta=0.146),
}

PEAK = 2e-4  # the CPT paper's peak LR


def published_law(params: dict, **law_options):
    """A CPT law with published coefficients (:func:`cptlaw.laws.from_params`: no data, so no fitted ranges and
    nothing flagged as an extrapolation), for the planner's tests and benchmarks.  ``law_options`` are those of
    :class:`cptlaw.laws.CPTLaw` (e.g. ``size=True``)."""
    return from_params("cpt", params, **law_options)


def pt_schedule(kind: str, pt_steps: int, warmup: int = 500, peak: float = PEAK) -> Schedule:
    """A PT schedule of ``pt_steps`` steps (warmup included): constant, or WSD with a 10% linear cooldown."""
    return pt_family(kind, peak=peak, steps=pt_steps, warmup=warmup)


def cpt_schedule(kind: str, steps: int, peak: float = PEAK) -> Schedule:
    """A CPT schedule (its own clock): constant, cosine to 0, or WSD with a 20% cooldown."""
    return cpt_family(kind, peak=peak, steps=steps)


def simulate_cpt_runs(specs: list[tuple[str, str, int, str, int]], params: dict | None = None,
                      target: str = "general", n_eval: int = 500, noise: float = 0.0, seed: int = 0,
                      rewarmup: int = 200, law=None) -> RunSet:
    """Runs simulated from the CPT law.

    Each spec is ``(name, pt_kind, pt_steps, cpt_kind, cpt_steps)``; ``n_eval`` evaluation points are spread
    evenly over each run.  ``law`` defaults to ``CPTLaw()``; ``params`` to :data:`CPT_FIG3` [target].
    """
    law = law or CPTLaw()
    params = params or CPT_FIG3[target]
    rng = np.random.default_rng(seed)
    runs = []
    for name, pt_kind, pt_steps, cpt_kind, cpt_steps in specs:
        sched = Continual(pt_schedule(pt_kind, pt_steps), cpt_schedule(cpt_kind, cpt_steps), pt_steps,
                          rewarmup_steps=rewarmup if pt_kind == "wsd" else 0)
        run = Run.from_schedule(name, sched, pt_steps + cpt_steps)
        idx = np.unique(np.linspace(0, run.steps.size - 1, n_eval).round().astype(np.int64))
        loss = law.predict(run, run.steps[idx], params=params)
        idx, loss = idx[np.isfinite(loss)], loss[np.isfinite(loss)]  # only where the law applies (after warmup)
        if noise:
            loss = loss * np.exp(rng.normal(0.0, noise, loss.size))
        run.losses[f"loss:{target}"] = (idx, loss)
        runs.append(run)
    return RunSet(runs, source="synthetic:cpt-fig3")
