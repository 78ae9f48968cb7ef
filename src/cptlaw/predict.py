"""Predictions of a fitted law (:func:`cptlaw.laws.load`): for runs with data, for a planned schedule, or for D-CPT
points; each checked, flagged where it extrapolates, and with the bootstrap's interval when asked."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .data import Run, RunSet, target_column
from .errors import DataError, SpecError
from .fit.bootstrap import prediction_interval
from .laws import check_values
from .schedules import from_spec, load_spec_file


def prediction_steps(run: Run, target: str, every: int | None = None) -> np.ndarray:
    """Where to predict: the run's observed steps of ``target`` plus, with ``every``, a grid of steps.

    A run with no observations gets a grid of about 1000 steps (always including its last step).
    """
    idx, _ = run.observed(target)
    n = run.steps.size
    if every is None and idx.size == 0:
        every = max(1, math.ceil(n / 1000))
    grid = np.arange(0, n, every) if every else np.zeros(0, np.int64)
    if every:
        grid = np.append(grid, n - 1)
    return run.steps[np.unique(np.concatenate([idx, grid]).astype(np.int64))]


def _outside(law, design):
    """Per input the fit has a range for: (name, values, lo, hi, above, below), the masks of the points
    outside [lo, hi] (with a relative tolerance of 1e-9).  A fit saved before v2 has no ranges."""
    ranges = law.result_.diagnostics.input_ranges
    cpt_only = law.CPT_INPUTS
    for name, values in law.inputs(design).items():
        if name in ranges:
            lo, hi = ranges[name]
            tol = 1e-9 * max(abs(lo), abs(hi), 1e-12)
            defined = values > 0 if name in cpt_only else True  # a PT row has no CPT peak: nothing to flag
            yield name, values, lo, hi, (values > hi + tol) & defined, (values < lo - tol) & defined


def extrapolation_flags(law, design) -> list[str]:
    """Per point of ``design``: the inputs (``Law.inputs``) outside the range the fit saw, joined by ';'
    ('' inside).  A fit saved before v2 has no ranges and flags nothing."""
    out = [[] for _ in range(design.n)]
    for name, _, _, _, above, below in _outside(law, design):
        for i in np.flatnonzero(above | below):
            out[i].append(name)
    return [";".join(f) for f in out]


def extrapolation_detail(law, design, index: int = 0) -> list[dict]:
    """How far point ``index`` of ``design`` lies outside what the fit saw, input by input: ``{input, value,
    seen: [min, max], by}`` where ``by`` is value / max above the range (e.g. 2.5 = 2.5x the largest seen) and
    min / value below it (how many times smaller than the smallest seen; for a zero or negative bound, the
    absolute distance is given instead, with ``by`` None)."""
    out = []
    for name, values, lo, hi, above, below in _outside(law, design):
        v = float(values[index])
        if above[index]:
            by, side, dist = (v / hi if hi > 0 else None), "above", v - hi
        elif below[index]:
            by, side, dist = (lo / v if v > 0 and lo > 0 else None), "below", lo - v
        else:
            continue
        out.append({"input": name, "value": v, "seen": [lo, hi], "side": side, "by": by, "distance": dist})
    return out


def predict_design(law, design, where: list[str], interval: float | None = None):
    """A fitted law's predictions at a design, checked: (values, extrapolation flags, lower, upper).  ``where``
    names each point for errors; without ``interval`` lower and upper are the values."""
    with np.errstate(all="ignore"):
        pred = law.value(law.theta(), design)
    flags = extrapolation_flags(law, design)
    check_values(pred, where, flags)
    lo, hi = prediction_interval(law, law.result_.uncertainty, design, interval) if interval else (pred, pred)
    return pred, flags, lo, hi


def predict_runs(law, runs: RunSet, names: list[str] | None = None, every: int | None = None,
                 interval: float | None = None) -> list[dict]:
    """Rows ``{run, step, predicted, observed, extrapolated}`` for the points inside the law's domain
    (observed is None where the data has no value; extrapolated names the inputs outside the fitted range);
    with ``interval`` (a level such as 0.9, from the fit's bootstrap) also ``lower`` and ``upper``.
    Raises :class:`DataError` where the law gives a non-finite or non-positive loss."""
    target = law.result_.target
    rows = []
    for run in runs.select(names):
        steps = prediction_steps(run, target, every)
        try:
            design = law.design([run], at={run.name: run.index_of(steps)})
        except DataError:
            continue  # no point of this run lies in the law's domain
        pred, flags, lo, hi = predict_design(law, design, [f"run {run.name!r} step {s}"
                                                               for s in design.steps.tolist()], interval)
        idx, obs = run.observed(target)
        observed = dict(zip(run.steps[idx].tolist(), obs.tolist()))
        for s, p, f, a, b in zip(design.steps.tolist(), pred.tolist(), flags, lo.tolist(), hi.tolist()):
            row = {"run": run.name, "step": int(s), "predicted": p, "observed": observed.get(s), "extrapolated": f}
            if interval:
                row.update(lower=None if math.isnan(a) else a, upper=None if math.isnan(b) else b)
            rows.append(row)
    return rows


POINT_COLUMNS = ("run", "model_size", "tokens", "ratio", "predicted", "observed", "extrapolated")


def predict_points(law, pts, source: str, interval: float | None = None) -> list[dict]:
    """Rows ``{run, model_size, tokens, ratio, predicted, observed, extrapolated}`` (and ``lower``/``upper`` with
    ``interval``) of a D-CPT law at the points of a table (:func:`cptlaw.data.points.read_points`), each named
    ``source:row`` for errors."""
    design = law.design_points(pts.N, pts.D, pts.r, None, labels=pts.labels)
    pred, flags, lo, hi = predict_design(law, design, [f"{source}:{i + 2}" for i in range(design.n)], interval)
    rows = [{"run": lab, "model_size": n, "tokens": d, "ratio": r, "predicted": p,
             "observed": None if math.isnan(o) else o, "extrapolated": f}
            for lab, n, d, r, p, o, f in zip(pts.labels, pts.N.tolist(), pts.D.tolist(), pts.r.tolist(),
                                             pred.tolist(), pts.loss.tolist(), flags)]
    if interval:
        for row, a, b in zip(rows, lo.tolist(), hi.tolist()):
            row.update(lower=a, upper=b)
    return rows


def extrapolation_summary(rows: list[dict]) -> str | None:
    """One line on how many predictions lie outside the fitted range, and in which inputs; None if none."""
    counts: dict[str, int] = {}
    flagged = 0
    for r in rows:
        if r.get("extrapolated"):
            flagged += 1
            for name in r["extrapolated"].split(";"):
                counts[name] = counts.get(name, 0) + 1
    if not flagged:
        return None
    detail = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return (f"{flagged} of {len(rows)} predictions lie outside the range the fit saw in: {detail} "
            f"(column 'extrapolated'); treat them as extrapolations")


def schedule_run(spec_path: str | Path, steps: int) -> Run:
    """A planned run from a YAML/JSON file: a bare schedule spec, or ``{schedule: spec, model_size: ...,
    replay_ratio: ..., tokens_per_step: ..., name: ...}``.  It covers steps 0 .. steps-1."""
    data = load_spec_file(spec_path)
    meta = {}
    name = Path(spec_path).stem
    if "schedule" in data and "kind" not in data:
        allowed = {"schedule", "model_size", "replay_ratio", "tokens_per_step", "name"}
        extra = set(data) - allowed
        if extra:
            raise SpecError(f"{spec_path}: unknown key(s) {', '.join(sorted(extra))}; valid: {', '.join(sorted(allowed))}")
        name = str(data.get("name", name))
        meta = {k: float(data[k]) for k in ("model_size", "replay_ratio", "tokens_per_step") if k in data}
        data = data["schedule"]
    if steps < 1:
        raise DataError("--steps must be >= 1")
    sched = from_spec(data, str(spec_path))
    if sched.transfer_step is not None and sched.transfer_step >= steps:
        raise SpecError(f"{spec_path}: the schedule's transfer (step {sched.transfer_step}) lies after the end of "
                        f"the run (--steps {steps}: steps 0 to {steps - 1}); the run would have no CPT step")
    run = Run.from_schedule(name, sched, steps, **meta)
    lr = run.lr
    if not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise SpecError(f"{spec_path}: the schedule gives non-finite or negative LRs")
    return run


def rows_to_csv(rows: list[dict], columns=("run", "step", "predicted", "observed", "extrapolated")) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c]) for c in columns])
    return buf.getvalue()


__all__ = ["POINT_COLUMNS", "extrapolation_flags", "predict_points", "extrapolation_summary", "prediction_steps", "predict_design",
           "predict_runs",
           "schedule_run", "rows_to_csv", "target_column"]
