"""``cptlaw ingest`` and ``watch``: logs read into native runs, and a running job followed against its forecast."""

from __future__ import annotations

import functools
import sys

from ..data import write_runs
from ..errors import CptlawError
from ..laws import CURVE_LAWS, load
from ..predict import schedule_run
from ..watch import parse_every, watch as follow
from .common import read_logs, refuse_existing


def ingest(args) -> int:
    refuse_existing(args.out, args.force, stdout=False)
    result = read_logs(args.sources, args, args.schedule)
    write_runs(result.runs, args.out, force=args.force)
    for run in result.runs:
        sets = ", ".join(f"{c} ({run.observed(c)[0].size})" for c in run.targets)
        cpt = f", CPT from step {run.transfer_step}" if run.transfer is not None else ""
        print(f"{run.name}: steps {int(run.steps[0])}-{int(run.steps[-1])}{cpt}; {sets}")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def watch(args) -> int:
    laws = [load(p.strip()) for p in args.fit.split(",") if p.strip()]
    if not laws:
        raise CptlawError("--fit: give one fit JSON or more (comma-separated)")
    for law in laws:
        if law.name not in CURVE_LAWS:
            raise CptlawError(f"--fit: a {law.name} fit; watch forecasts loss curves ({', '.join(CURVE_LAWS)} fits)")
    planned = schedule_run(args.schedule, args.steps)
    every = parse_every(args.every)
    print(f"watching {args.log} every {every:g} s: {', '.join(law.result_.target for law in laws)}; the planned "
          f"run ends at step {int(planned.steps[-1])}; Ctrl-C stops (the log is only read)")
    follow(args.log, laws, planned, every=every, updates=args.updates, run=args.run, kind=args.kind,
           emit=functools.partial(print, flush=True))
    return 0
