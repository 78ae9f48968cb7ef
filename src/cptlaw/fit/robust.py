"""One robust fitter for every law.

Objective (Tissue et al. 2024 §3.4, Eq. 6; Luo et al. 2025 Eq. 27): the **sum** over all points of all runs
of Huber_δ(log L̂ - log L), δ = 1e-3 by default.  It is minimised with
``scipy.optimize.least_squares(loss="huber", f_scale=δ)``, whose cost ½ Σ δ² ρ((r/δ)²) equals
Σ Huber_δ(r) exactly, with the law's analytic Jacobian, bounds per parameter, and positive parameters
that span decades (``Parameter.log``) optimised in log space.

Multi-start: a deterministic, seeded set of starts (scrambled Sobol or a shuffled grid) inside each
parameter's box.  Every start gets a short screening run; the best ``polish`` are run to convergence.
The spread of the parameters among converged starts whose objective is within 1% of the best is reported
as a degeneracy warning (laws.md pitfall 8).
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import qmc

from ..errors import CptlawError
from ..laws.base import Design, Law, Parameter

FLOOR = 1e-10  # predictions are clamped here before the log (laws.md pitfall 7)


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber_δ(r) = r²/2 for |r| <= δ, δ|r| - δ²/2 beyond."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * a - 0.5 * delta * delta)


@dataclass
class Problem:
    """The fit as the optimiser sees it: x (log for log-parameters) -> residuals r = log L̂ - log L."""

    law: Law
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
        pred = self.predict(x)
        with np.errstate(all="ignore"):
            r = np.log(np.maximum(pred, FLOOR)) - self.log_y
        return np.where(np.isfinite(r), r, 10.0)

    def jac(self, x: np.ndarray) -> np.ndarray:
        theta = self.theta(x)
        pred = self.predict(x)
        with np.errstate(all="ignore"):
            J = self.law.jacobian(theta, self.design) / np.maximum(pred, FLOOR)[:, None]
            J = J * np.where(self.is_log, theta, 1.0)[None, :]  # chain rule for log-parameters
            J[pred <= FLOOR] = 0.0
        return np.where(np.isfinite(J), J, 0.0)

    def objective(self, x: np.ndarray, delta: float) -> float:
        return float(np.sum(huber(self.residuals(x), delta)))

    def starts(self, n: int, seed: int, sampler: str) -> np.ndarray:
        """n deterministic starting points (in x space) inside each parameter's multi-start box."""
        lo = np.array([math.log(p.init[0]) if p.log else p.init[0] for p in self.params])
        hi = np.array([math.log(p.init[1]) if p.log else p.init[1] for p in self.params])
        d = lo.size
        if sampler == "sobol":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # non-power-of-2 balance warning
                u = qmc.Sobol(d, scramble=True, seed=seed).random(n)
        elif sampler == "grid":
            levels = max(2, math.ceil(n ** (1.0 / d)))
            axis = (np.arange(levels) + 0.5) / levels
            grid = np.array(list(itertools.islice(itertools.product(axis, repeat=d), 200_000)))
            u = grid[np.random.default_rng(seed).permutation(len(grid))[:n]]
        else:
            raise ValueError(f"sampler must be 'sobol' or 'grid', got {sampler!r}")
        x = lo + u * (hi - lo)
        fin_lo, fin_hi = np.isfinite(self.lower), np.isfinite(self.upper)
        margin_lo = np.where(fin_lo, 1e-9 * (1 + np.abs(np.where(fin_lo, self.lower, 0))), 0.0)
        margin_hi = np.where(fin_hi, 1e-9 * (1 + np.abs(np.where(fin_hi, self.upper, 0))), 0.0)
        return np.clip(x, self.lower + margin_lo, self.upper - margin_hi)


@dataclass
class Start:
    x0: np.ndarray
    x: np.ndarray
    cost: float
    nfev: int
    polished: bool = False


def _solve(problem: Problem, x0: np.ndarray, delta: float, max_nfev: int | None) -> Start:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = least_squares(problem.residuals, x0, jac=problem.jac, bounds=(problem.lower, problem.upper),
                            method="trf", loss="huber", f_scale=delta, x_scale="jac", max_nfev=max_nfev,
                            ftol=1e-12, xtol=1e-12, gtol=1e-12)
    # least_squares' cost, ½ Σ δ² ρ((r/δ)²), is exactly Σ Huber_δ(r) (module docstring)
    return Start(x0, res.x, float(res.cost), int(res.nfev))


def multistart(problem: Problem, *, delta: float = 1e-3, n_starts: int = 32, seed: int = 0,
               sampler: str = "sobol", polish: int = 8, screen_nfev: int = 12, max_nfev: int | None = 400):
    """Screen every start with ``screen_nfev`` evaluations, polish the best ``polish`` to convergence."""
    if n_starts < 1:
        raise CptlawError("n_starts must be >= 1")
    x0s = problem.starts(n_starts, seed, sampler)
    if n_starts <= polish:
        starts = [_solve(problem, x0, delta, max_nfev) for x0 in x0s]
        for s in starts:
            s.polished = True
    else:
        starts = [_solve(problem, x0, delta, screen_nfev) for x0 in x0s]
        order = np.argsort([s.cost for s in starts], kind="stable")
        for i in order[:polish]:
            polished = _solve(problem, starts[i].x, delta, max_nfev)
            polished.x0, polished.nfev, polished.polished = starts[i].x0, polished.nfev + starts[i].nfev, True
            starts[i] = polished
    best = min((s for s in starts if s.polished), key=lambda s: s.cost)
    return best, starts


def spread(problem: Problem, starts: list[Start], best: Start, rel_tol: float = 0.01) -> dict:
    """Parameter ranges among the polished starts within ``rel_tol`` of the best objective."""
    near = [s for s in starts if s.polished and s.cost <= best.cost * (1 + rel_tol) + 1e-15]
    thetas = np.array([problem.theta(s.x) for s in near])
    best_theta = problem.theta(best.x)
    ranges, degenerate = {}, []
    for j, p in enumerate(problem.params):
        lo, hi = float(thetas[:, j].min()), float(thetas[:, j].max())
        ranges[p.name] = [lo, hi]
        if hi - lo > 0.1 * max(abs(best_theta[j]), 1e-12):
            degenerate.append(p.name)
    return {"near_best": len(near), "ranges": ranges, "degenerate": degenerate}


def fit_design(law: Law, design: Design, *, delta: float = 1e-3, n_starts: int = 32, seed: int = 0,
               sampler: str = "sobol", polish: int = 8, screen_nfev: int = 12, max_nfev: int | None = 400,
               target: str = "", data_hash: str = "", data_source: str = ""):
    """Fit ``law`` on a prepared design; returns a :class:`cptlaw.fit.FitResult`."""
    from .result import build_result

    if design.y is None:
        raise CptlawError("the design has no observed losses to fit")
    t0 = time.perf_counter()
    params = law.parameters(design.y)
    problem = Problem(law, design, params)
    best, starts = multistart(problem, delta=delta, n_starts=n_starts, seed=seed, sampler=sampler, polish=polish,
                              screen_nfev=screen_nfev, max_nfev=max_nfev)
    theta = problem.theta(best.x)
    yhat = law.value(theta, design)
    return build_result(law=law, params=params, theta=theta, design=design, yhat=yhat, objective=best.cost,
                        delta=delta, target=target, data_hash=data_hash, data_source=data_source,
                        starts={"n_starts": n_starts, "sampler": sampler, "seed": seed, "polish": polish,
                                "screen_nfev": screen_nfev, "total_nfev": int(sum(s.nfev for s in starts)),
                                **spread(problem, starts, best)},
                        elapsed=time.perf_counter() - t0)


def fit_law(law: Law, runs, target: str, *, names: list[str] | None = None, **options):
    """Fit ``law`` jointly on every observation of ``target`` in ``runs`` (optionally only the ``names``)."""
    from ..data import RunSet, target_column

    runs = runs if isinstance(runs, RunSet) else RunSet(runs)
    target = target_column(target)
    runs = runs.select(names).with_target(target)
    design = law.design(list(runs), target)
    return fit_design(law, design, target=target, data_hash=runs.data_hash(target), data_source=runs.source,
                      **options)
