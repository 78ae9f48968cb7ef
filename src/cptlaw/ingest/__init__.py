"""Ingest: the logs users already have -> native runs (the head of the data flow).

One small reader per source, each returning :class:`~cptlaw.ingest.log.Log` objects; :func:`read` picks
the reader, and :func:`~cptlaw.ingest.log.to_run` turns logs into native runs (dense LR, PT/CPT phases,
restarts resolved).  Public surface::

    read(paths, kind="auto", stitch=False, **options) -> Ingested(runs, notes)
    detect(path) -> kind
    KINDS, EXTRAS
    parse_map("step=iter,lr=learning_rate,loss:general=val/loss") -> dict
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..data import RunSet, read_runs
from ..data.table import format_suffix, header
from ..errors import CptlawError, DataError
from ..kinds import EXTRAS, KINDS
from . import hf, lightning, megatron, mlflow, table, tensorboard, wandb, wandb_api
from .log import Log, Options, to_run

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")


@dataclass
class Ingested:
    runs: RunSet
    notes: list[str] = field(default_factory=list)


def parse_map(text: str | None) -> dict[str, str] | None:
    """``step=iter,lr=learning_rate,loss:general=val/loss`` -> {'step': 'iter', ...} (tags may hold any
    character but ',' and '=')."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, tag = part.partition("=")
        key, tag = key.strip(), tag.strip()
        if not sep or not key or not tag:
            raise CptlawError(f"--map {part!r}: write COLUMN=TAG, e.g. lr=learning_rate or loss:general=val/loss")
        if key not in ("step", "lr") and not (key.startswith("loss:") and len(key) > 5):
            raise CptlawError(f"--map {part!r}: {key!r} is not step, lr or loss:<set>")
        if key in out:
            raise CptlawError(f"--map: {key} given twice")
        out[key] = tag
    return out


def detect(path: Path) -> str:
    """Which reader a file or folder (or a ``wandb:ENTITY/PROJECT/RUN_ID`` run) needs."""
    if str(path).startswith(wandb_api.PREFIX) and not path.exists():
        return "wandb-api"
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    name = path.name
    if path.is_dir():
        if (path / "trainer_state.json").is_file() or any(path.glob("checkpoint-*/trainer_state.json")):
            return "hf"
        if any(path.glob("run-*.wandb")) or any(path.glob("*/run-*.wandb")) or any(path.glob("wandb/*/run-*.wandb")):
            return "wandb"  # (before TensorBoard: a W&B run with sync_tensorboard holds event files too)
        if any(path.rglob("events.out.tfevents.*")):
            return "tensorboard"
        if lightning.csv_files(path):
            return "table"  # a Lightning CSVLogger folder (version_<n>/metrics.csv)
        if (any(path.glob("*/meta.yaml")) or name == "mlruns" or (path / "mlruns").is_dir()
                or (path / "mlflow.db").is_file()):
            return "mlflow"
        raise DataError(f"{path}: a folder with no trainer_state.json, TensorBoard event files, MLflow store or "
                        f"W&B run in it; name the source with --kind")
    if name == "trainer_state.json":
        return "hf"
    if name.startswith("events.out.tfevents."):
        return "tensorboard"
    if name.endswith(".wandb"):
        return "wandb"
    if name.endswith(".db"):
        return "mlflow"
    if format_suffix(path) in TABLE_SUFFIXES:  # (under any compression: log.csv.gz)
        cols = header(path)
        native = any(c.startswith("loss:") for c in cols) or {"run", "step", "lr"} <= set(cols)
        return "native" if native else "table"  # (a file with loss:<set> columns is meant as native: validate it so)
    if megatron.looks_like(path):
        return "megatron"
    raise DataError(f"{path}: cannot tell what log this is; name the source with --kind ({', '.join(KINDS)})")


# one reader per source: path (and the column mapping, for tables) -> logs; each imports its library (tensorboard,
# mlflow, wandb) only when it reads
READERS = {
    "hf": lambda path, mapping: hf.read(path),
    "tensorboard": lambda path, mapping: tensorboard.read(path),
    "megatron": lambda path, mapping: megatron.read(path),
    "table": table.read,
    "mlflow": lambda path, mapping: mlflow.read(path),
    "wandb": lambda path, mapping: wandb.read(path),
    "wandb-api": lambda path, mapping: wandb_api.read(str(path)),
}


def _logs(path: Path, kind: str, mapping) -> list[Log]:
    if kind not in READERS:
        raise CptlawError(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    return READERS[kind](path, mapping)


def read(paths, kind: str = "auto", stitch: bool = False, schedules=None, **options) -> Ingested:
    """Read logs into native runs.

    ``paths``: files or folders (one kind each, or ``kind`` for all).  With ``stitch``, the logs of all the
    paths (in order: PT, then CPT) make one run; otherwise each log is a run.  ``schedules``: a schedule
    (:class:`~cptlaw.schedules.Schedule`) for every run, or a mapping run name -> schedule.  Other options:
    those of :class:`~cptlaw.ingest.log.Options` (mapping, transfer, name, model_size, tokens_per_step,
    replay_ratio, lr_rtol) and ``lr_shift`` to override the reader's LR convention."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    lr_shift = options.pop("lr_shift", None)
    opts = Options(**options)
    if opts.mapping and "step" in opts.mapping and kind not in ("auto", "table"):
        raise CptlawError("--map step=... applies to CSV/JSONL tables only")
    all_logs: list[Log] = []
    natives = []
    for p in paths:
        k = detect(p) if kind == "auto" else kind
        if opts.mapping and k == "native":  # a native file is read as it is: a mapping would be ignored
            raise CptlawError(f"{p}: --map maps a log's tags to cptlaw's columns, but this file is already in the "
                              "native format (it has loss:<set> columns, or run, step and lr); to map its "
                              "columns anyway, read it with --kind table")
        if k == "native":
            if stitch:
                raise CptlawError(f"{p}: a native-format file cannot be stitched; it already holds whole runs")
            natives.extend(read_runs(p))
            continue
        try:
            logs = lightning.merge_versions(_logs(p, k, opts.mapping))  # (a fit resumed: one run, see there)
        except OverflowError as exc:  # a step or value beyond what a C integer or float holds
            raise DataError(f"{p}: a number too large to read ({exc})") from None
        if not logs:
            raise DataError(f"{p}: no runs found")
        all_logs.extend(logs)
    if stitch and len(all_logs) < 2:
        found = ", ".join(f"{log.name} ({log.source})" for log in all_logs) or "none"
        raise DataError(f"--stitch joins a PT log and a CPT log, and one log was found: {found}. Give both, PT "
                        "first (e.g. the two launches' folders of an HF job, runs/<date>_<host>/, or runs/ that holds "
                        "them); a trainer_state.json holds only the launch that wrote it")
    if lr_shift is not None:
        for log in all_logs:
            log.lr_shift = lr_shift
    # (--stitch: a Lightning fit resumed into its own version folder is read in the first fit's labels)
    groups = [lightning.align(all_logs)] if stitch and all_logs else [[log] for log in all_logs]
    if opts.name and len(groups) > 1:
        raise CptlawError(f"--name: {len(groups)} runs were found; --name applies to one run")
    runs, notes = list(natives), []
    for group in groups:
        name = opts.name or group[0].name
        sched = schedules.get(name) if isinstance(schedules, dict) else schedules
        run, run_notes = to_run(group, replace(opts, schedule=sched))
        runs.append(run)
        notes += run_notes
    seen = set()
    for r in runs:
        if r.name in seen:
            raise DataError(f"two runs are named {r.name!r} ({r.source}); give each source its own folder name, or "
                            f"ingest them one at a time with --name")
        seen.add(r.name)
    return Ingested(RunSet(runs, source=",".join(str(p) for p in paths)), notes)


__all__ = ["Ingested", "KINDS", "EXTRAS", "Log", "Options", "detect", "parse_map", "read", "to_run"]
