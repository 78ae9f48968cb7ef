"""Shared machinery of the laws: parameters with bounds, designs (precomputed features), the estimator API.

A law is a small class whose :meth:`Law.value` reads like the paper's equation and whose
:meth:`Law.jacobian` gives dL/dθ analytically.  It follows the scikit-learn contract: ``__init__`` only
stores options, :meth:`Law.fit` returns ``self`` and sets ``params_`` and ``result_``, :meth:`Law.predict`
never refits.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from ..data import Run, RunSet, target_column
from ..errors import CptlawError, DataError
from ..schedules import AreaOptions, Areas, compute_areas


@dataclass(frozen=True)
class Parameter:
    """One law parameter (as lmfit's Parameter): bounds, the multi-start box, whether it is fitted in
    log space (``log=True``: positive, spans orders of magnitude), and whether the law is linear in it
    (``linear=True``: an amplitude such as L0, A, C or B; the fitter solves those exactly for each value of
    the others, :mod:`cptlaw.fit.varpro`).  A linear parameter's bounds may only be a sign (0 or ±inf)."""

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    init: tuple[float, float] = (0.0, 1.0)
    log: bool = False
    doc: str = ""
    linear: bool = False

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


def _as_runs(runs: RunSet | Run | Iterable[Run]) -> list[Run]:
    if isinstance(runs, Run):
        return [runs]
    return list(runs)


class Law(ABC):
    """Base class. Subclasses define ``name``, :meth:`parameters`, :meth:`_features`, :meth:`value`,
    :meth:`jacobian`, and :meth:`options`."""

    name: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    # features the law extrapolates in: their fitted range is saved, and predictions outside it are flagged
    INPUTS: ClassVar[tuple[str, ...]] = ()

    # ---- the law itself -------------------------------------------------------------------------------
    @abstractmethod
    def parameters(self, y: np.ndarray | None = None, design: "Design | None" = None) -> list[Parameter]:
        """The parameters, with bounds and a multi-start box (which may scale with the observed losses y and,
        for rates such as the CPT law's E, with the range of the design's features)."""

    @abstractmethod
    def value(self, theta: np.ndarray, design: Design) -> np.ndarray:
        """Predicted loss at every point of the design."""

    @abstractmethod
    def jacobian(self, theta: np.ndarray, design: Design) -> np.ndarray:
        """dL/dθ at every point, shape (n, p)."""

    def inputs(self, design: Design) -> dict[str, np.ndarray]:
        """The extrapolation inputs (``INPUTS``) present in a design, per point."""
        return {k: np.asarray(design.features[k], float) for k in self.INPUTS if k in design.features}

    def basis(self, theta: np.ndarray, design: Design) -> np.ndarray:
        """The columns Phi with value = Phi @ theta[linear], shape (n, number of linear parameters): the
        Jacobian columns of the linear parameters, which do not depend on their values (laws may override
        this with something cheaper)."""
        linear = [j for j, p in enumerate(self.parameters()) if p.linear]
        return self.jacobian(theta, design)[:, linear]

    @abstractmethod
    def options(self) -> dict:
        """The conventions that change numbers, stored with every fit."""

    EQUATION: ClassVar[str] = ""  # the law with its parameters as {name} fields (reports)

    def equation(self, params: dict | None = None) -> str:
        """The law's equation, with the fitted (or given) numbers in place of its parameters."""
        params = params if params is not None else self._fitted()
        return signs(self.EQUATION.format(**{k: f"{v:.4g}" for k, v in params.items()})) if self.EQUATION else ""

    def _target_of(self, run: Run, target: str) -> str:
        """The loss column of ``run`` that ``target`` means (itself; a cross-domain law reads each run's own
        domain loss)."""
        return target

    def _prepare(self, run: Run) -> Any:
        """Per-run precomputation shared by :meth:`_valid` and :meth:`_features` (none by default)."""
        return None

    def _valid(self, run: Run, index: np.ndarray, prep: Any) -> np.ndarray:
        """Which of the points the law applies to (all by default)."""
        return np.ones(index.size, dtype=bool)

    @abstractmethod
    def _features(self, run: Run, index: np.ndarray, prep: Any) -> dict[str, Any]:
        """Features of one run at the given indices into ``run.steps``."""

    # ---- designs ----------------------------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.parameters()]

    def design(self, runs, target: str | None = None, at: dict[str, np.ndarray] | None = None) -> Design:
        """Features at the observed points of ``target`` (fitting) or at explicit indices ``at[run]``."""
        runs = _as_runs(runs)
        names, ridx, steps, ys, feats = [], [], [], [], []
        for run in runs:
            if at is not None:
                index = np.asarray(at[run.name], dtype=np.int64)
                y = None
            else:
                index, y = run.observed(self._target_of(run, target))
            if index.size == 0:
                continue
            prep = self._prepare(run)  # per-run work (e.g. the areas), done once for _valid and _features
            keep = self._valid(run, index, prep)  # a law may apply to only some points
            if not np.all(keep):
                index, y = index[keep], (None if y is None else y[keep])
                if index.size == 0:
                    continue
            f = self._features(run, index, prep)
            names.append(run.name)
            ridx.append(np.full(index.size, len(names) - 1))
            steps.append(run.steps[index])
            ys.append(y)
            feats.append(f)
        if not names:
            if at is not None:
                raise DataError("no points to predict in the selected runs (none lies in the law's domain)")
            have = sorted({c for run in runs for c in run.targets})
            raise DataError(f"no observations of {target_column(target)!r} in the selected runs (in the law's "
                            f"domain); loss columns present: {', '.join(have) or '(none)'}")
        y = None if at is not None else np.concatenate(ys)
        return Design(names, np.concatenate(ridx), np.concatenate(steps), y, self._merge(feats))

    def screening_design(self, design: Design) -> Design:
        """A cheaper approximation of ``design`` for ranking the multi-start's screened points only (local
        solves and everything reported use ``design`` itself); by default the design."""
        return design

    def merge(self, designs: list[Design]) -> Design:
        """One design from several (e.g. per-run designs drawn by a bootstrap, a run possibly twice)."""
        offsets = np.cumsum([0] + [len(d.run_names) for d in designs[:-1]])
        seen: dict[str, int] = {}
        names = []
        for d in designs:
            for n in d.run_names:  # a run drawn twice gets a distinct name: <run>#2
                seen[n] = seen.get(n, 0) + 1
                names.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
        y = None if any(d.y is None for d in designs) else np.concatenate([d.y for d in designs])
        return Design(names, np.concatenate([d.run_index + o for d, o in zip(designs, offsets)]),
                      np.concatenate([d.steps for d in designs]), y, self._merge([d.features for d in designs]))

    def _merge(self, feats: list[dict]) -> dict:
        """Concatenate per-run feature arrays (laws with per-run structures override this)."""
        return {k: np.concatenate([f[k] for f in feats]) for k in feats[0]}

    # ---- estimator API ------------------------------------------------------------------------------------
    def fit(self, runs, target: str, **fit_options) -> "Law":
        """Fit jointly on every observation of ``target`` in ``runs``; sets ``params_`` and ``result_``."""
        from ..fit import fit_law  # local import: fit depends on laws

        self.result_ = fit_law(self, runs, target, **fit_options)
        self.params_ = dict(self.result_.params)
        return self

    def theta(self, params: dict[str, float] | None = None) -> np.ndarray:
        params = params if params is not None else self._fitted()
        try:
            return np.array([float(params[n]) for n in self.param_names])
        except KeyError as exc:
            raise CptlawError(f"{self.name}: missing parameter {exc.args[0]!r}") from None

    def _fitted(self) -> dict:
        if not hasattr(self, "params_"):
            raise CptlawError(f"this {type(self).__name__} is not fitted yet: call fit() or set params_")
        return self.params_

    def predict(self, run: Run, steps: Sequence[int] | None = None, params: dict | None = None) -> np.ndarray:
        """Predicted loss of ``run`` at ``steps`` (default: every step); NaN where the law does not apply
        (outside its domain: before any LR, inside an ``as_peak`` warmup; D-CPT: PT rows).  Never refits.
        Raises :class:`DataError` where the law gives a non-finite or non-positive loss."""
        from ..predict import check_values  # local import: predict depends on laws

        out, design, values = self.curve(run, steps, params)
        check_values(values, [f"run {run.name!r} step {s}" for s in design.steps.tolist()], [""] * design.n)
        return out

    def curve(self, run: Run, steps: Sequence[int] | None = None, params: dict | None = None):
        """The law's values at ``steps`` of ``run`` (default: every step), NaN outside its domain, unchecked:
        (values at the steps, the design of the points in the domain, the values there).  A run with no point in
        the domain raises :class:`DataError`."""
        index = np.arange(run.steps.size) if steps is None else run.index_of(steps)
        design = self.design([run], at={run.name: index})
        with np.errstate(all="ignore"):
            values = self.value(self.theta(params), design)
        if design.n == index.size:
            return values, design, values
        out = np.full(index.size, np.nan)  # the law covers only some steps (D-CPT: CPT steps)
        out[np.searchsorted(run.steps[index], design.steps)] = values
        return out, design, values

    def evaluate_design(self, design: Design, params: dict | None = None) -> np.ndarray:
        return self.value(self.theta(params), design)


# λ candidates of ``lam="fit"``: the grid of the Multi-Power-Law paper's baseline protocol for the annealing
# law (Luo et al. 2025, App. D.2: "λ ∈ {0.95, 0.99, 0.995, 0.999, 0.9995}", chosen by the training objective).
LAM_GRID = (0.95, 0.99, 0.995, 0.999, 0.9995)


class AreaLaw(Law):
    """A law on the areas S1/S2 (and their PT/CPT split) of each run's dense LR.

    ``lam``: the S2 momentum decay λ, or ``"fit"`` to choose it from :data:`LAM_GRID` by the training objective
    (:func:`cptlaw.fit.robust.fit_law` fits the law once per λ; the chosen λ becomes the law's, and the saved
    fit's, ``lam``, and every candidate's objective is kept in ``result_.diagnostics["lam_selection"]``)."""

    def __init__(self, lam: float | str = 0.999, warmup: str = "as_peak", warmup_steps: int | None = None,
                 momentum: str = "carry", lr_index: str = "inclusive"):
        if isinstance(lam, str) and lam != "fit":
            raise CptlawError(f"lam: a number in [0, 1) or 'fit', got {lam!r}")
        self.lam = lam
        self.warmup = warmup
        self.warmup_steps = warmup_steps
        self.momentum = momentum
        self.lr_index = lr_index

    @property
    def area_options(self) -> AreaOptions:
        if self.lam == "fit":
            raise CptlawError(f"{self.name}: lam='fit' is chosen when the law is fitted; fit it first")
        return AreaOptions(self.lam, self.warmup, self.warmup_steps, self.momentum, self.lr_index)

    def areas(self, run: Run) -> Areas:
        return compute_areas(run.lr, self.area_options, run.transfer)

    def _prepare(self, run: Run) -> Areas:
        return self.areas(run)

    def _valid(self, run: Run, index: np.ndarray, prep: Areas) -> np.ndarray:
        """The laws need S1 > 0 (a point before any LR was applied, e.g. step 0 of a warmup from 0 under the
        literal convention, is outside their domain), and under the ``as_peak`` convention a point after the
        warmup (inside it the areas count LR that was never applied): other points are skipped."""
        return (prep.s1[index] > 0) & (index >= prep.warmup_end)

    def options(self) -> dict:
        return {**self.area_options.to_dict(), "lr_units": "raw"}


def signs(text: str) -> str:
    """'+ -x' -> '− x' and '− -x' -> '+ x' in a written-out equation."""
    return text.replace("+ -", "− ").replace("− -", "+ ")


def running_peak(lr: np.ndarray, index: np.ndarray, start: int = 0) -> np.ndarray:
    """The highest LR applied from step ``start`` up to each index (0 for indices before ``start``)."""
    peak = np.zeros(lr.size)
    if start < lr.size:
        peak[start:] = np.maximum.accumulate(lr[start:])
    return peak[index]


def positive_log(x: np.ndarray) -> np.ndarray:
    """log of a positive feature; guards zero areas (e.g. S1 at the first step with lr_index='exclusive')."""
    return np.log(np.maximum(x, 1e-300))


def require_meta(run: Run, attr: str, law: str) -> float:
    value = getattr(run, attr)
    if value is None:
        raise DataError(f"run {run.name!r}: the {law} law with this option needs the '{attr}' column")
    return float(value)
