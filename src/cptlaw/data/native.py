"""cptlaw native data format v1: reader, validator and writer.

One row per training step of a run (CSV, JSONL or Parquet):

=================  =========================================================================================
column             meaning
=================  =========================================================================================
``run``            run name (required)
``step``           integer optimizer step (required); strictly increasing within a run
``lr``             LR applied at that step (required unless the run's schedule is given in a side file);
                   rows must then be dense: consecutive steps
``phase``          ``pt`` or ``cpt`` (optional, default ``pt``); a CPT run carries its PT prefix as ``pt`` rows
``loss:<name>``    validation loss on set <name> (at least one such column); empty where not evaluated
``model_size``     non-embedding parameters (optional, constant per run)
``tokens_per_step``  tokens per optimizer step (optional, constant per run)
``replay_ratio``   share of PT data in CPT batches, 0..1 (optional, constant per run)
=================  =========================================================================================

Schedule side file (``<data>.schedules.yaml`` next to the data, or passed explicitly): a mapping from run
name to a schedule spec (see :mod:`cptlaw.schedules.spec`), or to ``{schedule: <spec>, first_step: <int>}``.
Such a run needs no ``lr`` column; its dense LR is the spec evaluated at every step from ``first_step``
(default 0) to its last row, and its rows may be sparse (evaluation steps only).

Every problem found is reported as ``<file>:<row>: <column>: <message>`` (row = line number for CSV and
JSONL, header = line 1; 1-based record number for Parquet).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, SpecError
from ..schedules import Schedule, from_spec, load_spec_file
from .curves import META_COLUMNS, Run, RunSet

FORMAT_VERSION = 1
REQUIRED = ("run", "step")


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """(columns, [(row number, record)]) for CSV, JSONL or Parquet; values are kept as read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise DataError(f"{path}: reading Parquet needs pyarrow: pip install 'cptlaw[parquet]'") from None
            table = pq.read_table(path)
            return list(table.column_names), [(i + 1, r) for i, r in enumerate(table.to_pylist())]
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (expected CSV, JSONL or Parquet)") from None
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises its own types for corrupt files
        raise DataError(f"{path}: cannot read as Parquet: {exc}") from None
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows, columns, problems = [], {}, []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{lineno}: not valid JSON: {exc.msg}")
                continue
            if not isinstance(rec, dict):
                problems.append(f"{path}:{lineno}: each line must be a JSON object")
                continue
            columns.update(dict.fromkeys(rec))
            rows.append((lineno, rec))
        if problems:
            raise DataError(f"{path}: malformed JSONL", problems)
        return list(columns), rows
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = columns
    rows = []
    for rec in reader:
        if None in rec:
            raise DataError(f"{path}:{reader.line_num}: row has more fields than the header")
        rows.append((reader.line_num, rec))
    return columns, rows


def _blank(v) -> bool:
    """An empty cell: a missing value or blank text (a NaN *number* is a value, and is rejected later)."""
    return v is None or (isinstance(v, str) and v.strip() == "")


def _number(v) -> float:
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, (int, float)):
        return float(v)
    return float(str(v).strip())


def _cell(rec: dict, col: str, where: str, problems: list[str], ok, rule: str) -> float | None:
    """A numeric cell: None if empty; a problem is recorded (and None returned) if it is not a finite number
    satisfying ``ok``."""
    v = rec.get(col)
    if _blank(v):
        return None
    try:
        x = _number(v)
    except (TypeError, ValueError):
        problems.append(f"{where}: {col}: not a number: {v!r}")
        return None
    if not math.isfinite(x) or not ok(x):
        problems.append(f"{where}: {col}: {rule}, got {v!r}")
        return None
    return x


@dataclass
class _RunRows:
    rows: list[int] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    lr: list[float | None] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    losses: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    meta: dict[str, tuple[int, float]] = field(default_factory=dict)


def load_schedules(path: str | Path) -> dict[str, tuple[Schedule, int]]:
    """Read a schedule side file: run name -> (schedule, first_step)."""
    data = load_spec_file(path)
    out = {}
    for name, entry in data.items():
        where = f"{path}: run {name!r}"
        first = 0
        if isinstance(entry, dict) and "schedule" in entry and "kind" not in entry:
            extra = set(entry) - {"schedule", "first_step"}
            if extra:
                raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; valid: schedule, first_step")
            first = entry.get("first_step", 0)
            if not isinstance(first, int) or isinstance(first, bool):
                raise SpecError(f"{where}: first_step must be an integer")
            entry = entry["schedule"]
        out[str(name)] = (from_spec(entry, where), first)
    return out


def _side_file(path: Path) -> Path | None:
    for ext in (".schedules.yaml", ".schedules.yml", ".schedules.json"):
        cand = path.with_name(path.name.rsplit(".", 1)[0] + ext)
        if cand.exists():
            return cand
    return None


def read_runs(path: str | Path, schedules: str | Path | None = None) -> RunSet:
    """Read and validate a native-format file; raise :class:`DataError` listing every problem found."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    side_path = Path(schedules) if schedules else _side_file(path)
    side = load_schedules(side_path) if side_path else {}
    columns, rows = _read_rows(path)
    if not columns or not rows:
        raise DataError(f"{path}: the file is empty (no header or no data rows)")
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in columns]
    loss_cols = [c for c in columns if c.startswith("loss:")]
    if not loss_cols:
        missing.append("loss:<name>")
    has_lr = "lr" in columns
    for c in missing:
        problems.append(f"{path}:1: {c}: missing column")
    if problems:
        raise DataError(f"{path}: missing required column(s)", problems)
    for c in loss_cols:
        if c == "loss:":
            problems.append(f"{path}:1: {c}: a loss column needs a name, e.g. loss:general")

    runs: dict[str, _RunRows] = {}
    for rowno, rec in rows:
        where = f"{path}:{rowno}"
        name = rec.get("run")
        if _blank(name):
            problems.append(f"{where}: run: empty run name")
            continue
        name = str(name).strip()
        rr = runs.setdefault(name, _RunRows())
        try:
            step_f = _number(rec.get("step"))
            if not math.isfinite(step_f) or step_f != int(step_f):
                raise ValueError
            step = int(step_f)
        except (TypeError, ValueError):
            problems.append(f"{where}: step: not an integer: {rec.get('step')!r}")
            continue
        lr = None
        raw_lr = rec.get("lr") if has_lr else None
        if not _blank(raw_lr):
            try:
                lr = _number(raw_lr)
            except (TypeError, ValueError):
                problems.append(f"{where}: lr: not a number: {raw_lr!r}")
            else:
                if not math.isfinite(lr):
                    problems.append(f"{where}: lr: not finite: {raw_lr!r}")
                    lr = None
                elif lr < 0:
                    problems.append(f"{where}: lr: negative learning rate {lr!r}")
                    lr = None
        elif name not in side:
            problems.append(f"{where}: lr: missing learning rate (give an lr value or a schedule side file)")
        phase = rec.get("phase")
        phase = "pt" if _blank(phase) else str(phase).strip().lower()
        if phase not in ("pt", "cpt"):
            problems.append(f"{where}: phase: must be 'pt' or 'cpt', got {rec.get('phase')!r}")
            phase = "pt"
        if rr.steps:
            if step == rr.steps[-1]:
                problems.append(f"{where}: step: duplicated step {step} in run {name!r}")
                continue
            if step < rr.steps[-1]:
                problems.append(f"{where}: step: decreasing step {step} after {rr.steps[-1]} in run {name!r}")
                continue
            if phase == "pt" and rr.phase[-1] == "cpt":
                problems.append(f"{where}: phase: a 'pt' row after a 'cpt' row in run {name!r}")
        for c in loss_cols:
            x = _cell(rec, c, where, problems, lambda v: v > 0, "a loss must be finite and > 0")
            if x is not None:
                rr.losses.setdefault(c, []).append((len(rr.steps), x))
        for c in META_COLUMNS:
            in_range = (lambda v: 0 <= v <= 1) if c == "replay_ratio" else (lambda v: v > 0)
            rule = "must be in [0, 1]" if c == "replay_ratio" else "must be finite and > 0"
            x = _cell(rec, c, where, problems, in_range, rule)
            if x is None:
                continue
            if c in rr.meta and rr.meta[c][1] != x:
                problems.append(f"{where}: {c}: changes within run {name!r} ({rr.meta[c][1]!r} -> {x!r}); "
                                f"it must be constant per run")
            else:
                rr.meta.setdefault(c, (rowno, x))
        rr.rows.append(rowno)
        rr.steps.append(step)
        rr.lr.append(lr)
        rr.phase.append(phase)

    out = []
    for name, rr in runs.items():
        if not rr.steps:
            continue
        try:
            out.append(_assemble(path, name, rr, side.get(name), problems))
        except (SpecError, ValueError) as exc:
            problems.append(f"{path}: run {name!r}: {exc}")
    unknown = sorted(set(side) - set(runs))
    for name in unknown:
        problems.append(f"{side_path}: run {name!r} has a schedule but no rows in {path}")
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s) in the data", problems)
    return RunSet([r for r in out if r is not None], source=str(path))


def _assemble(path: Path, name: str, rr: _RunRows, side, problems: list[str]) -> Run | None:
    steps = np.asarray(rr.steps, dtype=np.int64)
    cpt_rows = [i for i, p in enumerate(rr.phase) if p == "cpt"]
    if side is not None:
        schedule, first = side
        if any(v is not None for v in rr.lr):
            problems.append(f"{path}:{rr.rows[0]}: lr: run {name!r} has both lr values and a schedule side file")
            return None
        if steps[0] < first:
            problems.append(f"{path}:{rr.rows[0]}: step: step {steps[0]} precedes the schedule's first_step {first}")
            return None
        dense = np.arange(first, steps[-1] + 1)
        lr = np.asarray(schedule(dense), dtype=np.float64)
        if not np.all(np.isfinite(lr)) or np.any(lr < 0):
            problems.append(f"{path}: run {name!r}: the schedule gives non-finite or negative LRs")
            return None
        transfer_step = schedule.transfer_step
        if transfer_step is None and cpt_rows:
            transfer_step = int(steps[cpt_rows[0]])
        if transfer_step is not None and cpt_rows:
            bad = [i for i in range(len(steps)) if (rr.phase[i] == "cpt") != (steps[i] >= transfer_step)]
            if bad:
                i = bad[0]
                problems.append(f"{path}:{rr.rows[i]}: phase: '{rr.phase[i]}' disagrees with the schedule's "
                                f"transfer step {transfer_step}")
                return None
        transfer = None if transfer_step is None or transfer_step - first >= dense.size else transfer_step - first
        index_of_row = steps - first
    else:
        if any(v is None for v in rr.lr):
            return None  # already reported row by row
        gaps = np.flatnonzero(np.diff(steps) != 1)
        if gaps.size:
            i = int(gaps[0]) + 1
            problems.append(f"{path}:{rr.rows[i]}: lr: gap in the dense LR of run {name!r}: step {steps[i - 1]} "
                            f"is followed by {steps[i]} (give every step, or a schedule side file)")
            return None
        dense, lr = steps, np.asarray(rr.lr, dtype=np.float64)
        transfer = cpt_rows[0] if cpt_rows else None
        index_of_row = np.arange(steps.size)
    losses = {}
    for col, pairs in rr.losses.items():
        idx = np.asarray([index_of_row[i] for i, _ in pairs], dtype=np.int64)
        losses[col] = (idx, np.asarray([v for _, v in pairs], dtype=np.float64))
    meta = {k: v for k, (_, v) in rr.meta.items()}
    return Run(name, dense, lr, transfer=transfer, losses=losses, source=str(path), **meta)


def default_file_mode() -> int:
    """0666 minus the process umask: the mode ``open()`` would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + rename); refuse to overwrite unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; use --force (or force=True in Python) to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, default_file_mode())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def runs_to_csv(runs: RunSet) -> str:
    """Serialise runs in native format v1 (CSV, dense rows)."""
    loss_cols = sorted({c for r in runs for c in r.losses})
    meta_cols = [c for c in META_COLUMNS if any(getattr(r, c) is not None for r in runs)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "step", "phase", "lr", *loss_cols, *meta_cols])
    for r in runs:
        cols = {}
        for c in loss_cols:
            col = np.full(r.steps.size, np.nan)
            if c in r.losses:
                col[r.losses[c][0]] = r.losses[c][1]
            cols[c] = col
        meta = [("" if getattr(r, c) is None else repr(float(getattr(r, c)))) for c in meta_cols]
        for i in range(r.steps.size):
            phase = "cpt" if r.transfer is not None and i >= r.transfer else "pt"
            losses = ["" if math.isnan(cols[c][i]) else repr(float(cols[c][i])) for c in loss_cols]
            w.writerow([r.name, int(r.steps[i]), phase, repr(float(r.lr[i])), *losses, *meta])
    return buf.getvalue()


def write_runs(runs: RunSet, path: str | Path, force: bool = False) -> Path:
    """Write runs as a native-format CSV, atomically."""
    return atomic_write_text(path, runs_to_csv(runs), force=force)
