"""CSV / JSONL / Parquet logs that are not in cptlaw's native format: nanoGPT-style scripts, Lightning's
``CSVLogger`` (``metrics.csv``), W&B history dumps (``scan_history`` rows, ``dr-wandb``'s
``history.jsonl``) and W&B panel exports.

Columns are named by ``--map`` (``step=iter,lr=learning_rate,loss:general=val/loss``) or recognised
(:mod:`cptlaw.ingest.tags`); the step column defaults to the first of :data:`STEP_COLUMNS` present.  Rows
may be sparse (a train row and a val row per step, as Lightning writes): each column is read where it is
filled.  A ``run`` column splits the file into runs.

A W&B panel export (``Export panel data``: ``Step``, ``<run> - <metric>``, ``<run> - <metric>__MIN``,
``__MAX``) is read run by run; W&B bucketed it (the MIN/MAX columns), so it is flagged as sampled.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..data.table import cell, numeric, read_table, text
from ..errors import DataError
from . import lightning
from .lightning import VERSION
from .tags import default_column
from .log import Log, Series

STEP_COLUMNS = ("step", "_step", "Step", "iter", "iteration", "global_step", "train/global_step",
                "trainer/global_step")
WANDB_EXPORT = re.compile(r"^(?P<run>.+?) - (?P<metric>.+?)(?P<agg>__MIN|__MAX)?$")


def read(path: str | Path, mapping: dict[str, str] | None = None) -> list[Log]:
    """The runs of a table; a folder is a Lightning CSVLogger's (each ``version_<n>/metrics.csv`` a log named
    after its version folder, see :mod:`cptlaw.ingest.lightning`)."""
    path = Path(path)
    if path.is_dir():
        files = lightning.csv_files(path)
        if not files:
            raise DataError(f"{path}: a folder, and not a Lightning CSVLogger's (no version_<n>/metrics.csv)")
        logs = []
        for f in files:
            for log in read(f, mapping):
                log.name = f.parent.name
                logs.append(log)
        return logs
    table = read_table(path, text_columns=("run",))
    if not table.columns:
        raise DataError(f"{path}: empty file")
    mapping = dict(mapping or {})
    step_col = mapping.pop("step", None) or next((c for c in STEP_COLUMNS if c in table.columns), None)
    if step_col is None or step_col not in table.columns:
        raise DataError(f"{path}: no step column ({'--map step=' + step_col + ' is not a column' if step_col else 'none of ' + ', '.join(STEP_COLUMNS)}); "
                        f"columns: {', '.join(table.columns)}. Name it with --map step=COLUMN")
    steps, bad = numeric(table.data[step_col])
    problems = [f"{path}:{table.rows[i]}: {step_col}: not an integer step: {cell(table.data[step_col], i)!r}"
                for i in np.flatnonzero(bad | (np.isfinite(steps) & ((steps < 0) | (steps != np.round(steps)))))[:20]]
    if problems:
        raise DataError(f"{path}: bad step values", problems)
    if "run" in table.columns and "run" != step_col:
        names = text(table.data["run"])
        groups = {n: np.flatnonzero(names == n) for n in dict.fromkeys(names.tolist()) if n is not None}
    else:  # (a Lightning CSVLogger's version_<n>/metrics.csv is named after its version)
        name = path.parent.name if path.name == "metrics.csv" and VERSION.match(path.parent.name) else path.stem
        groups = {name: np.arange(table.n)}
    export = [c for c in table.columns if WANDB_EXPORT.match(c)] if step_col == "Step" else []
    if export:
        return _wandb_export(path, table, steps, export)
    converted = {}
    for c in table.columns:
        if c in (step_col, "run"):
            continue
        values, bad = numeric(table.data[c])
        if bad.any():
            if c in mapping.values() or default_column(c) is not None:  # asked for, or read as the LR or a loss
                i = int(np.flatnonzero(bad)[0])
                raise DataError(f"{path}:{table.rows[i]}: {c}: not a number: {cell(table.data[c], i)!r} "
                                f"({int(bad.sum())} such cell(s) in the column)")
            continue  # a text column nobody asked for
        converted[c] = values
    logs = []
    for name, rows in groups.items():
        st = steps[rows]
        scalars = {}
        for c, values in converted.items():
            v = values[rows]
            has = ~np.isnan(v) & ~np.isnan(st)
            scalars[c] = Series(st[has].astype(np.int64), v[has], f"{path}: {c}")  # (empty: still listed)
        logs.append(Log(str(name), str(path), scalars))
    return logs


def _wandb_export(path: Path, table, steps, export: list[str]) -> list[Log]:
    runs: dict[str, dict[str, Series]] = {}
    for c in export:
        m = WANDB_EXPORT.match(c)
        if m.group("agg"):
            continue
        values, _ = numeric(table.data[c])
        has = ~np.isnan(values) & ~np.isnan(steps)
        runs.setdefault(m.group("run"), {})[m.group("metric")] = Series(steps[has].astype(np.int64), values[has],
                                                                         f"{path}: {c}")
    sampled = any(WANDB_EXPORT.match(c).group("agg") for c in export)
    note = (f"warning: {path}: a W&B panel export{', bucketed (it has __MIN/__MAX columns)' if sampled else ''}: "
            f"W&B downsamples panel data; for every point export with run.scan_history() or the run's history "
            f"artifact")
    return [Log(name, str(path), scalars, notes=[note]) for name, scalars in runs.items()]
