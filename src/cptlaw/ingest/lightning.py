"""PyTorch Lightning's logger folders: ``<save_dir>/<name>/version_<n>/``, one version per ``Trainer.fit``
(``TensorBoardLogger``: event files; ``CSVLogger``: ``metrics.csv``).

A fit resumed from a checkpoint (``trainer.fit(model, ckpt_path=...)``) writes a new version whose steps
continue the previous one's.  Lightning labels them one step later than the first fit did: the first fit logs
update k + 1 (its LR, from ``LearningRateMonitor``) and the validation after it at step k (0-based), the resumed
fit logs update k at step k.  Measured with Lightning 2.6 on ``tests/fixtures/ingest/lightning_resume/`` (the
truth recorded by :class:`~cptlaw.ingest.lightning_callback.CptlawLightningCallback`): the first version ends at
step 29 after 30 updates, the resumed one starts at step 31.

So the versions of one logger in which each starts after the previous one ended are the sessions of one run
(:func:`merge_versions`), and a version that starts exactly two steps after the previous one's last step is
read one step earlier (:func:`~cptlaw.ingest.log.lightning_label_shift`), with a note; the run keeps the first fit's labels.  A version that
starts at or before the previous one's last step is a resume from an earlier checkpoint (the later write wins,
as for every log); one that starts at step 0 again is another run.
"""

from __future__ import annotations

from pathlib import Path

from .log import LIGHTNING_VERSION as VERSION, Log, Series, lightning_label_shift, resumed_fit_note


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


def merge_versions(logs: list[Log]) -> list[Log]:
    """Consecutive versions of one Lightning logger that continue each other, merged into one log (named after
    the logger's folder); every other log as it is."""
    out: list[Log] = []
    group: list[Log] = []

    def flush():
        if len(group) > 1:
            out.append(_merged(group))
        else:
            out.extend(group)
        group.clear()

    key = lambda log: int(VERSION.match(log.name).group(1))  # noqa: E731
    ordered = sorted(logs, key=lambda log: (not is_version(log), str(logger_folder(log)) if is_version(log) else "",
                                            key(log) if is_version(log) else 0))
    for log in ordered:
        if not is_version(log):
            flush()
            out.append(log)
            continue
        if group:
            prev, here = span(group[-1]), span(log)
            same_logger = logger_folder(group[-1]) == logger_folder(log)
            if not (same_logger and prev and here and here[0] > prev[0] and here[0] > 0):
                flush()
        group.append(log)
    flush()
    return out


def _merged(group: list[Log]) -> Log:
    first = group[0]
    folder = logger_folder(first)
    scalars: dict[str, tuple[list, list]] = {}
    notes, restarts, prev_hi = list(first.notes), list(first.restarts), None
    for log in group:
        lo, hi = span(log)
        shift = 0 if prev_hi is None else lightning_label_shift(log.name, lo, prev_hi)
        if shift:
            notes.append(resumed_fit_note(log.source, lo, prev_hi))
        elif prev_hi is not None and lo <= prev_hi:
            restarts.append(lo)
            notes.append(f"{log.source}: resumes at step {lo}, before the previous version's last step {prev_hi}")
        if log is not first:
            notes += log.notes
        for tag, s in log.scalars.items():
            steps, values = scalars.setdefault(tag, ([], []))
            steps.extend((s.steps + shift).tolist())
            values.extend(s.values.tolist())
        prev_hi = hi + shift if prev_hi is None else max(prev_hi, hi + shift)
    notes.append(f"{folder}: versions {', '.join(log.name for log in group)} read as one run (each continues the "
                 f"one before: a fit resumed from a checkpoint)")
    series = {tag: Series(st, va, f"{folder}: {tag}") for tag, (st, va) in scalars.items()}
    return Log(folder.name, str(folder), series, step_base=first.step_base, meta=dict(first.meta),
               restarts=restarts, notes=notes)
