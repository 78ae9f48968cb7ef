"""The parametric PT and CPT schedule families, defined once: the planner searches them (:mod:`cptlaw.plan.space`),
the experiment designer proposes them (:mod:`cptlaw.suggest`) and the simulated curves use them
(:mod:`cptlaw.datasets.synthetic`).  Each is a composition of :mod:`cptlaw.schedules.shapes` (optax-style)."""

from __future__ import annotations

from ..errors import SpecError
from .shapes import WSD, Constant, Cosine, Schedule, Warmup

CPT_FAMILIES = ("constant", "cosine", "wsd")
PT_FAMILIES = ("constant", "wsd")


def cpt_family(family: str, *, peak: float, steps: int, floor: float = 0.0, decay_steps: int | None = None,
               decay_shape: str = "linear") -> Schedule:
    """A CPT schedule on its own clock (a re-warmup, if any, is composed around it):

    * ``constant``: ``peak`` throughout;
    * ``cosine``: from ``peak`` to ``floor * peak`` over ``steps``;
    * ``wsd``: ``peak``, then a ``decay_shape`` decay over the last ``decay_steps`` of ``steps`` (default a
      fifth) to ``floor * peak``.
    """
    if family == "constant":
        return Constant(peak)
    if family == "cosine":
        return Cosine(peak, steps, floor * peak)
    if family == "wsd":
        decay = steps // 5 if decay_steps is None else decay_steps
        return WSD(peak, steps, decay, floor * peak, decay_shape)
    raise SpecError(f"unknown CPT family {family!r}; choose one of {', '.join(CPT_FAMILIES)}")


def pt_family(family: str, *, peak: float, steps: int, warmup: int, cooldown_steps: int | None = None) -> Schedule:
    """A PT schedule of ``steps`` steps, warmup included: ``constant`` at ``peak``, or ``wsd`` with a linear
    cooldown to 0 over its last ``cooldown_steps`` (default a tenth of the steps after the warmup)."""
    if family == "constant":
        return Warmup(Constant(peak), warmup)
    if family == "wsd":
        body = steps - warmup
        return Warmup(WSD(peak, body, body // 10 if cooldown_steps is None else cooldown_steps, floor=0.0), warmup)
    raise SpecError(f"unknown PT family {family!r}; choose one of {', '.join(PT_FAMILIES)}")
