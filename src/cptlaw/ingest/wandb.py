"""Weights & Biases run folders (``wandb/run-*/run-<id>.wandb``, offline or online), every point kept.

Every W&B run, online or offline, writes its records to a local ``run-<id>.wandb`` file: the full history, not
the 500 rows that ``Api().run(...).history()`` samples (wandb#1783).  The file is a LevelDB-style log: a 7-byte
header (``:W&B``, the magic 0xBEE1, the version 0), then 32 KiB blocks of chunks ``uint32 masked CRC32C |
uint16 length | uint8 type (1 full, 2 first, 3 middle, 4 last)``, a record never starting within a block's last
6 bytes.  The records are W&B's own protobuf ``Record`` (``wandb.proto.wandb_internal_pb2``, the C ``upb``
parser), so ``pip install "cptlaw[wandb]"``; the framing is done here, as W&B's SDK (0.31) no longer reads
these files in Python (its Go core does: ``wandb leet inspect --json`` prints the same records, 12x slower).
CRCs are not verified.  A file cut off inside its last record (a run that was killed) is read up to there,
with a note; a record that does not parse is an error naming the file and the byte.

**Steps.**  A history row's step is W&B's ``_step``: the ``step=`` the caller passed, or W&B's own counter.
When the run declared a step metric (``define_metric("*", step_metric="train/global_step")``, as HF's
``WandbCallback`` does; Lightning's logger uses ``trainer/global_step``), a tag is read against that metric,
as W&B plots it: the row's value, or the last one logged (``step_sync``).  For HF ``transformers`` runs (the
TrainingArguments in the run's config) the step is ``global_step`` (``step_base = 1``, as in
:mod:`cptlaw.ingest.hf`); otherwise it is taken as the 0-based update index.  Config keys ``model_size``,
``tokens_per_step`` and ``replay_ratio`` become the run's metadata.

**Runs and resumes.**  Each run id is one log.  A resumed W&B run (``resume="allow"``) writes a new folder with
the same id; its sessions are read in order of their start time, and a session that starts at or before the
previous one's last step marks a restart (the later write wins, :func:`~cptlaw.ingest.log.supersede`).
``latest-run`` (a link to a run folder) is not read twice.
"""

from __future__ import annotations

import fnmatch
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CptlawError, DataError
from .hf import tracked_log
from .log import Log, Points, join_sessions

MAGIC = b":W&B"
HEADER = 7  # ':W&B', uint16 0xBEE1, uint8 version
BLOCK = 32 * 1024
CHUNK = struct.Struct("<IHB")  # masked CRC32C, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _record_class():
    try:
        from wandb.proto.wandb_internal_pb2 import Record
    except ImportError:
        raise CptlawError('reading W&B run files needs wandb: pip install "cptlaw[wandb]"') from None
    return Record


def records(path: Path, notes: list[str]):
    """(byte offset, serialized Record) of each record of a ``.wandb`` file, in write order; a file that ends
    inside a record adds a note."""
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise DataError(f"{path}: not a W&B run file (it does not start with ':W&B')")
    n, pos = len(buf), HEADER
    parts, start = [], None
    while pos < n:
        left = BLOCK - pos % BLOCK
        if left < CHUNK.size:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        if pos + CHUNK.size > n:
            break
        _, length, kind = CHUNK.unpack_from(buf, pos)
        begin, end = pos + CHUNK.size, pos + CHUNK.size + length
        if kind == 0 and length == 0:  # zero padding (a block ended early)
            pos = begin
            continue
        if end > n:
            break
        if kind == FULL:
            yield pos, buf[begin:end]
        elif kind == FIRST:
            parts, start = [buf[begin:end]], pos
        elif kind in (MIDDLE, LAST) and start is not None:
            parts.append(buf[begin:end])
            if kind == LAST:
                yield start, b"".join(parts)
                parts, start = [], None
        else:
            raise DataError(f"{path}: byte {pos}: not a W&B record chunk (type {kind}); the file is damaged")
        pos = end
    if pos < n or start is not None:
        notes.append(f"{path}: the file ends inside a record at byte {start if start is not None else pos} (a run "
                     f"that was killed, or a copy cut short); read up to there")


@dataclass
class Session:
    """What one ``.wandb`` file holds."""

    path: Path
    run_id: str = ""
    name: str = ""
    start: float = 0.0
    config: dict = field(default_factory=dict)
    points: Points = field(default_factory=Points)
    notes: list[str] = field(default_factory=list)


def _number(text: str) -> float | None:
    try:
        return float(text)  # JSON numbers, NaN and Infinity as W&B writes them
    except ValueError:
        return None  # strings, booleans, media and tables: not scalars


def config_value(value):
    """A config entry as set: W&B stores ``{"value": v, "desc": ...}``."""
    return value.get("value") if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"} \
        else value


def _config(items, into: dict) -> None:
    for it in items:
        try:
            into[it.key or ".".join(it.nested_key)] = config_value(json.loads(it.value_json))
        except ValueError:
            continue


class History:
    """History rows -> points, each tag against its step metric as W&B plots it (see the module docstring)."""

    def __init__(self):
        self.points = Points()
        self.exact: dict[str, str] = {}  # tag -> its step metric, from define_metric(name, step_metric=...)
        self.globs: list[tuple[str, str]] = []  # (glob, step metric), from define_metric("*", step_metric=...)
        self.step_of: dict[str, str | None] = {}  # tag -> its step metric (None: _step), resolved once per tag
        self.last: dict[str, float | None] = {}  # the last value of each step metric (W&B's step_sync)

    def define(self, name: str, glob: str, step_metric: str) -> None:
        if name:
            self.exact[name] = step_metric
        elif glob:
            self.globs.append((glob, step_metric))
        self.last.setdefault(step_metric, None)
        self.step_of.clear()

    def add(self, step: int, row: dict[str, float]) -> None:
        last, add = self.last, self.points.add
        for tag in last.keys() & row.keys():
            last[tag] = row[tag]
        for tag, v in row.items():
            if tag[:1] == "_" or tag in last:  # _step, _runtime, _timestamp; a step metric is a clock, not a
                continue  # curve (kept, it would put W&B's internal _step into the run's span and messages)
            metric = self.step_of.get(tag, "")
            if metric == "":
                metric = self.exact.get(tag) or next((t for g, t in self.globs if fnmatch.fnmatchcase(tag, g)), None)
                metric = self.step_of[tag] = None if metric == tag else metric
            if metric is None:
                add(tag, step, v)
            elif last.get(metric) is not None:  # this row's value, or the last one logged
                add(tag, int(last[metric]), v)
            # else: logged before its step metric ever was; W&B plots it nowhere either


def read_file(path: Path) -> Session:
    Record = _record_class()
    s = Session(path)
    history = History()
    rec = Record()
    for offset, raw in records(path, s.notes):
        try:
            rec.ParseFromString(raw)
        except Exception as exc:  # protobuf's DecodeError (its class depends on the backend)
            raise DataError(f"{path}: byte {offset}: not a W&B record: {exc}") from None
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            h = rec.history
            row = {}
            for item in h.item:
                v = _number(item.value_json)
                if v is not None:
                    nested = item.nested_key
                    row[item.key or (nested[0] if len(nested) == 1 else ".".join(nested))] = v
            history.add(h.step.num if h.HasField("step") else int(row.get("_step", 0)), row)
        elif kind == "metric" and rec.metric.step_metric:
            history.define(rec.metric.name, rec.metric.glob_name, rec.metric.step_metric)
        elif kind == "run":
            r = rec.run
            s.run_id, s.name = r.run_id, r.display_name or r.run_id
            s.start = r.start_time.ToNanoseconds() * 1e-9 if r.HasField("start_time") else 0.0
            _config(r.config.update, s.config)
        elif kind == "config":
            _config(rec.config.update, s.config)
    s.points = history.points
    return s


def find(path: Path) -> list[Path]:
    """The ``.wandb`` files of a file, a run folder or a ``wandb/`` folder (``latest-run``, a link to a run
    folder, is not read twice)."""
    if path.is_file():
        return [path]
    files: dict[Path, Path] = {}
    for f in sorted(path.rglob("run-*.wandb"), key=lambda f: ("latest-run" in f.parts, str(f))):
        files.setdefault(f.resolve(), f)
    if not files:
        raise DataError(f"{path}: no W&B run files (run-*.wandb) in it")
    return list(files.values())


def read(path: str | Path) -> list[Log]:
    path = Path(path)
    runs: dict[str, list[Session]] = {}
    for f in find(path):
        s = read_file(f)
        runs.setdefault(s.run_id or f.stem, []).append(s)
    logs = []
    for run_id, sessions in runs.items():
        sessions.sort(key=lambda s: (s.start, str(s.path)))
        merged, restarts, notes = join_sessions([(s.points, str(s.path)) for s in sessions], "no numeric history")
        notes = [n for s in sessions for n in s.notes] + notes
        config = {}
        for s in sessions:
            config.update(s.config)
        where = str(sessions[0].path if len(sessions) == 1 else path)
        logs.append(make_log(sessions[-1].name or run_id, where, merged, config, restarts, notes))
    return logs


def make_log(name: str, where: str, points: Points, config: dict, restarts=(), notes=()) -> Log:
    """A :class:`Log` from a run's points and config (its metadata and step convention, see above)."""
    return tracked_log(name, where, points.series(where), config, restarts=list(restarts), notes=list(notes))
