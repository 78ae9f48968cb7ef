"""Scores of a fitted law on runs: the metrics of :mod:`cptlaw.fit.metrics` (R², MAE, RMSE, PredE, WorstE; each
run weighs the same in the mean), and the one rule for which rows a held-out score counts (:func:`cpt_rows`)."""

from __future__ import annotations

import math

import numpy as np

from .data import RunSet
from .errors import DataError
from .fit.metrics import METRIC_KEYS, metrics, overall, per_run_metrics

__all__ = ["METRIC_KEYS", "cpt_rows", "evaluate", "evaluate_design", "heldout_cpt_only", "metrics", "overall",
           "per_run_metrics", "score_lines"]


def heldout_cpt_only(law) -> bool:
    """Whether a held-out run is scored on its CPT rows only (the law's ``HELDOUT_CPT_ROWS``: the CPT law, whose
    held-out CPT runs share their PT prefix with the fitted runs, so scoring the prefix would count fitted points
    as predictions)."""
    return law.HELDOUT_CPT_ROWS


def cpt_rows(steps: np.ndarray, transfer_step: int | None) -> np.ndarray:
    """The rows of a run from its transfer on (none for a run without one: it has no CPT)."""
    steps = np.asarray(steps)
    return np.zeros(steps.size, bool) if transfer_step is None else steps >= transfer_step


def evaluate(law, runs: RunSet, names: list[str] | None = None, target: str | None = None,
             cpt_only: bool = False) -> dict:
    """Score a fitted law on runs: ``{"runs": {...}, "overall": {...}}``.

    Only the runs where the fit's target validation set was observed are scored; with ``cpt_only``, only
    their CPT rows (a held-out CPT run shares its PT prefix with the runs that were fitted).
    """
    target = target or law.result_.target
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
        keep = np.zeros(design.n, bool)  # a PT-only run keeps none
        for i, n in enumerate(design.run_names):
            mine = run_index == i
            keep[mine] = cpt_rows(design.steps[mine], subset[n].transfer_step)
        y, yhat, run_index = y[keep], yhat[keep], run_index[keep]
    per_run = per_run_metrics(design.run_names, run_index, y, yhat)
    return {"target": target, "runs": per_run, "overall": overall(per_run), "pooled": _pooled(y, yhat)}


def _pooled(y, yhat) -> dict:
    """The metrics over every scored row pooled (R²: the CPT paper's metric), beside ``overall``'s mean of runs."""
    return metrics(y, yhat) if len(y) else {k: float("nan") for k in METRIC_KEYS[:-1]} | {"n": 0}


def evaluate_design(law, design, names: list[str] | None = None) -> dict:
    """Score a fitted law on a prepared design with observations (e.g. a D-CPT points table; its run labels)."""
    yhat = law.value(law.theta(), design)
    per_run = per_run_metrics(design.run_names, design.run_index, design.y, yhat)
    keep = np.ones(design.n, bool)
    if names is not None:
        missing = [n for n in names if n not in per_run]
        if missing:
            raise DataError(f"no points labelled {', '.join(missing)}; labels: {', '.join(per_run)}")
        per_run = {n: per_run[n] for n in names}
        keep = np.isin(np.asarray(design.run_names)[design.run_index], names)
    return {"target": law.result_.target, "runs": per_run, "overall": overall(per_run),
            "pooled": _pooled(design.y[keep], yhat[keep])}


def score_lines(report: dict, law) -> list[str]:
    """A score report (:func:`evaluate`) as a table: a row per run and the overall mean."""
    fit = law.result_
    lines = [f"{fit.law_name} fit on {fit.target}, scored on {len(report['runs'])} run(s):",
             f"  {'run':<24s} {'R²':>8s} {'MAE':>8s} {'RMSE':>8s} {'PredE%':>8s} {'WorstE%':>8s} {'n':>6s}"]
    rows = list(report["runs"].items()) + [("mean of runs", report["overall"])]
    if "pooled" in report:
        rows.append(("pooled rows", report["pooled"]))
    for name, m in rows:
        r2 = "nan" if m["r2"] is None or not math.isfinite(m["r2"]) else f"{m['r2']:8.5f}"
        lines.append(f"  {name:<24s} {r2:>8s} {m['mae']:8.5f} {m['rmse']:8.5f} {100 * m['pred_e']:8.4f} "
                     f"{100 * m['worst_e']:8.4f} {m['n']:6d}")
    return lines
