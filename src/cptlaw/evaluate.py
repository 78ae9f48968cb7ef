"""Fit-quality and prediction-error metrics (the Multi-Power-Law paper's set, laws.md §2.3 and pitfall 13).

Per run, on raw loss: R², MAE, RMSE; and relative errors PredE = mean |L - L̂| / L, WorstE = max |L - L̂| / L.
``overall`` averages R², MAE, RMSE and PredE over runs (each curve weighs the same, as in the MPL paper),
takes the max of WorstE, and sums n.
"""

from __future__ import annotations

import numpy as np

from .data import RunSet
from .errors import DataError

METRIC_KEYS = ("r2", "mae", "rmse", "pred_e", "worst_e", "n")


def metrics(y: np.ndarray, yhat: np.ndarray) -> dict:
    y = np.asarray(y, dtype=np.float64)
    yhat = np.asarray(yhat, dtype=np.float64)
    err = yhat - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    rel = np.abs(err) / y
    return {"r2": r2, "mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "pred_e": float(np.mean(rel)), "worst_e": float(np.max(rel)), "n": int(y.size)}


def per_run_metrics(run_names: list[str], run_index: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> dict:
    """Metrics of each run that has at least one point."""
    return {name: metrics(y[run_index == i], yhat[run_index == i])
            for i, name in enumerate(run_names) if np.any(run_index == i)}


def overall(per_run: dict) -> dict:
    rows = list(per_run.values())
    if not rows:
        return {k: float("nan") for k in METRIC_KEYS[:-1]} | {"n": 0}
    out = {}
    for k in ("r2", "mae", "rmse", "pred_e"):  # runs without an R² (one point) are left out of its mean
        vals = np.array([r[k] for r in rows], dtype=float)
        out[k] = float(np.mean(vals[~np.isnan(vals)])) if np.any(~np.isnan(vals)) else float("nan")
    out["worst_e"] = float(max(r["worst_e"] for r in rows))
    out["n"] = int(sum(r["n"] for r in rows))
    return out


def evaluate(fit, runs: RunSet, names: list[str] | None = None, target: str | None = None,
             cpt_only: bool = False) -> dict:
    """Score a fitted law (a :class:`cptlaw.fit.FitResult`) on runs: ``{"runs": {...}, "overall": {...}}``.

    Only the runs where the fit's target validation set was observed are scored; with ``cpt_only``, only
    their CPT rows (a held-out CPT run shares its PT prefix with the runs that were fitted).
    """
    target = target or fit.target
    law = fit.law()
    chosen = runs.select(names)
    subset = chosen.with_target(target)
    lacking = [n for n in chosen.names if n not in subset]
    if not subset.names or (names is not None and lacking):
        have = sorted({c for r in chosen for c in r.targets})
        who = "none of the selected runs has" if not subset.names else f"run(s) {', '.join(lacking)} have"
        raise DataError(f"{who} observations of {target!r}; loss columns present: {', '.join(have) or '(none)'}")
    design = law.design(list(subset), target)
    yhat = law.value(law.theta(), design)
    y, run_index = design.y, design.run_index
    if cpt_only:
        transfer = np.array([subset[n].transfer_step if subset[n].transfer_step is not None else np.iinfo(np.int64).max
                             for n in design.run_names])
        keep = design.steps >= transfer[run_index]
        y, yhat, run_index = y[keep], yhat[keep], run_index[keep]
    per_run = per_run_metrics(design.run_names, run_index, y, yhat)
    return {"target": target, "runs": per_run, "overall": overall(per_run)}


def evaluate_design(fit, design, names: list[str] | None = None) -> dict:
    """Score a fit on a prepared design with observations (e.g. a D-CPT points table; its run labels)."""
    law = fit.law()
    yhat = law.value(law.theta(), design)
    per_run = per_run_metrics(design.run_names, design.run_index, design.y, yhat)
    if names is not None:
        missing = [n for n in names if n not in per_run]
        if missing:
            raise DataError(f"no points labelled {', '.join(missing)}; labels: {', '.join(per_run)}")
        per_run = {n: per_run[n] for n in names}
    return {"target": fit.target, "runs": per_run, "overall": overall(per_run)}
