"""``cptlaw demo``: fit, predict, plot and plan on the data that ships with cptlaw."""

from __future__ import annotations

from pathlib import Path

from ..demo import run_demo


def demo(args) -> int:
    run_demo(Path(args.out), force=args.force, quick=args.quick)
    return 0
