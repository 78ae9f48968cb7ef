"""One robust fitter for every law.

Objective (Tissue et al. 2024 §3.4, Eq. 6; Luo et al. 2025 Eq. 27): the **sum** over all points of all runs
of Huber_δ(log L̂ - log L), δ = 1e-3 by default.  It is minimised with
``scipy.optimize.least_squares(loss="huber", f_scale=δ)``, whose cost ½ Σ δ² ρ((r/δ)²) equals
Σ Huber_δ(r) exactly, with the law's analytic Jacobian, bounds per parameter, and positive parameters
that span decades (``Parameter.log``) optimised in log space.

Search: variable projection (:mod:`cptlaw.fit.varpro`).  The amplitudes (``Parameter.linear``) are solved
exactly for each value of the exponents and rates, so the seeded multi-start (scrambled Sobol or a shuffled
grid) covers only the nonlinear parameters; the best distinct screened points are solved locally on the
profiled objective, and the best of those is polished in the full space.  Evaluation caps hit are continued
and recorded.  The spread of the parameters among local solutions whose objective is within 1% of the best is
reported as a degeneracy warning (laws.md pitfall 8).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..errors import CptlawError
from ..limits import MAX_STARTS, hint
from ..progress import bar
from .bootstrap import bootstrap as run_bootstrap
from .diagnostics import diagnose
from .problem import Design, Model, Problem
from .result import build_result
from .varpro import Reduced, Separable


@dataclass
class Start:
    x0: np.ndarray
    x: np.ndarray
    cost: float
    nfev: int
    polished: bool = False
    status: int = 1  # least_squares' status of its last solve: 0 = stopped at the evaluation cap


def _solve(problem: Problem, x0: np.ndarray, delta: float, max_nfev: int | None) -> Start:
    """least_squares in the full parameter space (the last polish after variable projection).

    Held where they are: an amplitude whose term these data never switch on (its basis column 1e-12 below the
    largest, the rule of :func:`cptlaw.fit.varpro.bounded_lstsq`, e.g. C1 when no PT anneals), and any parameter
    whose Jacobian column is exactly zero at ``x0`` (e.g. an exponent whose amplitude is 0).  The trust region has
    no curvature along them, so a solve would move them by an arbitrary amount for no change of the objective."""
    seen = np.any(problem.jac(x0) != 0, axis=0)
    with np.errstate(all="ignore"):
        phi = problem.law.basis(problem.theta(x0), problem.design)
    norms = np.sqrt(np.sum(np.where(np.isfinite(phi), phi, 0.0) ** 2, axis=0))
    linear = np.flatnonzero([p.linear for p in problem.params])
    seen[linear[norms <= 1e-12 * norms.max(initial=0.0)]] = False
    if not seen.any():
        return Start(x0, x0, problem.objective(x0, delta), 0, True, 1)

    def full(z):
        x = x0.copy()
        x[seen] = z
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = least_squares(lambda z: problem.residuals(full(z)), x0[seen], jac=lambda z: problem.jac(full(z))[:, seen],
                            bounds=(problem.lower[seen], problem.upper[seen]), method="trf", loss="huber",
                            f_scale=delta, x_scale="jac", max_nfev=max_nfev, ftol=1e-12, xtol=1e-12, gtol=1e-12)
    # least_squares' cost, ½ Σ δ² ρ((r/δ)²), is exactly Σ Huber_δ(r) (module docstring)
    return Start(x0, full(res.x), float(res.cost), int(res.nfev), True, int(res.status))


def _distinct(order: np.ndarray, curves: list[np.ndarray], k: int, tol: float = 1e-3) -> list[int]:
    """The first ``k`` indices of ``order`` whose predicted (log) curves differ from every one already taken by
    more than ``tol`` RMS: parameters may differ where the curve does not (alpha once A = 0), and such
    look-alikes would fill every local solve with the same basin."""
    taken: list[int] = []
    for i in order:
        if all(np.sqrt(np.mean((curves[i] - curves[j]) ** 2)) > tol for j in taken):
            taken.append(int(i))
            if len(taken) == k:
                break
    return taken


def multistart(problem: Problem, *, delta: float = 1e-3, n_starts: int = 128, seed: int = 0,
               sampler: str = "sobol", polish: int = 8, screen_iter: int = 2, max_nfev: int = 100,
               max_rounds: int = 4):
    """Variable-projection multi-start (:mod:`cptlaw.fit.varpro`).

    1. Screen ``n_starts`` seeded points of the *nonlinear* parameters' box, plus a seed-independent grid over
       their whole bounds (:meth:`Separable.grid`), each with its amplitudes solved (``screen_iter`` IRLS
       steps).
    2. Run the profiled least squares from the ``polish`` best distinct points.  A solve that stops at its
       ``max_nfev`` cap is continued, up to ``max_rounds`` rounds in all; every stop at a cap is recorded.
    3. Polish the best in the full parameter space (also capped, continued and recorded).

    Returns ``(best, starts, info)``; ``info`` records caps hit and convergence.
    """
    if not 1 <= n_starts <= MAX_STARTS:
        raise CptlawError(f"n_starts must be in [1, {MAX_STARTS}] ({hint('MAX_STARTS')}), got {n_starts}")
    if polish < 1:
        raise CptlawError("polish must be >= 1")
    sep = Separable(problem, delta)
    screen = Separable(Problem(problem.law, problem.law.screening_design(problem.design), problem.params), delta)
    anchors = sep.grid()
    x0s = np.vstack([anchors, sep.starts(n_starts, seed, sampler)])
    screened = []
    for x0 in x0s:
        # each start on its own: the result does not depend on the order of the starts
        screened.append(screen.cold().evaluate(x0, max_iter=screen_iter))
    cost = np.array([s.cost for s in screened])
    curves = [s.log_pred for s in screened]
    is_anchor = np.arange(len(x0s)) < len(anchors)
    # half the local solves from the best anchors, half from the best seeded points, so that neither set
    # can crowd the other out (a plateau of equal costs in one basin otherwise takes every slot)
    picked = []
    for group in (is_anchor, ~is_anchor):
        idx = np.flatnonzero(group)
        picked += [int(idx[i]) for i in _distinct(np.argsort(cost[idx], kind="stable"), [curves[j] for j in idx],
                                                   max(1, polish // 2))]
    capped_local = 0
    starts: list[Start] = []

    def local(red: Reduced, x0: np.ndarray) -> Start:
        nonlocal capped_local
        rounds, nfev = 0, 0
        while True:
            red = sep.local(red, max_nfev)
            rounds, nfev = rounds + 1, nfev + red.nfev
            if red.status != 0 or rounds >= max_rounds:
                break
        capped_local += int(red.status == 0)
        return Start(sep.x_full(x0, np.zeros(sep.lin.size)), sep.x_full(red.x_nl, red.c), red.cost, nfev, True,
                     red.status)

    for i in bar(picked, desc=f"fit: local solves ({problem.design.n} points)", unit="start"):
        start = screened[i] if screen.problem.design is problem.design else sep.cold().evaluate(x0s[i], screen_iter)
        starts.append(local(start, x0s[i]))
    best = min(starts, key=lambda s: s.cost)
    escapes = 0
    for _ in range(2):  # leave plateaus: scan each nonlinear parameter over its bounds from the best solution
        red = sep.scan(best.x[sep.nl], best.cost, c=best.x[sep.lin])
        if red is None:
            break
        escapes += 1
        starts.append(local(red, red.x_nl))
        if starts[-1].cost >= best.cost:
            break
        best = starts[-1]
    final, rounds, nfev = best, 0, 0
    while True:  # the full-space polish: a check that the profiled optimum is a stationary point of the whole
        final = _solve(problem, final.x, delta, max_nfev)
        rounds, nfev = rounds + 1, nfev + final.nfev
        if final.status != 0 or rounds >= max_rounds:
            break
    if final.cost < best.cost:
        i = next(j for j, s in enumerate(starts) if s is best)
        best = starts[i] = Start(best.x0, final.x, final.cost, best.nfev + nfev, True, final.status)
    info = {"screened": len(screened), "local_solves": len(starts), "escapes": escapes, "local_capped": capped_local,
            "final_capped": bool(final.status == 0), "converged": bool(best.status != 0),
            "max_nfev": max_nfev, "max_rounds": max_rounds,
            "total_nfev": int(len(screened) + sum(s.nfev for s in starts) + nfev)}
    return best, starts, info


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
    return {"near_best": len(near), "ranges": ranges, "degenerate": degenerate,
            "near_best_params": [[float(v) for v in t] for t in thetas]}  # for cptlaw.suggest


def fit_design(law: Model, design: Design, *, delta: float = 1e-3, n_starts: int = 128, seed: int = 0,
               sampler: str = "sobol", polish: int = 8, max_nfev: int = 100, target: str = "",
               data_hash: str = "", data_source: str = "", bootstrap: int = 0, bootstrap_method: str = "runs",
               run_designs: list[Design] | None = None):
    """Fit ``law`` on a prepared design; returns a :class:`cptlaw.fit.FitResult`.

    ``bootstrap=N`` adds N bootstrap refits (:mod:`cptlaw.fit.bootstrap`, seeded by ``seed``) over
    ``run_designs`` (the per-run designs that make up ``design``; default: the design as one unit)."""
    if design.y is None:
        raise CptlawError("the design has no observed losses to fit")
    t0 = time.perf_counter()
    params = law.parameters(design.y, design)
    if design.n < len(params):  # under-determined: a whole family of curves passes through the points
        raise CptlawError(f"{design.n} observation(s) cannot determine the {len(params)} parameters of the "
                          f"{getattr(law, 'name', 'law')} law ({', '.join(p.name for p in params)}); give it more "
                          "evaluations or runs")
    problem = Problem(law, design, params)
    best, starts, info = multistart(problem, delta=delta, n_starts=n_starts, seed=seed, sampler=sampler,
                                    polish=polish, max_nfev=max_nfev)
    theta = problem.theta(best.x)
    yhat = law.value(theta, design)
    diagnostics = diagnose(problem, best.x, delta, info)
    uncertainty = None
    if bootstrap:
        uncertainty = run_bootstrap(law, params, run_designs or [design], theta, delta, n=bootstrap,
                                    method=bootstrap_method, seed=seed, max_nfev=max_nfev)
    return build_result(law=law, params=params, theta=theta, design=design, yhat=yhat, objective=best.cost,
                        delta=delta, target=target, data_hash=data_hash, data_source=data_source,
                        starts={"method": "varpro", "n_starts": n_starts, "sampler": sampler, "seed": seed,
                                "polish": polish, **info, **spread(problem, starts, best)},
                        elapsed=time.perf_counter() - t0, diagnostics=diagnostics, uncertainty=uncertainty)
