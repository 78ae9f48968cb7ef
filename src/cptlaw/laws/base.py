"""Shared machinery of the laws: parameters with bounds, designs (precomputed features), the estimator API.

A law is a small class whose :meth:`Law.value` reads like the paper's equation and whose
:meth:`Law.jacobian` gives dL/dθ analytically.  It follows the scikit-learn contract: ``__init__`` only
stores options, :meth:`Law.fit` returns ``self`` and sets ``params_`` and ``result_``, :meth:`Law.predict`
never refits.
"""

from __future__ import annotations

import copy
import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from ..data import Run, RunSet, target_column
from ..errors import CptlawError, DataError
from ..fit import fit_design
from ..fit.problem import Design, Parameter
from ..schedules import AreaOptions, Areas, compute_areas


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
    CPT_INPUTS: ClassVar[tuple[str, ...]] = ()  # those defined on CPT rows only (their range is over those)
    USES_LR: ClassVar[bool] = True  # whether the law reads the runs' LR schedules (D-CPT laws read none)
    HELDOUT_CPT_ROWS: ClassVar[bool] = False  # held-out runs scored on their CPT rows only (evaluate.heldout_cpt_only)
    # what the planner needs (cptlaw.plan.features): features affine in the CPT peak LR, those equal to the highest
    # LR applied ("run" or "cpt"), and those that depend on the peak otherwise (computed exactly per peak)
    AREA_FEATURES: ClassVar[tuple[str, ...]] = ()
    PEAK_FEATURES: ClassVar[dict[str, str]] = {}
    NONAFFINE_PEAK_FEATURES: tuple[str, ...] = ()
    # options that choose the law's form rather than a convention of the data (the planner lets the general and
    # the domain fit differ in them)
    FORM_OPTIONS: ClassVar[tuple[str, ...]] = ()

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

    # ---- options (scikit-learn's get_params) ---------------------------------------------------------------
    @classmethod
    def option_names(cls) -> list[str]:
        """The constructor's options, by signature introspection over the class and its bases (keyword-only;
        a ``**kwargs`` passes options on to a base class, whose signature names them)."""
        names: list[str] = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for p in inspect.signature(init).parameters.values():
                if p.kind is p.KEYWORD_ONLY and p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """The options the law was built with (not what ``fit`` learned: those end in ``_``)."""
        return {name: getattr(self, name) for name in self.option_names()}

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
    def fit(self, runs, target: str, *, names: list[str] | None = None, **fit_options) -> "Law":
        """Fit jointly on every observation of ``target`` in ``runs`` (optionally only the runs ``names``);
        sets ``params_`` and ``result_`` (the saved fit, :class:`~cptlaw.fit.FitResult`) and returns self.
        ``fit_options`` go to :func:`cptlaw.fit.fit_design` (delta, n_starts, seed, sampler, polish, max_nfev,
        bootstrap, bootstrap_method)."""
        runs = runs if isinstance(runs, RunSet) else RunSet(_as_runs(runs))
        target = target_column(target)
        chosen = runs.select(names)
        runs = chosen.with_target(target)
        if not len(runs):
            have = sorted({c for run in chosen for c in run.targets})
            raise DataError(f"no observations of {target!r} in the selected runs; loss columns present: "
                            f"{', '.join(have) or '(none)'}")
        run_designs = []
        for run in runs:  # per-run designs: the units a run-level bootstrap resamples
            try:
                run_designs.append(self.design([run], target))
            except DataError:
                continue  # no point of this run in the law's domain
        if not run_designs:
            self.design(list(runs), target)  # raises the usual message
        return self.fit_design(self.merge(run_designs), target=target, data_hash=runs.data_hash(target),
                               data_source=runs.source, run_designs=run_designs, **fit_options)

    def fit_design(self, design: Design, **fit_options) -> "Law":
        """Fit on a prepared design (e.g. a D-CPT points table's); sets ``params_`` and ``result_``."""
        self.result_ = fit_design(self, design, **fit_options)
        self.params_ = dict(self.result_.params)
        return self

    def annotated(self, **diagnostics) -> "Law":
        """A copy of this fitted law whose saved record also carries the given diagnostics blocks (e.g.
        ``suggested_runs`` from :mod:`cptlaw.suggest`, ``selection`` from :mod:`cptlaw.select`): analyses made
        after the fit travel with it into the file, and this law is left as ``fit`` made it."""
        self._fitted()
        new = copy.copy(self)  # parameters and options are shared read-only; only the record differs
        new.result_ = self.result_.model_copy(
            update={"diagnostics": self.result_.diagnostics.model_copy(update=diagnostics, deep=True)})
        return new

    def save(self, path, force: bool = False):
        """Write the saved fit (JSON) atomically; :func:`cptlaw.laws.load` reads it back as a fitted law."""
        self._fitted()
        return self.result_.save(path, force=force)

    def theta(self, params: dict[str, float] | None = None) -> np.ndarray:
        params = params if params is not None else self._fitted()
        try:
            return np.array([float(params[n]) for n in self.param_names])
        except KeyError as exc:
            raise CptlawError(f"{self.name}: missing parameter {exc.args[0]!r}") from None

    def _fitted(self) -> dict:
        if not hasattr(self, "params_"):
            raise CptlawError(f"this {type(self).__name__} is not fitted yet: call fit() or cptlaw.laws.load()")
        return self.params_

    def predict(self, run: Run, steps: Sequence[int] | None = None, params: dict | None = None) -> np.ndarray:
        """Predicted loss of ``run`` at ``steps`` (default: every step); NaN where the law does not apply
        (outside its domain: before any LR, inside an ``as_peak`` warmup; D-CPT: PT rows).  Never refits.
        Raises :class:`DataError` where the law gives a non-finite or non-positive loss."""
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


def check_values(values: np.ndarray, where: list[str], flags: list[str]) -> None:
    """A prediction that is not a loss (non-finite or <= 0) is an error, never a number in a file."""
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        i = int(bad[0])
        why = f"; there the inputs {flags[i].replace(';', ', ')} lie outside what the fit saw" if flags[i] else ""
        raise DataError(f"{where[i]}: the fitted law predicts {values[i]:.6g}, which is not a loss (non-finite or "
                        f"<= 0){why}; {bad.size} such point(s) in all. The law does not hold this far from its data.")


# λ candidates of ``lam="fit"``: the grid of the Multi-Power-Law paper's baseline protocol for the annealing
# law (Luo et al. 2025, App. D.2: "λ ∈ {0.95, 0.99, 0.995, 0.999, 0.9995}", chosen by the training objective).
LAM_GRID = (0.95, 0.99, 0.995, 0.999, 0.9995)


class AreaLaw(Law):
    """A law on the areas S1/S2 (and their PT/CPT split) of each run's dense LR.

    ``lam``: the S2 momentum decay λ, or ``"fit"`` to choose it from :data:`LAM_GRID` by the training objective
    (:meth:`fit` fits the law once per λ; the chosen λ is the learned ``lam_`` and the saved fit's ``lam``, and
    every candidate's objective is kept in ``result_.diagnostics.lam_selection``)."""

    def __init__(self, *, lam: float | str = 0.999, warmup: str = "as_peak", warmup_steps: int | None = None,
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
        lam = self.lam
        if lam == "fit":
            if not hasattr(self, "lam_"):
                raise CptlawError(f"{self.name}: lam='fit' is chosen when the law is fitted; fit it first")
            lam = self.lam_
        return AreaOptions(lam, self.warmup, self.warmup_steps, self.momentum, self.lr_index)

    def fit(self, runs, target: str, **fit_options) -> "AreaLaw":
        """:meth:`Law.fit`; with ``lam="fit"``, once per λ of :data:`LAM_GRID`, keeping the lowest training
        objective (the MPL paper's protocol for its annealing-law baseline, Luo et al. 2025 App. D.2).  The
        objectives are comparable: the points, weights and Huber delta do not depend on λ (only S2 does)."""
        if self.lam != "fit":
            return super().fit(runs, target, **fit_options)
        if not {"S2", "S2pt", "S2cpt"} & set(self.INPUTS):
            raise CptlawError(f"{self.name}: lam='fit' needs a law with an annealing area S2 (annealing, cpt)")
        trials = []
        for lam in LAM_GRID:
            self.lam_ = lam
            trials.append(super().fit(runs, target, **fit_options).result_)
        best = min(range(len(trials)), key=lambda i: trials[i].objective)  # ties: the first, the smaller λ
        self.lam_ = LAM_GRID[best]
        self.result_ = trials[best]
        self.result_.diagnostics.lam_selection = {"rule": "lowest training objective (Luo et al. 2025, App. D.2)",
                                                     "chosen": self.lam_, "grid": list(LAM_GRID),
                                                     "objectives": [t.objective for t in trials]}
        self.result_.elapsed_s = sum(t.elapsed_s for t in trials)
        self.params_ = dict(self.result_.params)
        return self

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
