"""What the commands share: reading runs (native files or any log :mod:`cptlaw.ingest` reads), writing outputs
(never over a user's file without --force), and printing a fit."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import ingest
from ..data import RunSet, read_runs
from ..data.native import load_schedules
from ..data.points import is_points_file, read_points
from ..errors import CptlawError
from ..fit.report import format_fit, warning_lines
from .. import io
from ..io import atomic_write_text
from ..laws.cpt import cpt_part
from ..predict import extrapolation_summary
from ..schedules import from_spec, load_spec_file


def runs_arg(value: str | None) -> list[str] | None:
    return [r.strip() for r in value.split(",") if r.strip()] if value else None


def read_data(paths: list[str], schedules: str | None, need_lr: bool = True, args=None):
    """Native files, or any log :mod:`cptlaw.ingest` reads (``--kind``, ``--map``, ``--transfer``)."""
    kind = getattr(args, "kind", None) or "auto"
    runs = []
    for p in paths:
        k = ingest.detect(Path(p)) if kind == "auto" else kind
        if k == "native":
            runs.extend(read_runs(p, schedules=schedules, need_lr=need_lr))
        else:
            runs.extend(read_logs([p], args, schedules, kind=k).runs)
    if getattr(args, "drop_pt", False):
        dropped = [r.name for r in runs if r.transfer is None]
        runs = [cpt_part(r) for r in runs if r.transfer is not None]
        if not runs:
            raise CptlawError("--drop-pt: no run has a CPT part (a transfer)")
        if dropped:
            print(f"cptlaw: --drop-pt: {len(dropped)} PT-only run(s) left out: {', '.join(dropped)}", file=sys.stderr)
    return RunSet(runs, source=",".join(paths))


def read_logs(paths, args, schedule_file, kind=None):
    """Read logs with :func:`cptlaw.ingest.read`; its notes go to stderr."""
    schedules = None
    if schedule_file:
        spec = load_spec_file(schedule_file)
        schedules = (from_spec(spec, schedule_file) if isinstance(spec, dict) and "kind" in spec
                     else {name: s for name, (s, _) in load_schedules(schedule_file, spec).items()})
    transfer = getattr(args, "transfer", None) or "auto"
    if transfer not in ("auto", "resume", "none"):
        try:
            transfer = int(transfer)
        except ValueError:
            raise CptlawError(f"--transfer {transfer!r}: give a step, auto, resume or none") from None
    options = dict(mapping=ingest.parse_map(getattr(args, "map", None)), transfer=None if transfer == "none" else transfer)
    for key in ("name", "model_size", "tokens_per_step", "replay_ratio", "lr_shift"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    kind = kind or getattr(args, "kind", None) or "auto"
    result = ingest.read(paths, kind=kind, stitch=getattr(args, "stitch", False), schedules=schedules, **options)
    quiet = getattr(args, "quiet", False)
    for note in result.notes:
        if not quiet or note.startswith("warning"):
            print(f"cptlaw: {note}", file=sys.stderr)
    return result


def refuse_existing(out: str, force: bool, stdout: bool = False) -> None:
    """Never overwrite a user's file without --force; checked before any work.  '-' is standard output where
    the command writes text (``stdout``), and refused where it writes a figure, a page or a folder."""
    if out == "-" and not stdout:
        raise CptlawError("--out -: this command writes a file (or a folder), not standard output; name it")
    if out != "-":
        io.refuse_existing(out, force, hint="use --force")


def save_fit(args, result) -> None:
    """Write a fit to --out (or stdout) and print its summary (to stderr when stdout carries the JSON)."""
    out_text(args.out, result.to_json(), args.force)
    if args.out == "-":
        print("\n".join(format_fit(result)), file=sys.stderr)
    else:
        print("\n".join(format_fit(result, warnings=False)))
        for line in warning_lines(result):
            print(line, file=sys.stderr)


def out_text(path: str, text: str, force: bool) -> None:
    if path == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(path, text, force=force)
        print(f"wrote {path}", file=sys.stderr)


def points_design(law, path, need_loss):
    """A D-CPT points table and its design (the table's ``run`` labels group the points)."""
    pts = read_points(path, need_loss=need_loss)
    return pts, law.design_points(pts.N, pts.D, pts.r, None if not need_loss else pts.loss, labels=pts.labels)


def is_points(fit_or_law_name, data) -> bool:
    return fit_or_law_name == "dcpt" and data is not None and len(data) == 1 and is_points_file(data[0])


def refuse_cross(law, command: str) -> None:
    if law.name == "dcpt-cross":
        raise CptlawError(f"{command}: a cross-domain D-CPT fit predicts each run on its own domain, from the domain's "
                          f"K; use the Python API (cptlaw.laws: law = load(path).with_domains(probe_runs); "
                          f"law.predict(run)), as benchmarks/dcpt_cross.py does")


def warn_extrapolation(rows) -> None:
    line = extrapolation_summary(rows)
    if line:
        print(f"cptlaw predict: warning: {line}", file=sys.stderr)


