"""``cptlaw demo``: fit, predict, plot and plan on the data that ships with cptlaw."""

from __future__ import annotations

from pathlib import Path

from ..demo import run_demo
from .common import refuse_existing


def demo(args) -> int:
    refuse_existing(args.out, True)  # "-" is no folder (run_demo refuses each file it would replace)
    run_demo(Path(args.out), force=args.force, quick=args.quick)
    return 0
