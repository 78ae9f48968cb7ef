"""Predictions of a saved fit: for runs with data, for a planned schedule, or for D-CPT points."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .data import Run, RunSet, target_column
from .errors import DataError, SpecError
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


def predict_runs(fit, runs: RunSet, names: list[str] | None = None, every: int | None = None) -> list[dict]:
    """Rows ``{run, step, predicted, observed}`` (observed is None where the data has no value)."""
    law = fit.law()
    target = fit.target
    rows = []
    for run in runs.select(names):
        steps = prediction_steps(run, target, every)
        pred = law.predict(run, steps)
        idx, obs = run.observed(target)
        observed = dict(zip(run.steps[idx].tolist(), obs.tolist()))
        for s, p in zip(steps.tolist(), pred.tolist()):
            if not math.isnan(p):
                rows.append({"run": run.name, "step": int(s), "predicted": p, "observed": observed.get(s)})
    return rows


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
    run = Run.from_schedule(name, sched, steps, **meta)
    lr = run.lr
    if not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise SpecError(f"{spec_path}: the schedule gives non-finite or negative LRs")
    return run


def rows_to_csv(rows: list[dict], columns=("run", "step", "predicted", "observed")) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c]) for c in columns])
    return buf.getvalue()


__all__ = ["prediction_steps", "predict_runs", "schedule_run", "rows_to_csv", "target_column"]
