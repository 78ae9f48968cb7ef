"""Learning-rate schedules as pure, vectorised functions ``step -> lr``.

Conventions (as in optax):

* ``step`` is an integer (or array of integers) counting optimizer updates from **0**; the value is the LR
  *applied* at that update.  A schedule has its own local clock starting at 0; compositions (``Warmup``,
  ``Join``, ``Continual``) shift the clock of their parts.
* LRs are raw values (e.g. ``3e-4``), never normalised: the laws' coefficients depend on the units.
* Every schedule is an immutable dataclass, callable on a scalar or an array, and serialisable with
  :func:`cptlaw.schedules.to_spec` / :func:`cptlaw.schedules.from_spec`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import SpecError

DECAY_SHAPES = ("linear", "cosine", "1-sqrt", "1-square", "exp")


def _steps(step) -> np.ndarray:
    return np.asarray(step, dtype=np.float64)


def _decay(u: np.ndarray, start: float, end: float, shape: str) -> np.ndarray:
    """Decay from ``start`` (u=0) to ``end`` (u=1) with the named shape; u is clipped to [0, 1]."""
    u = np.clip(u, 0.0, 1.0)
    if shape == "linear":
        return start + (end - start) * u
    if shape == "cosine":
        return end + (start - end) * 0.5 * (1.0 + np.cos(math.pi * u))
    if shape == "1-sqrt":  # Haegele et al. 2024; Tissue et al. App. D Eq. 11
        return end + (start - end) * (1.0 - np.sqrt(u))
    if shape == "1-square":  # Tissue et al. App. D Eq. 12
        return end + (start - end) * (1.0 - u * u)
    if shape == "exp":  # geometric interpolation, as the MPL "wsd" runs: start^(1-u) * end^u
        if start <= 0 or end <= 0:
            raise SpecError("the 'exp' decay shape needs a positive start and floor LR")
        return start * np.power(end / start, u)
    raise SpecError(f"unknown decay shape {shape!r}; choose one of {', '.join(DECAY_SHAPES)}")


class Schedule:
    """Base class: a pure function ``step -> lr`` (vectorised, float64)."""

    kind: ClassVar[str] = ""

    def __call__(self, step) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def dense(self, n_steps: int, start: int = 0) -> np.ndarray:
        """The LR at every step ``start, start+1, ..., start+n_steps-1``."""
        return np.asarray(self(np.arange(start, start + n_steps)), dtype=np.float64)

    @property
    def transfer_step(self) -> int | None:
        """The first CPT step if this schedule is a PT->CPT concatenation, else None."""
        return None

    @property
    def length(self) -> int | None:
        """The step at which the schedule reaches its last value (a decay's ``steps``; an array's end), or None
        for one that never ends (constant, multi-step, cyclic).  A decay holds its last value past it, but a
        ``continual`` transfer past it is refused as a likely typo (write the hold out: a ``join`` with a
        ``constant``); an array has no value past it."""
        return None


@dataclass(frozen=True)
class Constant(Schedule):
    """lr(s) = lr."""

    lr: float
    kind: ClassVar[str] = "constant"

    def __call__(self, step):
        return np.full(np.shape(step), float(self.lr))


@dataclass(frozen=True)
class Linear(Schedule):
    """lr(s) = start + (end - start) * min(s / steps, 1)."""

    start: float
    end: float
    steps: int
    kind: ClassVar[str] = "linear"

    @property
    def length(self) -> int:
        return int(self.steps)

    def __call__(self, step):
        return _decay(_steps(step) / max(self.steps, 1), self.start, self.end, "linear")


@dataclass(frozen=True)
class Cosine(Schedule):
    """lr(s) = floor + (peak - floor) * (1 + cos(pi * min(s / steps, 1))) / 2: one half-cosine to a floor."""

    peak: float
    steps: int
    floor: float = 0.0
    kind: ClassVar[str] = "cosine"

    @property
    def length(self) -> int:
        return int(self.steps)

    def __call__(self, step):
        return _decay(_steps(step) / max(self.steps, 1), self.peak, self.floor, "cosine")


@dataclass(frozen=True)
class WSD(Schedule):
    """Warmup-free warmup-stable-decay: ``peak`` until ``steps - decay_steps``, then a cooldown of the given
    shape (linear, cosine, 1-sqrt, 1-square, exp) to ``floor`` at step ``steps``, and ``floor`` afterwards."""

    peak: float
    steps: int
    decay_steps: int
    floor: float = 0.0
    shape: str = "linear"
    kind: ClassVar[str] = "wsd"

    @property
    def length(self) -> int:
        return int(self.steps)

    def __post_init__(self):
        if self.shape not in DECAY_SHAPES:
            raise SpecError(f"unknown decay shape {self.shape!r}; choose one of {', '.join(DECAY_SHAPES)}")
        if not 0 <= self.decay_steps <= self.steps:
            raise SpecError(f"wsd: decay_steps={self.decay_steps} must lie in [0, steps={self.steps}]")

    def __call__(self, step):
        s = _steps(step)
        begin = self.steps - self.decay_steps
        u = (s - begin) / max(self.decay_steps, 1)
        return np.where(s < begin, float(self.peak), _decay(u, self.peak, self.floor, self.shape))


@dataclass(frozen=True)
class MultiStep(Schedule):
    """Piecewise-constant: lr = peak * factors[j] from step milestones[j] on (peak before the first).

    The 80/10/10 multi-step schedule of Tissue et al. Fig. 3 is ``MultiStep(peak, [0.8T, 0.9T], [f1, f2])``.
    """

    peak: float
    milestones: tuple[int, ...]
    factors: tuple[float, ...]
    kind: ClassVar[str] = "multistep"

    def __post_init__(self):
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        object.__setattr__(self, "factors", tuple(float(f) for f in self.factors))
        if len(self.milestones) != len(self.factors):
            raise SpecError("multistep: milestones and factors must have the same length")
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:])):
            raise SpecError("multistep: milestones must be strictly increasing")

    def __call__(self, step):
        s = _steps(step)
        scale = np.concatenate([[1.0], self.factors])
        return self.peak * scale[np.searchsorted(np.asarray(self.milestones, float), s, side="right")]


@dataclass(frozen=True)
class Cyclic(Schedule):
    """Repeated cycles of length ``period`` between ``peak`` and ``floor``.

    ``shape="cosine"``: a half-cosine decay per cycle with an instant restart (SGDR);
    ``shape="triangle"``: linear down then linear back up (re-warmup) within each cycle.
    """

    peak: float
    period: int
    floor: float = 0.0
    shape: str = "cosine"
    kind: ClassVar[str] = "cyclic"

    def __post_init__(self):
        if self.shape not in ("cosine", "triangle"):
            raise SpecError("cyclic: shape must be 'cosine' or 'triangle'")
        if self.period < 1:
            raise SpecError("cyclic: period must be >= 1")

    def __call__(self, step):
        phase = np.mod(_steps(step), self.period) / self.period
        if self.shape == "cosine":
            return _decay(phase, self.peak, self.floor, "cosine")
        tri = 1.0 - np.abs(2.0 * phase - 1.0)  # 0 -> 1 -> 0 over one cycle
        return self.peak + (self.floor - self.peak) * tri


@dataclass(frozen=True)
class Warmup(Schedule):
    """Linear warmup from ``init`` over ``steps`` steps, then ``schedule`` on its own clock (s - steps).

    With ``endpoint=False`` (optax) warmup step s has lr init + (peak - init) * s / steps, so the peak is
    first reached at step ``steps``; with ``endpoint=True`` it is ``linspace(init, peak, steps)`` (the
    Multi-Power-Law code), reaching the peak at step ``steps - 1``.  ``peak = schedule(0)``.
    """

    schedule: Schedule
    steps: int
    init: float = 0.0
    endpoint: bool = False
    kind: ClassVar[str] = "warmup"

    @property
    def length(self) -> int | None:
        return None if self.schedule.length is None else int(self.steps) + self.schedule.length

    def __call__(self, step):
        s = _steps(step)
        peak = float(self.schedule(0))
        denom = max(self.steps - 1, 1) if self.endpoint else max(self.steps, 1)
        ramp = self.init + (peak - self.init) * (s / denom)
        after = self.schedule(np.maximum(s - self.steps, 0))
        return np.where(s < self.steps, ramp, after)


@dataclass(frozen=True)
class Join(Schedule):
    """Piecewise composition (optax ``join_schedules``): for boundaries[j-1] <= s < boundaries[j],
    lr = schedules[j](s - boundaries[j-1]) (the first piece runs on the global clock)."""

    schedules: tuple[Schedule, ...]
    boundaries: tuple[int, ...]
    kind: ClassVar[str] = "join"

    @property
    def length(self) -> int | None:
        last = self.schedules[-1].length
        return None if last is None else self.boundaries[-1] + last

    def __post_init__(self):
        object.__setattr__(self, "schedules", tuple(self.schedules))
        object.__setattr__(self, "boundaries", tuple(int(b) for b in self.boundaries))
        if len(self.boundaries) != len(self.schedules) - 1:
            raise SpecError("join: need exactly one boundary fewer than schedules")
        if any(b <= a for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise SpecError("join: boundaries must be strictly increasing")

    def __call__(self, step):
        s = _steps(step)
        starts = np.concatenate([[0.0], self.boundaries])
        piece = np.searchsorted(np.asarray(self.boundaries, float), s, side="right")
        out = np.empty(np.shape(s))
        for j, sched in enumerate(self.schedules):
            mask = piece == j
            if np.any(mask):
                out[mask] = sched(s[mask] - (starts[j] if j else 0.0))
        return out


@dataclass(frozen=True)
class FromArray(Schedule):
    """A schedule given as explicit per-step values: lr(start + i) = values[i]. Steps outside raise."""

    values: tuple[float, ...] = field(repr=False)
    start: int = 0
    kind: ClassVar[str] = "array"

    @property
    def length(self) -> int:
        return self.start + len(self.values)

    def __post_init__(self):
        arr = np.asarray(self.values, dtype=np.float64).ravel()
        if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise SpecError("array schedule: values must be a non-empty list of finite, non-negative LRs")
        object.__setattr__(self, "values", tuple(arr.tolist()))
        object.__setattr__(self, "_arr", arr)

    def __call__(self, step):
        idx = np.asarray(step, dtype=np.int64) - self.start
        if np.any(idx < 0) or np.any(idx >= self._arr.size):
            raise SpecError(
                f"array schedule covers steps {self.start}..{self.start + self._arr.size - 1}; "
                f"asked for steps outside that range"
            )
        return self._arr[idx]


@dataclass(frozen=True)
class Continual(Schedule):
    """PT schedule, then a CPT schedule from ``transfer_step`` on (the CPT clock restarts at 0 there).

    The CPT phase may start with a linear re-warmup of ``rewarmup_steps`` steps to ``cpt(0)``, from 0
    (``rewarmup_from="zero"``) or from the PT's final LR ``pt(transfer_step - 1)`` (``"pt_final"``).
    """

    pt: Schedule
    cpt: Schedule
    transfer: int
    rewarmup_steps: int = 0
    rewarmup_from: str = "zero"
    kind: ClassVar[str] = "continual"

    def __post_init__(self):
        if self.rewarmup_from not in ("zero", "pt_final"):
            raise SpecError("continual: rewarmup_from must be 'zero' or 'pt_final'")
        if self.transfer < 1:
            raise SpecError("continual: transfer must be >= 1 (at least one PT step)")
        problem = transfer_after_end(self.pt, self.transfer)
        if problem:
            raise SpecError(f"continual: {problem}")

    @property
    def length(self) -> int | None:
        cpt = self.cpt.length
        return None if cpt is None else self.transfer + self.rewarmup_steps + cpt

    @property
    def transfer_step(self) -> int:
        return int(self.transfer)

    def __call__(self, step):
        cpt = self.cpt
        if self.rewarmup_steps > 0:
            init = 0.0 if self.rewarmup_from == "zero" else float(self.pt(self.transfer - 1))
            cpt = Warmup(cpt, self.rewarmup_steps, init=init)
        return Join((self.pt, cpt), (self.transfer,))(step)


def transfer_after_end(pt: Schedule, transfer: int) -> str | None:
    """Why a transfer at step ``transfer`` cannot follow the PT schedule ``pt`` (it lies after the schedule's
    end, :attr:`Schedule.length`: a likely typo), or None."""
    end = pt.length
    if end is not None and transfer > end:
        return (f"transfer {transfer} lies after the end of the PT schedule (it ends at step {end}); lengthen the "
                "PT schedule or move the transfer")
    return None


def wsd_with_warmup(peak: float, steps: int, warmup: int, decay_steps: int, floor: float = 0.0,
                    shape: str = "linear") -> Schedule:
    """Convenience: linear warmup then WSD, with ``steps`` counting the warmup (as nanoGPT and optax do)."""
    return Warmup(WSD(peak, steps - warmup, decay_steps, floor, shape), warmup)


def cosine_with_warmup(peak: float, steps: int, warmup: int, floor: float = 0.0) -> Schedule:
    """Convenience: linear warmup then a cosine to ``floor`` at ``steps`` (warmup counted in ``steps``)."""
    return Warmup(Cosine(peak, steps - warmup, floor), warmup)
