"""``cptlaw pilot``: the pilot trainer (the ``pilot`` extra): corpora, one run, a sweep, and its export."""

from __future__ import annotations

from pathlib import Path

from ..errors import CptlawError

try:
    import torch  # noqa: F401  (every pilot command needs the extra; say so before anything runs)
except ImportError:
    raise CptlawError('the pilot trainer needs torch: pip install "cptlaw[pilot]"') from None

from ..pilot.corpora import build  # noqa: E402
from ..pilot.export import export as export_sweep  # noqa: E402
from ..pilot.sweep import SweepConfig, expand, recipe_path, run_sweep  # noqa: E402
from ..pilot.tokens import prepare  # noqa: E402
from ..pilot.train import RunConfig, run as train  # noqa: E402
from .common import runs_arg  # noqa: E402


def corpora(args) -> int:
    names = runs_arg(args.only)
    root = Path(args.root) if args.root else None
    manifest = build(names, root)
    prepare(names or list(manifest["corpora"]), root / "corpora" if root else None, args.vocab_size)
    return 0


def run(args) -> int:
    info = train(RunConfig.load(args.config))
    print(f"{info.get('status')}: {args.config}")
    return 0


def sweep(args) -> int:
    config = SweepConfig.load(recipe_path(args.config))
    if args.dry_run:
        pt, cpt = expand(config)
        for c in pt + cpt:
            print(c["name"])
        return 0
    run_sweep(config, jobs=args.jobs)
    return 0


def export(args) -> int:
    summary = export_sweep(SweepConfig.load(recipe_path(args.config)), args.dest, force=args.force)
    print(f"{len(summary['runs'])} finished runs written to {args.dest}"
          + (f"; unfinished, left out: {', '.join(summary['missing'])}" if summary["missing"] else ""))
    return 0
