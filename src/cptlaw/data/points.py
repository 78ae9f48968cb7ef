"""Points tables for the D-CPT law: one row per (model size, CPT tokens, mixture ratio) measurement.

Columns: ``model_size`` (non-embedding parameters), ``tokens`` (CPT tokens D), ``ratio`` (the mixture share r
of the corpus whose loss is given, 0..1) and ``loss``; optional ``run`` (a label).  CSV, JSONL or Parquet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..limits import MAX_LOSS
from .native import Problems
from .table import header, read_table, text

POINT_COLUMNS = ("model_size", "tokens", "ratio", "loss")


@dataclass
class Points:
    N: np.ndarray
    D: np.ndarray
    r: np.ndarray
    loss: np.ndarray
    labels: list[str]
    source: str = ""

    def data_hash(self) -> str:
        return "sha256:" + hashlib.sha256(np.concatenate([self.N, self.D, self.r, self.loss]).tobytes()).hexdigest()


def is_points_file(path: str | Path) -> bool:
    """True if the file's columns are those of a points table (and it has no ``step`` column); reads the header
    only."""
    columns = header(path)
    return all(c in columns for c in POINT_COLUMNS[:3]) and "step" not in columns


def read_points(path: str | Path, need_loss: bool = True) -> Points:
    path = Path(path)
    table = read_table(path, text_columns=("run",))
    if not table.columns or table.n == 0:
        raise DataError(f"{path}: the file is empty (no header or no data rows)")
    required = POINT_COLUMNS if need_loss else POINT_COLUMNS[:3]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing required column(s)", [f"{path}:1: {c}: missing column" for c in missing])
    problems = Problems(path, table.rows)
    vals = {}
    for c in POINT_COLUMNS:
        if c not in table.columns:
            vals[c] = np.full(table.n, np.nan)
            continue
        unit = c == "ratio"
        clean, raw = problems.number(table.data[c], c, (lambda v: (v >= 0) & (v <= 1)) if unit else (lambda v: v > 0),
                                     "must be in [0, 1]" if unit else "must be finite and > 0",
                                     MAX_LOSS if c == "loss" else None,
                                     f"a loss above {MAX_LOSS:g} nats: is this a perplexity?")
        if c in required:
            problems.at(np.isnan(raw) & ~problems.flagged(c), c, "empty cell")
        vals[c] = clean
    problems.raise_if_any(f"{path}: {{}} problem(s) in the points table")
    labels = ([str(x) if x is not None else "" for x in text(table.data["run"])] if "run" in table.columns
              else [""] * table.n)
    return Points(*(np.asarray(vals[c], dtype=np.float64) for c in POINT_COLUMNS), labels, source=str(path))
