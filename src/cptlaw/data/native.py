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
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, SpecError
from ..io import atomic_write_text
from ..limits import MAX_LOSS, MAX_LR, MAX_STEPS, hint
from ..schedules import Schedule, from_spec, load_spec_file
from .curves import META_COLUMNS, Run, RunSet
from .table import categories, cell, numeric, read_table

FORMAT_VERSION = 1
REQUIRED = ("run", "step")


def load_schedules(path: str | Path, data: dict | None = None) -> dict[str, tuple[Schedule, int]]:
    """Read a schedule side file: run name -> (schedule, first_step).  ``data``: its content, when the caller
    has already loaded it (``load_spec_file``)."""
    data = load_spec_file(path) if data is None else data
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


def read_runs(path: str | Path, schedules: str | Path | None = None, need_lr: bool = True) -> RunSet:
    """Read and validate a native-format file; raise :class:`DataError` listing every problem found.

    The file is read by pyarrow (:mod:`cptlaw.data.table`) and checked column by column with numpy.
    ``need_lr=False`` (the D-CPT law, which does not use the LR) accepts runs without LR values; their LR is
    NaN.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    side_path = Path(schedules) if schedules else _side_file(path)
    side = load_schedules(side_path) if side_path else {}
    table = read_table(path)
    if not table.columns or table.n == 0:
        raise DataError(f"{path}: the file is empty (no header or no data rows)")
    columns, rows, n = table.columns, table.rows, table.n
    problems = Problems(path, rows)
    loss_cols = [c for c in columns if c.startswith("loss:")]
    missing = [c for c in REQUIRED if c not in columns] + ([] if loss_cols else ["loss:<name>"])
    if missing:
        raise DataError(f"{path}: missing required column(s)", [f"{path}:1: {c}: missing column" for c in missing])
    for c in loss_cols:
        if c == "loss:":
            problems.header(c, "a loss column needs a name, e.g. loss:general")

    # each arrow column is dropped once converted: the table and its numpy copies do not peak together
    codes, names = categories(table.pop("run"))
    ok = codes >= 0
    problems.at(~ok, "run", "empty run name")
    col = table.pop("step")
    step, bad = numeric(col)
    step_bad = bad | ~np.isfinite(step) & ~np.isnan(step) | (step != np.round(step)) & np.isfinite(step)
    problems.at(step_bad | np.isnan(step) & ~bad, "step", "not an integer", col)
    problems.at(~step_bad & (step < 0), "step", "a step must be >= 0", col)
    ok &= ~step_bad & np.isfinite(step) & (step >= 0)
    in_side = np.isin(codes, [i for i, nm in enumerate(names) if nm in side]) if side else np.zeros(n, bool)

    lr = np.full(n, np.nan)
    if "lr" in columns:
        col = table.pop("lr")
        lr, bad = numeric(col)
        problems.at(bad, "lr", "not a number", col)
        problems.at(np.isinf(lr), "lr", "not finite", col)
        problems.at(lr < 0, "lr", "negative learning rate", col)
        problems.at(lr > MAX_LR, "lr", f"a learning rate above {MAX_LR:g} (a typo?)", col)
        problems.at(~np.isnan(lr) & in_side, "lr", "this run also has a schedule in the side file; give one or the other")
    if need_lr:
        problems.at(np.isnan(lr) & ~in_side & ok & ~(problems.flagged("lr")), "lr",
                    "missing learning rate (give an lr value or a schedule side file)")

    phase = np.zeros(n, bool)  # True = cpt
    if "phase" in columns:
        col = table.pop("phase")
        ph, labels = categories(col, lower=True)
        known = [i for i, v in enumerate(labels) if v in ("pt", "cpt")]
        problems.at((ph >= 0) & ~np.isin(ph, known), "phase", "must be 'pt' or 'cpt'", col)
        phase = np.isin(ph, [i for i, v in enumerate(labels) if v == "cpt"])

    losses = {}
    for c in loss_cols:
        losses[c], _ = problems.number(table.pop(c), c, lambda v: v > 0, "a loss must be finite and > 0", MAX_LOSS,
                                       f"a loss above {MAX_LOSS:g} nats: is this a perplexity? give the log-loss "
                                       f"(nats), not exp of it")
    meta = {}
    for c in META_COLUMNS:
        if c in columns:
            unit = c == "replay_ratio"
            meta[c], _ = problems.number(table.pop(c), c, (lambda v: (v >= 0) & (v <= 1)) if unit else (lambda v: v > 0),
                                         "must be in [0, 1]" if unit else "must be finite and > 0")

    out = []
    for name, idx in _groups(codes, names, ok):
        rr = _RunRows(name, idx, step[idx].astype(np.int64), lr[idx], phase[idx],
                      {c: v[idx] for c, v in losses.items()}, {c: v[idx] for c, v in meta.items()})
        run = _assemble(path, rr, rows, side.get(name), problems, need_lr)
        if run is not None:
            out.append(run)
    for name in sorted(set(side) - set(names)):
        problems.add(f"{side_path}: run {name!r} has a schedule but no rows in {path}")
    problems.raise_if_any(f"{path}: {{}} problem(s) in the data")
    return RunSet(out, source=str(path))


class Problems:
    """Every problem found, as ``file:row: column: message``, in row order; raised together."""

    MAX = 10_000  # kept (the message shows the first 20); a broken 2M-row file must not build 2M strings

    def __init__(self, path: Path, rows: np.ndarray):
        self.path, self.rows = path, rows
        self.items: list[tuple[int, str]] = []
        self._flags: dict[str, np.ndarray] = {}
        self.count = 0

    def add(self, message: str, row: int = 0) -> None:
        self.count += 1
        if len(self.items) < self.MAX:
            self.items.append((row, message))

    def header(self, column: str, message: str) -> None:
        self.add(f"{self.path}:1: {column}: {message}", 1)

    def at(self, mask: np.ndarray, column: str, message: str, raw=None) -> None:
        """One problem per row where ``mask`` holds (quoting the cell when ``raw`` is given)."""
        mask = np.asarray(mask, bool)
        self._flags[column] = self._flags.get(column, np.zeros(mask.size, bool)) | mask
        for i in np.flatnonzero(mask)[: self.MAX]:
            value = cell(raw, int(i)) if raw is not None else None
            got = f", got {value!r}" if raw is not None else ""
            if isinstance(value, str) and "\n" in value:
                got += " (a quote that is never closed?)"
            self.add(f"{self.path}:{self.rows[i]}: {column}: {message}{got}", int(self.rows[i]))
        self.count += max(0, int(mask.sum()) - self.MAX)

    def number(self, col, column: str, ok, rule: str, maximum: float | None = None,
               too_big: str = "") -> tuple[np.ndarray, np.ndarray]:
        """A numeric column checked cell by cell: text that is not a number, a value that is not finite or
        breaks ``ok`` (``rule``), and one above ``maximum`` (``too_big``) are problems.  Returns (clean, raw):
        the values with every such cell set to NaN, and the values as read (NaN = empty cell)."""
        raw, bad = numeric(col)
        with np.errstate(invalid="ignore"):
            good = np.isfinite(raw) & ok(raw)
        self.at(bad, column, "not a number", col)
        self.at(~bad & ~np.isnan(raw) & ~good, column, rule, col)
        if maximum is not None:
            self.at(good & (raw > maximum), column, too_big, col)
            good &= raw <= maximum
        return np.where(good, raw, np.nan), raw

    def flagged(self, column: str) -> np.ndarray:
        return self._flags.get(column, np.zeros(self.rows.size, bool))

    def raise_if_any(self, message: str) -> None:
        if self.count:
            lines = [m for _, m in sorted(self.items, key=lambda t: t[0])]
            if self.count > len(lines):
                lines.append(f"... {self.count - len(lines)} more not listed")
            raise DataError(message.format(self.count), lines)


def _groups(codes: np.ndarray, names: list[str], ok: np.ndarray):
    """(run name, row indices in file order) for each run, in order of first appearance."""
    valid = np.flatnonzero(ok)
    code = codes[valid]
    sort = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[sort], np.arange(len(names) + 1))
    for c, nm in enumerate(names):
        if bounds[c + 1] > bounds[c]:
            yield nm, valid[sort[bounds[c]:bounds[c + 1]]]


@dataclass
class _RunRows:
    name: str
    idx: np.ndarray  # indices into the table
    steps: np.ndarray
    lr: np.ndarray
    cpt: np.ndarray
    losses: dict[str, np.ndarray]
    meta: dict[str, np.ndarray]


def _assemble(path: Path, rr: _RunRows, rows: np.ndarray, side, problems: Problems, need_lr: bool) -> Run | None:
    """One run from its rows: order, phases and constants checked, then the dense LR (given or from its spec)."""
    name, steps = rr.name, rr.steps
    where = rows[rr.idx]
    d = np.diff(steps)
    for i in np.flatnonzero(d <= 0):
        kind = "duplicated" if d[i] == 0 else "decreasing"
        problems.add(f"{path}:{where[i + 1]}: step: {kind} step {steps[i + 1]} after {steps[i]} in run {name!r}",
                     int(where[i + 1]))
    cpt_rows = np.flatnonzero(rr.cpt)
    if cpt_rows.size:
        late_pt = np.flatnonzero(~rr.cpt[cpt_rows[0]:]) + cpt_rows[0]
        for i in late_pt:
            problems.add(f"{path}:{where[i]}: phase: a 'pt' row after a 'cpt' row in run {name!r}", int(where[i]))
    meta = {}
    for c, v in rr.meta.items():
        given = np.flatnonzero(~np.isnan(v))
        if given.size:
            change = np.flatnonzero(v[given] != v[given[0]])
            if change.size:
                i = given[change[0]]
                problems.add(f"{path}:{where[i]}: {c}: changes within run {name!r} ({v[given[0]]!r} -> {v[i]!r}); "
                             f"it must be constant per run", int(where[i]))
            meta[c] = float(v[given[0]])
    if problems.count:
        return None  # the run is not assembled from rows already known to be wrong
    if side is not None:
        schedule, first = side
        if steps[0] < first:
            problems.add(f"{path}:{where[0]}: step: step {steps[0]} precedes the schedule's first_step {first}")
            return None
        if steps[-1] - first + 1 > MAX_STEPS:
            problems.add(f"{path}:{where[-1]}: step: run {name!r} would span {steps[-1] - first + 1} steps from "
                         f"first_step {first}; at most {MAX_STEPS} (a mistyped step?; {hint('MAX_STEPS')})")
            return None
        dense = np.arange(first, steps[-1] + 1)
        lr = np.asarray(schedule(dense), dtype=np.float64)
        if not np.all(np.isfinite(lr)) or np.any(lr < 0):
            problems.add(f"{path}: run {name!r}: the schedule gives non-finite or negative LRs")
            return None
        transfer_step = schedule.transfer_step
        if transfer_step is None and cpt_rows.size:
            transfer_step = int(steps[cpt_rows[0]])
        if transfer_step is not None and cpt_rows.size:
            bad = np.flatnonzero(rr.cpt != (steps >= transfer_step))
            if bad.size:
                i = bad[0]
                problems.add(f"{path}:{where[i]}: phase: '{'cpt' if rr.cpt[i] else 'pt'}' disagrees with the "
                             f"schedule's transfer step {transfer_step}")
                return None
        transfer = None if transfer_step is None or transfer_step - first >= dense.size else transfer_step - first
        index_of_row = steps - first
    elif np.isnan(rr.lr).any() and need_lr:
        return None  # already reported row by row
    else:
        if np.isnan(rr.lr).all() and not need_lr:  # no LR at all (D-CPT): steps need not be dense
            if steps[-1] - steps[0] + 1 > MAX_STEPS:
                problems.add(f"{path}:{where[-1]}: step: run {name!r} spans more than {MAX_STEPS} steps "
                             f"({hint('MAX_STEPS')})")
                return None
            dense = np.arange(steps[0], steps[-1] + 1)
            lr = np.full(dense.size, np.nan)
            index_of_row = steps - steps[0]
        else:
            gaps = np.flatnonzero(d != 1)
            if gaps.size:
                i = int(gaps[0]) + 1
                problems.add(f"{path}:{where[i]}: lr: gap in the dense LR of run {name!r}: step {steps[i - 1]} is "
                             f"followed by {steps[i]} (give every step, or a schedule side file)", int(where[i]))
                return None
            dense, lr, index_of_row = steps, rr.lr, np.arange(steps.size)
        transfer = int(index_of_row[cpt_rows[0]]) if cpt_rows.size else None
    if transfer is not None and transfer <= 0:
        problems.add(f"{path}:{where[cpt_rows[0]] if cpt_rows.size else where[0]}: phase: run {name!r} starts "
                     f"in CPT: a CPT run must carry its PT prefix (its PT steps as 'pt' rows, or a schedule side "
                     f"file whose first_step precedes the transfer)")
        return None
    losses = {}
    for col, v in rr.losses.items():
        keep = np.flatnonzero(~np.isnan(v))
        if keep.size:
            losses[col] = (index_of_row[keep].astype(np.int64), v[keep])
    return Run(name, dense, lr, transfer=transfer, losses=losses, source=str(path), **meta)


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
            lr = "" if math.isnan(r.lr[i]) else repr(float(r.lr[i]))
            w.writerow([r.name, int(r.steps[i]), phase, lr, *losses, *meta])
    return buf.getvalue()


def unreadable(run: Run) -> list[str]:
    """What in a run the native reader would refuse (:func:`read_runs`'s row rules): cptlaw never writes a file
    that its next command refuses (e.g. a step moved below 0 by ``ingest --lr-shift -1``)."""
    out = []
    if run.steps.size and int(run.steps[0]) < 0:
        out.append(f"run {run.name!r}: step {int(run.steps[0])}: a step must be >= 0")
    bad_lr = np.isinf(run.lr) | (run.lr < 0) | (run.lr > MAX_LR)  # (NaN is no LR: a blank, as it is read)
    if bad_lr.any():
        out.append(f"run {run.name!r}: step {int(run.steps[np.argmax(bad_lr)])}: lr "
                   f"{float(run.lr[np.argmax(bad_lr)])!r} is not a learning rate in [0, {MAX_LR:g}]")
    for c, (idx, v) in run.losses.items():
        bad = ~np.isfinite(v) | (v <= 0) | (v > MAX_LOSS)
        if bad.any():
            i = int(np.argmax(bad))
            out.append(f"run {run.name!r}: step {int(run.steps[idx[i]])}: {c} = {float(v[i])!r} is not a loss in "
                       f"(0, {MAX_LOSS:g}] nats (a perplexity?)")
    return out


def write_runs(runs: RunSet, path: str | Path, force: bool = False) -> Path:
    """Write runs as a native-format CSV, atomically; refused (DataError) when the native reader would refuse
    the file (:func:`unreadable`)."""
    problems = [p for r in runs for p in unreadable(r)]
    if problems:
        raise DataError(f"{path}: not written: cptlaw would refuse to read it back", problems)
    return atomic_write_text(path, runs_to_csv(runs), force=force)
