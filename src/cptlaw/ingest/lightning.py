"""PyTorch Lightning's logger folders: ``<save_dir>/<name>/version_<n>/``, one version per ``Trainer.fit``
(``TensorBoardLogger``: event files; ``CSVLogger``: ``metrics.csv``).

A fit resumed from a checkpoint (``trainer.fit(model, ckpt_path=...)``) writes a new version whose steps
continue the previous one's.  Lightning may label them one step later than the first fit did: in
``tests/fixtures/ingest/lightning_resume/`` (Lightning 2.6, ``LearningRateMonitor`` every step, a validation
before the checkpoint) the first fit logs update k + 1 at step k (0-based), and the resumed fit logs update k
at step k: the first version ends at step 29 after 30 updates, the resumed one starts at 31 (the truth recorded
by :class:`~cptlaw.ingest.lightning_callback.CptlawLightningCallback`).  Whether the labels shift depends on the
run (a review found none with ``log_every_n_steps=2`` and no validation), so the shift is corrected only where
the logs prove it: both versions log the LR at every step, and the resumed one starts exactly two steps after
the previous one's last (a step with no LR in a run that logs it at every step is the label shift, not a gap).
Elsewhere a note says to check the steps with a schedule spec (``--schedule``; its check names a one-step
offset).

:func:`merge_versions` reads the versions of one logger that continue each other as one run, with the first
fit's labels; :func:`align` makes the same correction for logs given one by one to ``--stitch``.  A version
that starts at or before the previous one's last step is a resume from an earlier checkpoint (the later write
wins, as for every log); one that starts at step 0 again is another run.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from .log import Log, Series
from .tags import default_column

VERSION = re.compile(r"^version_(\d+)$")


def is_version(log: Log) -> bool:
    return bool(VERSION.match(log.name))


def logger_folder(log: Log) -> Path:
    """The logger's folder (``<save_dir>/<name>``) of a version's log (its source: the version folder, or a
    file in it)."""
    source = Path(log.source)
    return (source if source.is_dir() else source.parent).parent


def csv_files(folder: Path) -> list[Path]:
    """The ``metrics.csv`` of a CSVLogger folder (its versions, in version order), or of one version folder."""
    if (folder / "metrics.csv").is_file():
        return [folder / "metrics.csv"]
    found = [p / "metrics.csv" for p in folder.iterdir() if VERSION.match(p.name) and (p / "metrics.csv").is_file()]
    return sorted(found, key=lambda f: int(VERSION.match(f.parent.name).group(1)))


def span(log: Log) -> tuple[int, int] | None:
    steps = [s.steps for s in log.scalars.values() if s.steps.size]
    return (min(int(s.min()) for s in steps), max(int(s.max()) for s in steps)) if steps else None


def _lr_every_step(log: Log) -> bool:
    """Whether the log has an LR tag with a point at every step of its span."""
    for tag, s in log.scalars.items():
        if default_column(tag) == "lr" and s.steps.size >= 2 and np.all(np.diff(np.unique(s.steps)) == 1):
            return True
    return False


def align(logs: list[Log]) -> list[Log]:
    """``logs`` (sessions of one run, in order) with each Lightning version that continues the one before read in
    the first fit's labels (see the module docstring), with a note; other logs unchanged."""
    out = [logs[0]] if logs else []
    for prev, log in zip(logs, logs[1:]):
        a, b = span(prev), span(log)
        if not (is_version(log) and a and b and b[0] > a[1]):
            out.append(log)
            continue
        if b[0] == a[1] + 2 and _lr_every_step(prev) and _lr_every_step(log):
            scalars = {t: Series(s.steps - 1, s.values, s.where) for t, s in log.scalars.items()}
            note = (f"{log.source}: a Lightning fit resumed from a checkpoint labels its steps one later than the fit "
                    f"before it (step {b[0]} follows {a[1]}, the LR logged at every step); read one step earlier, "
                    f"in the first fit's labels")
            out.append(replace(log, scalars=scalars, notes=log.notes + [note]))
        else:
            note = (f"{log.source}: a Lightning fit resumed from a checkpoint may label its steps one later than the "
                    f"fit before it; with the LR not logged at every step cptlaw cannot tell: give the schedule "
                    f"(--schedule), whose check names a one-step offset")
            out.append(replace(log, notes=log.notes + [note]))
    return out


def merge_versions(logs: list[Log]) -> list[Log]:
    """Consecutive versions of one Lightning logger that continue each other, merged into one log (named after
    the logger's folder, in the first fit's labels); every other log as it is."""
    out: list[Log] = []
    group: list[Log] = []

    def flush():
        out.extend([_merged(align(group))] if len(group) > 1 else group)
        group.clear()

    def number(log):
        return int(VERSION.match(log.name).group(1))

    versions = sorted((log for log in logs if is_version(log)), key=lambda log: (str(logger_folder(log)), number(log)))
    for log in versions:
        if group:
            prev, here = span(group[-1]), span(log)
            if not (logger_folder(group[-1]) == logger_folder(log) and prev and here and here[0] > prev[0]
                    and here[0] > 0):
                flush()
        group.append(log)
    flush()
    return [log for log in logs if not is_version(log)] + out


def _merged(group: list[Log]) -> Log:
    first = group[0]
    folder = logger_folder(first)
    scalars: dict[str, tuple[list, list]] = {}
    notes, restarts, prev_hi = list(first.notes), list(first.restarts), None
    for log in group:
        lo, hi = span(log)
        if prev_hi is not None and lo <= prev_hi:
            restarts.append(lo)
            notes.append(f"{log.source}: resumes at step {lo}, before the previous version's last step {prev_hi}")
        if log is not first:
            notes += log.notes
        for tag, s in log.scalars.items():
            steps, values = scalars.setdefault(tag, ([], []))
            steps.extend(s.steps.tolist())
            values.extend(s.values.tolist())
        prev_hi = hi if prev_hi is None else max(prev_hi, hi)
    notes.append(f"{folder}: versions {', '.join(log.name for log in group)} read as one run (each continues the "
                 f"one before: a fit resumed from a checkpoint)")
    series = {tag: Series(st, va, f"{folder}: {tag}") for tag, (st, va) in scalars.items()}
    return Log(folder.name, str(folder), series, step_base=first.step_base, meta=dict(first.meta),
               restarts=restarts, notes=notes)
