"""The middle that every reader shares: a log as it was written -> one native :class:`~cptlaw.data.Run`.

A reader returns a :class:`Log`: each scalar of one run (the raw tag or column name, its steps and values in
the order they were written).  :func:`to_run` then

1. maps the raw tags to cptlaw's columns, ``lr`` and ``loss:<set>`` (:mod:`cptlaw.ingest.tags`, or the
   user's ``--map``);
2. drops what a restart abandoned: when a series goes back to a step it already passed (a resume from a
   checkpoint), every point written earlier at that step or later is superseded -- the later write wins, and
   the note says which steps;
3. makes the LR dense.  The laws sum the LR of every optimizer step (laws.md pitfall 1, ecosystem.md §6.1),
   so a logged LR is used only when it is there at every step.  A sparse LR needs the schedule as a cptlaw
   spec; the logged points are then checked against it and the worst mismatch is reported.  cptlaw never
   interpolates: without a spec a sparse LR is an error that says what to supply;
4. marks the PT -> CPT transfer (an explicit step, the boundary of stitched PT and CPT logs, the start of
   the last restart, or a re-warmup found in the LR);
5. warns when a loss series looks thinned by a known sampler (TensorBoard's 10,000-point reservoir, W&B's
   500-row ``history()``).

**Step and LR conventions.**  A native row's ``lr`` is the LR *applied at* its step, and its losses were
measured after that step.  Two facts about a source set how its log maps onto that (each reader states
them, with its source):

* ``Log.step_base``: 1 when the log's step counts the updates done (HF ``global_step``, Megatron
  ``iteration``), so that step s applied the scheduler's LR number s - 1; 0 when the step is the 0-based
  index of the update (nanoGPT's ``iter``, cptlaw's own pilots).  A schedule spec is indexed like a
  scheduler, from 0: the run's LR at step s is ``spec(s - step_base)``.
* ``Log.lr_shift``: the LR logged at step s is the one applied at step s + lr_shift (1 when a trainer reads
  the LR after the scheduler has stepped).  It matters only when the logged LR itself is used (a dense LR);
  against a spec, the check also tries one step either way and says when that is what matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import Run
from ..errors import DataError
from ..schedules import Schedule
from .tags import default_column, lr_rank

# Relative LR mismatch tolerated between a logged point and the schedule spec (logged LRs are often float32
# or printed with 4-7 digits: 1e-3 passes those and fails any real difference in schedule).
LR_RTOL = 1e-3
SAMPLER_SIZES = {10_000: "TensorBoard's default EventAccumulator keeps a 10,000-point reservoir per tag",
                 500: "W&B's run.history() returns 500 sampled rows by default"}
SAMPLER_FIX = {10_000: "read the event files with cptlaw (it keeps every point), or pass "
                       "size_guidance={'scalars': 0} to EventAccumulator",
               500: "export with run.scan_history() (unsampled) or the run's history artifact"}


@dataclass
class Series:
    """One scalar as written: steps and values in write order; ``where`` names its file (and tag)."""

    steps: np.ndarray
    values: np.ndarray
    where: str

    def __post_init__(self):
        self.steps = np.asarray(self.steps, dtype=np.int64)
        self.values = np.asarray(self.values, dtype=np.float64)


class Points(dict):
    """tag -> ([steps], [values]), filled point by point in write order as a reader parses its source."""

    def add(self, tag: str, step: int, value: float) -> None:
        steps, values = self.setdefault(tag, ([], []))
        steps.append(step)
        values.append(value)

    def extend(self, other: "Points") -> None:
        """Append another writer session's points after these (write order kept)."""
        for tag, (st, va) in other.items():
            steps, values = self.setdefault(tag, ([], []))
            steps.extend(st)
            values.extend(va)

    def span(self) -> tuple[int, int] | None:
        """(first, last) step of any tag, or None when empty."""
        steps = [x for st, _ in self.values() for x in st]
        return (min(steps), max(steps)) if steps else None

    def series(self, where: str) -> dict[str, Series]:
        """Every tag as a :class:`Series`, its ``where`` naming the source and the tag."""
        return {tag: Series(st, va, f"{where}: {tag}") for tag, (st, va) in self.items()}


def join_sessions(sessions: list[tuple[Points, str]], empty: str) -> tuple[Points, list[int], list[str]]:
    """The writer sessions of one run, in time order (points, where), as one run's points in write order, the
    steps where a session resumed before the previous one's last step (a restart: the later write wins, see
    :func:`supersede`), and notes.  ``empty``: the note for a session with no point."""
    merged, restarts, notes = Points(), [], []
    prev_hi = None
    for points, where in sessions:
        span = points.span()
        if span is None:
            notes.append(f"{where}: {empty}")
            continue
        lo, hi = span
        if prev_hi is not None and lo <= prev_hi:
            restarts.append(lo)
            notes.append(f"{where}: resumes at step {lo}, before the previous session's last step {prev_hi}")
        merged.extend(points)
        prev_hi = hi if prev_hi is None else max(prev_hi, hi)
    return merged, restarts, notes


@dataclass
class Log:
    """What a reader returns for one run: raw scalars, what it knows of the run, and notes for the user."""

    name: str
    source: str
    scalars: dict[str, Series]
    lr_shift: int = 0  # the LR logged at step s is the one applied at step s + lr_shift
    step_base: int = 0  # 1 when the log's step counts updates done: step s applied the scheduler's LR s - 1
    meta: dict = field(default_factory=dict)  # model_size, tokens_per_step, replay_ratio when the log has them
    restarts: list[int] = field(default_factory=list)  # steps where a new writer session began (a resume)
    notes: list[str] = field(default_factory=list)
    # the run's own LR schedule, rebuilt from what it logged (an HF Trainer's TrainingArguments): used when the
    # LR is not logged at every step and no spec is given, with a note saying so
    schedule: Schedule | None = None
    schedule_note: str = ""


@dataclass
class Options:
    """How to turn logs into a run (the ``cptlaw ingest`` options)."""

    mapping: dict[str, str] | None = None  # cptlaw column ('lr', 'loss:<set>') -> the source's tag/column
    schedule: Schedule | None = None
    transfer: int | str | None = "auto"  # a step, 'auto', 'resume' or None (a PT-only run)
    name: str | None = None
    model_size: float | None = None
    tokens_per_step: float | None = None
    replay_ratio: float | None = None
    lr_rtol: float = LR_RTOL


def columns(log: Log, mapping: dict[str, str] | None) -> tuple[dict[str, Series], list[str]]:
    """cptlaw column -> series.  Without a mapping for it, a column comes from the known tags
    (:func:`cptlaw.ingest.tags.default_column`); a mapping names the tag of each column it lists, and a
    mapped loss turns the default losses off (the user said which sets to read)."""
    mapping = {c: t for c, t in (mapping or {}).items() if c != "step"}  # the step column is the table reader's
    for col, tag in mapping.items():
        if tag not in log.scalars:
            raise DataError(f"{log.source}: --map {col}={tag}: no tag or column {tag!r}; present: "
                            f"{', '.join(sorted(log.scalars)) or '(none)'}")
    notes = []
    mapped_loss = any(c.startswith("loss:") for c in mapping)
    chosen = dict(mapping)
    for tag in log.scalars:
        col = default_column(tag)
        if col is None or col in mapping or (mapped_loss and col.startswith("loss:")):
            continue
        if col not in chosen:
            chosen[col] = tag
        elif col == "lr":  # several LR tags (e.g. one per parameter group): the best known name
            chosen[col] = min(chosen[col], tag, key=lr_rank)
        else:
            notes.append(f"{log.source}: {tag!r} and {chosen[col]!r} both read as {col}; using {chosen[col]!r}"
                         f" (pick one with --map {col}=TAG)")
    return {col: log.scalars[tag] for col, tag in chosen.items()}, notes


def _first_update(log: Log, cols: dict[str, Series]) -> int:
    """The step of a log's first update: where its dense LR starts, else its step convention's first."""
    lr = cols.get("lr")
    if lr is not None and lr.steps.size > 1 and np.all(np.diff(lr.steps) == 1):
        return int(lr.steps[0]) + log.lr_shift
    return log.step_base


def supersede(s: Series, what: str) -> tuple[Series, str | None]:
    """Drop the points a restart abandoned.  A point is superseded when a point written after it goes back to
    its step or earlier (that later point starts a resumed branch, which rewrites from there on)."""
    steps = s.steps
    if steps.size < 2 or np.all(steps[1:] > steps[:-1]):
        return s, None
    # the smallest step written after each point: a point is stale if something later went back to or below it
    later_min = np.minimum.accumulate(steps[::-1])[::-1]
    stale = np.zeros(steps.size, dtype=bool)
    stale[:-1] = later_min[1:] <= steps[:-1]
    keep = ~stale
    dropped = steps[stale]
    note = (f"{s.where} ({what}): {dropped.size} point(s) at steps {int(dropped.min())}-{int(dropped.max())} were "
            f"written again after a restart (a resume); the later write wins")
    return Series(steps[keep], s.values[keep], s.where), note


def sampled(s: Series, what: str) -> str | None:
    """A warning when a series has exactly the size a known sampler leaves and uneven spacing."""
    n = s.steps.size
    if n not in SAMPLER_SIZES:
        return None
    gaps = np.diff(s.steps)
    if gaps.size and gaps.min() == gaps.max():
        return None  # evenly logged every k steps: a logging interval, not a sampler
    return (f"{s.where} ({what}): {n:,} points at uneven steps, the mark of a sampled history "
            f"({SAMPLER_SIZES[n]}); fix: {SAMPLER_FIX[n]}")


def _span(series: dict[str, Series]) -> tuple[int, int]:
    lo = min(int(s.steps.min()) for s in series.values() if s.steps.size)
    hi = max(int(s.steps.max()) for s in series.values() if s.steps.size)
    return lo, hi


def _describe_gaps(steps: np.ndarray) -> str:
    gaps = np.diff(steps)
    if gaps.size == 0:
        return "once"
    k = np.bincount(gaps).argmax()
    return f"every {k} steps" if np.all(gaps == k) else f"at uneven steps (most often every {k})"


def dense_lr(log: Log, lr: Series | None, start: int, last: int, opts: Options,
             base: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The steps ``start``..``last`` of a run and the LR applied at each (see the module docstring for the
    conventions).  ``base``: the step convention that indexes the spec (default: this log's; a stitched run
    uses its first log's, since one spec covers the whole run)."""
    shift = log.lr_shift
    base = log.step_base if base is None else base
    notes = []
    schedule = opts.schedule
    dense = lr is not None and lr.steps.size >= 2 and lr.steps.size == int(lr.steps[-1] - lr.steps[0]) + 1
    if schedule is None and log.schedule is not None and not dense:
        schedule = log.schedule
        notes.append(log.schedule_note)
    if schedule is not None:
        steps = np.arange(start, last + 1)
        if lr is not None and lr.steps.size:
            notes.append(check_lr(lr, schedule, opts.lr_rtol, shift - base))
        return steps, schedule(steps - base), notes
    have = "no LR" if lr is None else f"the LR {_describe_gaps(lr.steps)} ({lr.steps.size:,} points)"
    fix = ("cptlaw needs the LR of every optimizer step (the laws sum it) and never interpolates it. Give the "
           "schedule as a cptlaw spec (cptlaw ingest --schedule SPEC.yaml; fit, predict: --schedules) (e.g. {kind: warmup, steps: 500, schedule: "
           "{kind: cosine, peak: 3e-4, steps: 10000, floor: 3e-5}}); cptlaw then checks the logged LR points "
           "against it")
    if lr is None or lr.steps.size < 2:
        raise DataError(f"{log.source}: {have} in the log. {fix}")
    expected = int(lr.steps[-1] - lr.steps[0]) + 1
    if lr.steps.size != expected:
        missing = np.setdiff1d(np.arange(lr.steps[0], lr.steps[-1] + 1), lr.steps)
        raise DataError(f"{lr.where}: the LR is logged {_describe_gaps(lr.steps)}: {missing.size:,} of the "
                        f"{expected:,} steps from {int(lr.steps[0])} to {int(lr.steps[-1])} have none (first: step "
                        f"{int(missing[0])}). {fix}")
    steps = lr.steps + shift
    keep = steps <= last if shift else np.ones(steps.size, bool)
    # (one step late is the 0- or 1-based count of a custom loop, not a gap; a stitched CPT log starts where the
    # PT log ended, at ``start``)
    if steps[0] > max(start, base + 1):
        notes.append(f"{lr.where}: the LR of steps {base}-{int(steps[0]) - 1} is not in the log; the run (and S1) "
                     f"starts at step {int(steps[0])}. Give the schedule (--schedule) to count them")
    return steps[keep], lr.values[keep], notes


def check_lr(lr: Series, schedule: Schedule, rtol: float, offset: int = 0) -> str:
    """Compare the logged LR points with the spec: the point logged at step s with ``spec(s + offset)``.
    One step either way is accepted, with a note (trainers differ, and change between versions, on whether
    they log the LR before or after the scheduler steps); otherwise a DataError names the worst step."""
    def worst(off: int):
        want = schedule(np.maximum(lr.steps + off, 0))
        scale = np.maximum(np.abs(want), np.abs(lr.values))  # relative to the larger: a spec at 0 gives 1, not inf
        err = np.divide(np.abs(lr.values - want), scale, out=np.zeros_like(scale), where=scale > 0)
        i = int(np.argmax(err))
        return float(err[i]), i, want

    err, i, want = worst(offset)
    msg = (f"{lr.where}: the schedule spec matches the {lr.steps.size:,} logged LR points to {err:.2g} (relative; "
           f"worst at step {int(lr.steps[i])})")
    if err <= rtol:
        return msg
    for d in (1, -1):
        e, j, _ = worst(offset + d)
        if e <= rtol:
            return (f"{lr.where}: the logged LR points match the schedule spec one step {'later' if d > 0 else 'earlier'}"
                    f" than this source's convention (to {e:.2g}): the log holds the LR of the "
                    f"{'next' if d > 0 else 'previous'} step; the run's LR comes from the spec either way")
    raise DataError(f"{lr.where}: the logged LR does not follow the schedule spec: at step {int(lr.steps[i])} the "
                    f"log has {lr.values[i]:.6g}, the spec {want[i]:.6g} (relative mismatch {err:.2g} > {rtol:g}). "
                    f"The spec is indexed like a scheduler, from 0 at the first update")


def rewarmup(lr: np.ndarray) -> int | None:
    """Index of the first CPT step: the start of the LR's only rise after its warmup (a re-warmup or an LR
    jump), or the drop just before it (a re-warmup from 0).  None when there is no such rise or more than one
    (a cyclic schedule: the transfer must then be given)."""
    up = np.diff(lr) > 1e-12 * max(float(np.max(lr)), 1e-300)
    i = int(np.argmax(lr > 0)) if lr[0] == 0 else 0  # steps at LR 0 before the warmup starts
    i = max(i - 1, 0)
    while i < up.size and up[i]:  # the warmup: the LR's initial rise
        i += 1
    rises = np.flatnonzero(up[i:] & ~np.concatenate([[True], up[i:-1]])) + i  # starts of later rising stretches
    if rises.size != 1:
        return None
    j = int(rises[0]) + 1  # the first step above its predecessor
    # A re-warmup that starts below the PT's last LR (from 0, or from a small value, in a 0-based loop) starts at
    # that drop: the drop is the ramp's first step when it is 0 or when the rise goes on from it in equal steps
    # (a linear ramp).  A jump to a new LR (a rise that does not go on) starts at the first step at the new LR,
    # even after a PT that decays, and so "drops", at every step.
    tol = 1e-12 * max(float(np.max(lr)), 1e-300)
    if j >= 2 and lr[j - 1] < lr[j - 2] - tol:
        if lr[j - 1] <= tol:
            return j - 1
        if j + 1 < lr.size:
            d1, d2 = lr[j] - lr[j - 1], lr[j + 1] - lr[j]
            if d2 > tol and abs(d1 - d2) <= 0.25 * d1:
                return j - 1
    return j


def to_run(logs: list[Log], opts: Options) -> tuple[Run, list[str]]:
    """One native run from one log, or from a PT log and a CPT log stitched (``logs`` in that order)."""
    if not logs:
        raise DataError("no log to read")
    notes: list[str] = []
    parts = []
    for log in logs:
        cols, col_notes = columns(log, opts.mapping)
        notes += log.notes + col_notes
        clean = {}
        for col, s in cols.items():
            s, note = supersede(s, col)
            if note:
                notes.append(note)
            if col.startswith("loss:"):
                warn = sampled(s, col)
                if warn:
                    notes.append("warning: " + warn)
            finite = np.isfinite(s.values)
            if not finite.all():
                notes.append(f"{s.where}: {col}: {int((~finite).sum())} non-finite value(s) skipped")
                s = Series(s.steps[finite], s.values[finite], s.where)
            if s.steps.size:
                clean[col] = s
            else:
                notes.append(f"{s.where}: {col}: no values")
        if not any(c.startswith("loss:") for c in clean):
            raise DataError(f"{log.source}: no validation loss found; tags present: "
                            f"{', '.join(sorted(log.scalars)) or '(none)'}. Name one with --map loss:<set>=TAG")
        parts.append((log, clean))
    log0 = parts[0][0]
    base = log0.step_base  # the whole run is indexed as its first log is
    boundary, prev_hi = None, None
    steps, lr, losses = [], [], {}
    for log, clean in parts:  # a later log continues the previous one (PT, then CPT)
        lo, hi = _span(clean)
        offset = 0
        if prev_hi is not None:
            first = _first_update(log, clean)
            if lo <= prev_hi:  # its steps restart: its first update follows the previous log's last step
                offset = prev_hi + 1 - first
                notes.append(f"{log.source}: its steps restart at {lo}; stitched after the previous log's step "
                             f"{prev_hi} (offset +{offset})")
            boundary = first + offset
        cols = {c: Series(s.steps + offset, s.values, s.where) for c, s in clean.items()}
        start = base if prev_hi is None else prev_hi + 1  # a spec gives the LR from the run's first update
        s, v, lr_notes = dense_lr(log, cols.get("lr"), start, hi + offset, opts, base)
        notes += lr_notes
        steps.append(s)
        lr.append(v)
        for c, ser in cols.items():
            if c.startswith("loss:"):
                old = losses.get(c)
                losses[c] = ser if old is None else Series(np.concatenate([old.steps, ser.steps]),
                                                         np.concatenate([old.values, ser.values]), ser.where)
        prev_hi = hi + offset
    steps, lr = np.concatenate(steps), np.concatenate(lr)
    if len(parts) > 1:
        for c in list(losses):
            losses[c], _ = supersede(losses[c], c)  # the CPT log's eval at its step 0 rewrites the PT's last
    if steps.size and np.any(np.diff(steps) != 1):
        gap = int(np.flatnonzero(np.diff(steps) != 1)[0])
        raise DataError(f"{logs[-1].source}: the stitched LR has a gap after step {int(steps[gap])}; give the "
                        f"schedule of the whole PT -> CPT run with --schedule")
    transfer = _transfer(logs, opts, steps, lr, boundary, notes)
    run_losses = {}
    for col, s in losses.items():
        inside = (s.steps >= steps[0]) & (s.steps <= steps[-1])
        if not inside.all():
            notes.append(f"{s.where}: {col}: {int((~inside).sum())} point(s) outside the steps with a known LR "
                         f"({int(steps[0])}-{int(steps[-1])}) left out")
        if inside.any():
            run_losses[col] = (s.steps[inside] - steps[0], s.values[inside])
    meta = {k: getattr(opts, k) if getattr(opts, k) is not None else log0.meta.get(k)
            for k in ("model_size", "tokens_per_step", "replay_ratio")}
    run = Run(opts.name or log0.name, steps, lr, transfer=transfer, losses=run_losses, source=log0.source, **meta)
    return run, notes


def _transfer(logs, opts: Options, steps, lr, boundary, notes) -> int | None:
    """Index of the first CPT step, from the option, the stitch boundary, a resume or a re-warmup."""
    t = opts.transfer
    where = logs[-1].source
    if t is None or t == "none":
        return None
    if isinstance(t, int):
        if not steps[0] < t <= steps[-1]:
            raise DataError(f"{where}: --transfer {t}: not inside the run's steps ({int(steps[0])}-{int(steps[-1])})")
        return int(t - steps[0])
    if t == "resume":
        restarts = [r for log in logs for r in log.restarts]
        if not restarts:
            raise DataError(f"{where}: --transfer resume: the log shows no resumed session; give the step")
        notes.append(f"{where}: transfer at step {restarts[-1]}, where the last session resumed")
        return int(restarts[-1] - steps[0])
    if t != "auto":
        raise DataError(f"--transfer {t!r}: give a step, 'auto', 'resume' or 'none'")
    if boundary is not None:
        notes.append(f"{where}: transfer at step {boundary}, where the CPT log begins")
        return int(boundary - steps[0])
    i = rewarmup(lr)
    if i is not None:
        notes.append(f"{where}: transfer at step {int(steps[i])}, where the LR rises again (a re-warmup); "
                     f"override with --transfer STEP or --transfer none")
        return i
    return None
