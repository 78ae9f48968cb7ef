"""Fit-quality and prediction-error metrics (the Multi-Power-Law paper's set, laws.md §2.3 and pitfall 13).

Per run, on raw loss: R², MAE, RMSE; and relative errors PredE = mean |L - L̂| / L, WorstE = max |L - L̂| / L.
``overall`` averages R², MAE, RMSE and PredE over runs (each curve weighs the same, as in the MPL paper),
takes the max of WorstE, and sums n.
"""

from __future__ import annotations

import numpy as np

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
