"""``cptlaw report``: one self-contained HTML page of fits, data, held-out scores and a plan."""

from __future__ import annotations

from ..laws import load
from ..plan.outputs import read_plan
from ..report import render, write_report
from .common import read_data, refuse_existing, runs_arg


def report(args) -> int:
    refuse_existing(args.out, args.force, stdout=False)
    fits = [(path, load(path)) for path in args.fits]
    need_lr = any(law.USES_LR for _, law in fits)
    runs = read_data(args.data, args.schedules, need_lr=need_lr, args=args)
    plan = (args.plan, read_plan(args.plan, f"--plan {args.plan}")) if args.plan else None
    html = render(fits, runs, heldout=runs_arg(args.heldout), plan=plan, title=args.title)
    write_report(args.out, html, force=args.force)
    print(f"wrote {args.out} ({len(html) / 1e6:.1f} MB, {len(fits)} fit(s){', a plan' if plan else ''})")
    return 0
