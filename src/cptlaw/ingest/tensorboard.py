"""TensorBoard event files (``events.out.tfevents.*``), every point kept.

TensorBoard's ``EventAccumulator`` keeps 10,000 points per tag unless told otherwise (tensorboard#5488), and
even with ``size_guidance={'scalars': 0}`` it reads about 70,000 events a second in pure Python.  This reader
parses the same records with TensorBoard's own protobuf classes (``tensorboard.compat.proto.event_pb2``,
the C ``upb`` parser) and ``tensorboard.util.tensor_util`` for tensor-valued scalars, and does the record
framing itself: each record is ``uint64 length | uint32 masked CRC of length | data | uint32 masked CRC of
data`` (TFRecord).  The CRCs are not verified (pure-Python CRC32C would cost more than everything else); a
record cut short, or one that does not parse as an ``Event``, is an error naming the file and the record.

One folder of event files is one run; its files, in order of their first event's wall time, are the writer
sessions.  A session that starts at or before the previous one's last step is a resume: its points rewrite
the earlier ones from there on.  One that starts at or before the previous session's *first* step is
another run, not a resume: that is an error (one run per folder, as TensorBoard itself assumes).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import CptlawError, DataError
from .log import Log, Points, join_sessions

PATTERN = "events.out.tfevents.*"


def _proto():
    try:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.util import tensor_util
    except ImportError:
        raise CptlawError('reading TensorBoard event files needs the tensorboard extra: '
                          'pip install "cptlaw[tensorboard]"') from None
    return Event, tensor_util


def read_file(path: Path) -> tuple[Points, float]:
    """tag -> (steps, values) of one event file in write order, and the first event's wall time."""
    Event, tensor_util = _proto()
    buf = path.read_bytes()
    n, pos, k = len(buf), 0, 0
    out = Points()
    first_time = float("inf")
    parse, add = Event.FromString, out.add  # bound once: called per record and per point
    while pos < n:
        if pos + 12 > n:
            raise DataError(f"{path}: record {k} (byte {pos}): truncated header; the file is cut short")
        (length,) = struct.unpack_from("<Q", buf, pos)
        start, end = pos + 12, pos + 12 + length
        if end + 4 > n:
            raise DataError(f"{path}: record {k} (byte {pos}): truncated: {length} bytes announced, "
                            f"{max(n - start, 0)} present; the file is cut short")
        try:
            ev = parse(buf[start:end])
        except Exception as exc:  # protobuf's DecodeError (its class depends on the backend)
            raise DataError(f"{path}: record {k} (byte {pos}): not a TensorBoard event: {exc}") from None
        if first_time == float("inf"):
            first_time = ev.wall_time
        if ev.HasField("summary"):
            for v in ev.summary.value:
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    value = v.simple_value
                elif kind == "tensor" and v.tensor.ByteSize():
                    arr = tensor_util.make_ndarray(v.tensor)
                    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number):
                        continue  # not a scalar (histograms, text, images)
                    value = float(arr.reshape(()))
                else:
                    continue
                add(v.tag, ev.step, value)
        pos, k = end + 4, k + 1
    return out, first_time


def find(path: Path) -> dict[Path, list[Path]]:
    """Run folder -> its event files (a file is a run of its own folder)."""
    files = [path] if path.is_file() else sorted(path.rglob(PATTERN))
    if not files:
        raise DataError(f"{path}: no TensorBoard event files ({PATTERN})")
    runs: dict[Path, list[Path]] = {}
    for f in files:
        runs.setdefault(f.parent, []).append(f)
    return runs


def read(path: str | Path) -> list[Log]:
    path = Path(path)
    logs = []
    for folder, files in find(path).items():
        sessions = sorted(((read_file(f), f) for f in files), key=lambda x: (x[0][1], x[1].name))
        prev = None  # (first step, file) of the previous session with points
        for (data, _), f in sessions:
            span = data.span()
            if span is None:
                continue
            if prev is not None and span[0] <= prev[0]:
                raise DataError(f"{folder}: mixed runs in one folder: {f.name} starts at step {span[0]}, as "
                                f"{prev[1].name} does (step {prev[0]}); a resume starts after that. Put each "
                                f"run in its own folder, or read one file")
            prev = (span[0], f)
        merged, restarts, notes = join_sessions([(data, str(f)) for (data, _), f in sessions], "no scalars")
        where = files[0] if len(files) == 1 else folder
        scalars = merged.series(str(where))
        # HF's TensorBoardCallback writes the Trainer's logs (train/learning_rate): HF's step convention
        base = 1 if "train/learning_rate" in scalars and "lr" not in scalars else 0
        logs.append(Log(folder.name, str(where), scalars, step_base=base, restarts=restarts, notes=notes))
    return logs
