"""Scores of a fitted law on runs: the metrics of :mod:`cptlaw.fit.metrics` (R², MAE, RMSE, PredE, WorstE; each
run weighs the same in the mean), and the one rule for which rows a held-out score counts (:func:`cpt_rows`)."""

from __future__ import annotations

import math

import numpy as np

from .data import RunSet
from .errors import DataError
from .fit.metrics import METRIC_KEYS, metrics, overall, per_run_metrics

__all__ = ["METRIC_KEYS", "cpt_rows", "evaluate", "evaluate_design", "heldout_cpt_only", "metrics", "overall",
           "per_run_metrics", "ratio_interpolation", "score_lines"]


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
    report = {"target": target, "runs": per_run, "overall": overall(per_run), "pooled": _pooled(y, yhat)}
    fitted = runs.with_target(target)
    if "r" in law.INPUTS and law.result_.runs and all(n in fitted for n in law.result_.runs):
        # a mixture law: the baseline it must beat, from the fitted runs (wherever they are in ``runs``)
        report["interpolation"] = ratio_interpolation(law, law.design(list(fitted.select(law.result_.runs)), target),
                                                      design, [n for n in design.run_names if n not in law.result_.runs])
    return report


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
    report = {"target": law.result_.target, "runs": per_run, "overall": overall(per_run),
              "pooled": _pooled(design.y[keep], yhat[keep])}
    if "r" in law.INPUTS:
        fitted = [n for n in law.result_.runs if n in design.run_names]
        if fitted:
            held = [n for n in (names or design.run_names) if n not in fitted]
            report["interpolation"] = ratio_interpolation(law, design.select_runs(fitted), design, held)
    return report


def interpolate(xs: np.ndarray, ys: np.ndarray, x: float) -> np.ndarray:
    """Linear interpolation at ``x`` between the sorted ``xs`` (two or more) and their values ``ys`` (a row per x),
    extrapolated linearly from the two nearest beyond them."""
    j = int(np.clip(np.searchsorted(xs, x), 1, xs.size - 1))
    return ys[j - 1] + (x - xs[j - 1]) / (xs[j] - xs[j - 1]) * (ys[j] - ys[j - 1])


def ratio_interpolation(law, fitted, design, held: list[str]) -> dict | None:
    """The baseline a mixture law must beat on runs it did not see: each point of the runs ``held`` in ``design``
    predicted by linear interpolation in the ratio r between the points of the fitted design ``fitted`` that have the
    same other inputs (model size N and tokens D, to 1e-9), extrapolated linearly from the two nearest ratios
    beyond them; a point with fewer than two fitted ratios there has no baseline.  Over the points that have one:
    ``{"n", "law": metrics, "interpolation": metrics, "law_loses": bool}`` (by mean relative error), or None when no
    point has one (e.g. the held-out runs differ in N or D from every fitted one)."""
    others = [k for k in law.INPUTS if k != "r"]
    table: dict[tuple, dict[float, list[float]]] = {}
    for i in range(fitted.n):
        key = tuple(round(float(fitted.features[k][i]), 9) for k in others)
        table.setdefault(key, {}).setdefault(float(fitted.features["r"][i]), []).append(float(fitted.y[i]))
    labels = np.asarray(design.run_names)[design.run_index]
    y, base, at = [], [], []
    for i in np.flatnonzero(np.isin(labels, held)):
        by_r = table.get(tuple(round(float(design.features[k][i]), 9) for k in others), {})
        if len(by_r) < 2:
            continue
        xs = np.array(sorted(by_r))
        base.append(float(interpolate(xs, np.array([np.mean(by_r[x]) for x in xs]), float(design.features["r"][i]))))
        y.append(float(design.y[i]))
        at.append(i)
    if not at:
        return None
    pred = law.value(law.theta(), design)[np.array(at)]
    ours, theirs = metrics(np.array(y), pred), metrics(np.array(y), np.array(base))
    return {"n": len(at), "law": ours, "interpolation": theirs, "law_loses": theirs["pred_e"] < ours["pred_e"]}


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
    base = report.get("interpolation")
    if base:
        lines.append(f"  baseline on the {base['n']} held-out point(s) it can predict (linear interpolation in the "
                     f"ratio between the fitted runs at the same N and D): PredE {100 * base['interpolation']['pred_e']:.4f}% "
                     f"against the law's {100 * base['law']['pred_e']:.4f}%")
        if base["law_loses"]:
            lines.append("  warning: the law predicts these held-out ratios worse than interpolating between the fitted "
                         "runs does; do not let it drive a ratio decision inside the fitted range")
    return lines
