"""Uncertainty by bootstrap: parameter confidence intervals and prediction intervals for every predicted point.

* ``method="runs"`` (default): resample whole runs with replacement (Efron & Tibshirani 1993, ch. 6, with runs
  as the independent units: points within a run share its noise and its misfit), refit each resample.
* ``method="residuals"``: for few runs, keep the runs and resample each run's log residuals in moving blocks
  (Künsch 1989) of ``block`` consecutive evaluations, added to the fitted curve; refit.

Every refit is warm-started from the best fit: one profiled local solve (:mod:`cptlaw.fit.varpro`) from its
nonlinear parameters, with the same bounds, objective and conventions; no new multi-start.

A prediction interval at level p for a point combines two sources of error: the spread of the refitted
curves, and the error of a curve on a run it was not fitted on.  The latter comes from leave-one-run-out
refits (the out-of-sample residuals of jackknife+ / CV+, Barber et al. 2021, Ann. Statist. 49(1)): each run
is predicted by the fit of the others, and the pooled log residuals (each run weighing the same) are saved as
quantiles.  In-sample residuals would only measure the noise, not the error of predicting a new schedule.
With fewer than 3 runs the in-sample residuals are used, and the fit says so (``residuals: "in-sample"``).
The interval's ends are the (1-p)/2 and (1+p)/2 quantiles of log L_b(t) - e over the resamples b and the
residual quantiles e.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..errors import CptlawError
from ..limits import MAX_BOOTSTRAP, hint
from ..progress import bar
from .problem import Problem
from .varpro import Reduced, Separable

RESIDUAL_LEVELS = np.linspace(0.0125, 0.9875, 40)  # 40 residual quantiles for prediction intervals


def warm_refit(law, params, design, x_start: np.ndarray, delta: float, max_nfev: int = 100) -> tuple[np.ndarray, bool]:
    """``law`` refitted on ``design`` by profiled local solves from ``x_start`` (fitter coordinates of every
    parameter; only the nonlinear ones are used), a capped solve continued as the fit does; no multi-start.  The
    bootstrap's refits and the cross-validation folds of :mod:`cptlaw.select`.  Returns (theta, converged)."""
    problem = Problem(law, design, params)
    sep = Separable(problem, delta)
    start = sep.evaluate(x_start[sep.nl])
    red = Reduced(start.x_nl, start.c, start.cost)
    for _ in range(3):
        red = sep.local(red, max_nfev)
        if red.status != 0:
            break
    return problem.theta(sep.x_full(red.x_nl, red.c)), red.status != 0


def _loo_quantiles(law, params, run_designs, x_best, delta, max_nfev) -> np.ndarray:
    """Quantiles of the log residuals of each run predicted by the fit of the other runs (equal run weights)."""
    values, weights = [], []
    for i, held in enumerate(run_designs):
        rest = law.merge([d for j, d in enumerate(run_designs) if j != i])
        th, _ = warm_refit(law, params, rest, x_best, delta, max_nfev)
        with np.errstate(all="ignore"):
            r = np.log(law.value(th, held)) - np.log(held.y)
        r = r[np.isfinite(r)]
        if r.size:
            values.append(r)
            weights.append(np.full(r.size, 1.0 / r.size))
    v, w = np.concatenate(values), np.concatenate(weights)
    order = np.argsort(v)
    cdf = (np.cumsum(w[order]) - 0.5 * w[order]) / w.sum()
    return np.interp(RESIDUAL_LEVELS, cdf, v[order])


def _block_resample(resid: np.ndarray, block: int, rng) -> np.ndarray:
    n = resid.size
    if n <= block:
        return resid[rng.integers(0, n, n)]
    starts = rng.integers(0, n - block + 1, int(np.ceil(n / block)))
    return np.concatenate([resid[s:s + block] for s in starts])[:n]


def bootstrap(law, params, run_designs, theta, delta: float, *, n: int = 200, method: str = "runs",
              seed: int = 0, block: int | None = None, level: float = 0.9, max_nfev: int = 100) -> dict:
    """The ``uncertainty`` block of a fit: ``n`` refitted parameter vectors and their intervals."""
    if not 2 <= n <= MAX_BOOTSTRAP:
        raise CptlawError(f"the bootstrap needs 2 to {MAX_BOOTSTRAP} resamples ({hint('MAX_BOOTSTRAP')}), got {n}")
    if method not in ("runs", "residuals"):
        raise CptlawError(f"bootstrap method must be 'runs' or 'residuals', got {method!r}")
    if not 0 < level < 1:
        raise CptlawError(f"the interval level must be in (0, 1), got {level}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    full = law.merge(run_designs)
    problem = Problem(law, full, params)
    x_best = problem.x_of(np.asarray(theta, float))
    with np.errstate(all="ignore"):
        resid = np.log(law.value(theta, full)) - np.log(full.y)
    if method == "runs" and len(run_designs) < 3:
        raise CptlawError(f"resampling runs needs at least 3 runs (got {len(run_designs)}); "
                          "use the residual bootstrap (method 'residuals')")
    sizes = [d.n for d in run_designs]
    block = block or max(3, int(round(np.median(sizes) ** (1 / 3))))
    parts = np.split(resid, np.cumsum(sizes)[:-1])
    yhat = full.y * np.exp(resid)
    samples, failed = [], 0
    for _ in bar(range(n), desc=f"bootstrap ({method})", unit="refit"):
        if method == "runs":
            design = law.merge([run_designs[i] for i in rng.integers(0, len(run_designs), len(run_designs))])
        else:
            # the same points, new observations: the fitted curve with block-resampled residuals
            design = dataclasses.replace(full, y=yhat * np.exp(-np.concatenate([_block_resample(p, block, rng)
                                                                                 for p in parts])))
        th, ok = warm_refit(law, params, design, x_best, delta, max_nfev)
        failed += int(not ok)
        samples.append(th)
    samples = np.array(samples)
    lo, hi = np.nanquantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0)
    kind, quantiles = "in-sample", np.quantile(resid, RESIDUAL_LEVELS)
    if len(run_designs) >= 3:
        kind, quantiles = "leave-one-run-out", _loo_quantiles(law, params, run_designs, x_best, delta, max_nfev)
    names = [p.name for p in params]
    return {"method": method, "n": n, "seed": seed, "block": block if method == "residuals" else None,
            "level": level, "intervals": {k: [float(a), float(b)] for k, a, b in zip(names, lo, hi)},
            "samples": samples.tolist(), "residuals": kind, "residual_quantiles": quantiles.tolist(),
            "capped": failed, "elapsed_s": time.perf_counter() - t0}


def prediction_interval(law, uncertainty, design, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) of the level-``level`` prediction interval at every point of ``design``."""
    if uncertainty is None or not uncertainty.samples:
        raise CptlawError("this fit has no bootstrap: refit with --bootstrap N (Python: bootstrap=N)")
    if not 0 < level < 1:
        raise CptlawError(f"the interval level must be in (0, 1), got {level}")
    samples = np.asarray(uncertainty.samples, float)
    with np.errstate(all="ignore"):
        curves = np.array([law.value(th, design) for th in samples])  # (n_boot, n_points)
        logc = np.where(curves > 0, np.log(np.where(curves > 0, curves, 1.0)), np.nan)
    e = np.asarray(uncertainty.residual_quantiles, float)
    # log L_b(t) - e: the residual is log L_hat - log L, so an observation is the curve minus it
    draws = (logc[:, None, :] - e[None, :, None]).reshape(-1, design.n)
    lo, hi = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return np.exp(lo), np.exp(hi)
