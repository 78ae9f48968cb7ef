"""The fitter cptlaw shipped before variable projection (git 09b0e8d), kept only as the side-by-side reference
of the benchmarks: every parameter sampled by a scrambled-Sobol multi-start in the full space, amplitudes in
log space, each start screened for 12 evaluations, the best 8 polished with ``least_squares`` (cap 400)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import qmc

from cptlaw.fit import Problem

# what the laws declared before: amplitudes in log space, the old boxes
OLD = {
    "annealing": {"A": dict(log=True), "alpha": dict(init=(0.1, 1.2)), "C": dict(log=True), "B": dict(log=True)},
    "cpt": {"A": dict(log=True), "alpha": dict(init=(0.1, 1.2)), "C1": dict(log=True), "C2": dict(log=True),
            "E": dict(lower=0.0, upper=np.inf, init=(1.0, 1e4)), "F": dict(log=True)},
    "mpl": {"A": dict(log=True), "B": dict(log=True), "C": dict(lower=0.0, upper=np.inf)},
    "dcpt": {"A": dict(log=True), "B": dict(log=True), "C": dict(log=True)},
}


def legacy_problem(law, design) -> Problem:
    params = [dataclasses.replace(p, linear=False, **OLD[law.name].get(p.name, {}))
              for p in law.parameters(design.y, design)]
    return Problem(law, design, params)


def legacy_starts(problem: Problem, n: int, seed: int) -> np.ndarray:
    lo = np.array([np.log(p.init[0]) if p.log else p.init[0] for p in problem.params])
    hi = np.array([np.log(p.init[1]) if p.log else p.init[1] for p in problem.params])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = qmc.Sobol(lo.size, scramble=True, seed=seed).random(n)
    x = lo + u * (hi - lo)
    fin_lo, fin_hi = np.isfinite(problem.lower), np.isfinite(problem.upper)
    m_lo = np.where(fin_lo, 1e-9 * (1 + np.abs(np.where(fin_lo, problem.lower, 0))), 0.0)
    m_hi = np.where(fin_hi, 1e-9 * (1 + np.abs(np.where(fin_hi, problem.upper, 0))), 0.0)
    return np.clip(x, problem.lower + m_lo, problem.upper - m_hi)


def _solve(problem, x0, delta, max_nfev):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = least_squares(problem.residuals, x0, jac=problem.jac, bounds=(problem.lower, problem.upper),
                            method="trf", loss="huber", f_scale=delta, x_scale="jac", max_nfev=max_nfev,
                            ftol=1e-12, xtol=1e-12, gtol=1e-12)
    return res.x, float(res.cost)


def legacy_fit(law, design, *, delta=1e-3, n_starts=32, seed=0, polish=8, screen_nfev=12, max_nfev=400):
    """(objective, theta) of the old default fit."""
    problem = legacy_problem(law, design)
    screened = [_solve(problem, x0, delta, screen_nfev) for x0 in legacy_starts(problem, n_starts, seed)]
    order = np.argsort([c for _, c in screened], kind="stable")[:polish]
    best = min((_solve(problem, screened[i][0], delta, max_nfev) for i in order), key=lambda r: r[1])
    return best[1], problem.theta(best[0])
