"""Points tables for the D-CPT law: one row per (model size, CPT tokens, mixture ratio) measurement.

Columns: ``model_size`` (non-embedding parameters), ``tokens`` (CPT tokens D), ``ratio`` (the mixture share r
of the corpus whose loss is given, 0..1) and ``loss``; optional ``run`` (a label).  CSV, JSONL or Parquet.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .native import _blank, _cell, _read_rows

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
    """True if the file's columns are those of a points table (and it has no ``lr``/``step`` columns)."""
    try:
        columns, _ = _read_rows(Path(path))
    except DataError:
        return False
    return all(c in columns for c in POINT_COLUMNS[:3]) and "step" not in columns


def read_points(path: str | Path, need_loss: bool = True) -> Points:
    path = Path(path)
    columns, rows = _read_rows(path)
    if not columns or not rows:
        raise DataError(f"{path}: the file is empty (no header or no data rows)")
    required = POINT_COLUMNS if need_loss else POINT_COLUMNS[:3]
    missing = [c for c in required if c not in columns]
    if missing:
        raise DataError(f"{path}: missing required column(s)", [f"{path}:1: {c}: missing column" for c in missing])
    problems, vals, labels = [], {c: [] for c in POINT_COLUMNS}, []
    for rowno, rec in rows:
        where = f"{path}:{rowno}"
        ok = True
        for c in required:
            rule = "must be in [0, 1]" if c == "ratio" else "must be finite and > 0"
            x = _cell(rec, c, where, problems, (lambda v: 0 <= v <= 1) if c == "ratio" else (lambda v: v > 0), rule)
            if x is None:
                if _blank(rec.get(c)):
                    problems.append(f"{where}: {c}: empty cell")
                ok = False
                continue
            vals[c].append(x)
        if not need_loss:
            v = _cell(rec, "loss", where, problems, lambda x: x > 0, "a loss must be finite and > 0")
            vals["loss"].append(math.nan if v is None else v)
        if ok:
            labels.append("" if _blank(rec.get("run")) else str(rec.get("run")))
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s) in the points table", problems)
    return Points(*(np.asarray(vals[c], dtype=np.float64) for c in POINT_COLUMNS), labels, source=str(path))
