"""What the fitter sees: parameters with their bounds and sign (as lmfit's ``Parameter``), a design (the
points and their precomputed features), a model (anything with ``value`` and an analytic ``jacobian``), and the
problem that ties them into residuals of the log loss.  Nothing here knows a law: :mod:`cptlaw.laws` builds on
these."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import DataError
from .varpro import FLOOR, huber, log_residuals


@dataclass(frozen=True)
class Parameter:
    """One law parameter (as lmfit's Parameter): bounds, the multi-start box, whether it is fitted in
    log space (``log=True``: positive, spans orders of magnitude), and whether the law is linear in it
    (``linear=True``: an amplitude such as L0, A, C or B; the fitter solves those exactly for each value of
    the others, :mod:`cptlaw.fit.varpro`).  A linear parameter's bounds may only be a sign (0 or ±inf).
    ``reference``: a bound at which the law is the published form it extends (the CPT law's PT weight w = 1 is
    Eq. 4): a fit that ends there has found that form, which is reported as such and not as a bound warning."""

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    init: tuple[float, float] = (0.0, 1.0)
    log: bool = False
    doc: str = ""
    linear: bool = False
    reference: float | None = None

    def __post_init__(self):
        if self.linear and (self.log or self.lower not in (0.0, -math.inf) or self.upper not in (0.0, math.inf)):
            raise ValueError(f"linear parameter {self.name!r} must be fitted in raw space with sign bounds only")

    @property
    def sign(self) -> str:
        if self.lower >= 0:
            return "positive"
        if self.upper <= 0:
            return "negative"
        return "free"


@dataclass
class Design:
    """Everything a law needs to evaluate itself on a set of points, computed once per fit."""

    run_names: list[str]
    run_index: np.ndarray  # per point: index into run_names
    steps: np.ndarray  # per point: the run's step number
    y: np.ndarray | None  # observed loss per point (None when only predicting)
    features: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.steps.size)

    def select_runs(self, names) -> "Design":
        """The points of the runs ``names`` (in this design's order; None: all), per-point feature arrays sliced
        alike (other features kept as they are); an unknown name is a :class:`~cptlaw.errors.DataError` that lists
        the runs there are."""
        if names is None:
            return self
        missing = [n for n in names if n not in self.run_names]
        if missing:
            raise DataError(f"no points of run(s) {', '.join(missing)}; runs: {', '.join(self.run_names)}")
        chosen = [n for n in self.run_names if n in set(names)]
        keep = np.isin(self.run_index, [self.run_names.index(n) for n in chosen])
        remap = {self.run_names.index(n): i for i, n in enumerate(chosen)}
        feats = {k: (v[keep] if isinstance(v, np.ndarray) and v.ndim == 1 and v.size == self.n else v)
                 for k, v in self.features.items()}
        return Design(chosen, np.array([remap[int(i)] for i in self.run_index[keep]], np.int64), self.steps[keep],
                      None if self.y is None else self.y[keep], feats)


class Model(Protocol):
    """What the fitter needs of a law (:class:`cptlaw.laws.Law` is one)."""

    name: str
    CPT_INPUTS: tuple[str, ...]  # inputs defined on CPT rows only (their fitted range is over those)

    def parameters(self, y: np.ndarray | None = None, design: Design | None = None) -> list[Parameter]: ...

    def value(self, theta: np.ndarray, design: Design) -> np.ndarray: ...

    def jacobian(self, theta: np.ndarray, design: Design) -> np.ndarray: ...

    def basis(self, theta: np.ndarray, design: Design) -> np.ndarray: ...

    def screening_design(self, design: Design) -> Design: ...

    def merge(self, designs: list[Design]) -> Design: ...

    def inputs(self, design: Design) -> dict[str, np.ndarray]: ...


@dataclass
class Problem:
    """The fit as the optimiser sees it: x (log for log-parameters) -> residuals r = log L̂ - log L.

    ``law`` is any :class:`Model`; the fitter knows no law."""

    law: "Model"
    design: Design
    params: list[Parameter]

    def __post_init__(self):
        self.is_log = np.array([p.log for p in self.params])
        self.log_y = np.log(self.design.y)
        lo = np.array([p.lower for p in self.params], dtype=float)
        hi = np.array([p.upper for p in self.params], dtype=float)
        with np.errstate(divide="ignore"):
            self.lower = np.where(self.is_log, np.log(np.maximum(lo, 0.0)), lo)
            self.upper = np.where(self.is_log, np.log(hi), hi)

    def theta(self, x: np.ndarray) -> np.ndarray:
        return np.where(self.is_log, np.exp(np.where(self.is_log, x, 0.0)), x)

    def x_of(self, theta: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(self.is_log, np.log(np.where(self.is_log, theta, 1.0)), theta)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """L̂ at x; the last value is cached because least_squares asks for jac at the x it just evaluated."""
        key = x.tobytes()
        if getattr(self, "_cache_key", None) != key:
            with np.errstate(all="ignore"):
                self._cache_pred = self.law.value(self.theta(x), self.design)
            self._cache_key = key
        return self._cache_pred

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return log_residuals(self.predict(x), self.log_y)

    def jac(self, x: np.ndarray, pred: np.ndarray | None = None) -> np.ndarray:
        """d log L̂ / dx; ``pred`` (L̂ at x), when the caller has it, saves one evaluation of the law."""
        theta = self.theta(x)
        pred = self.predict(x) if pred is None else pred
        with np.errstate(all="ignore"):
            J = self.law.jacobian(theta, self.design) / np.maximum(pred, FLOOR)[:, None]
            J = J * np.where(self.is_log, theta, 1.0)[None, :]  # chain rule for log-parameters
            J[pred <= FLOOR] = 0.0
        return np.where(np.isfinite(J), J, 0.0)

    def objective(self, x: np.ndarray, delta: float) -> float:
        return float(np.sum(huber(self.residuals(x), delta)))
