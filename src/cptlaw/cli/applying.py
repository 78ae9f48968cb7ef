"""``cptlaw predict``, ``evaluate`` and ``plot``: a saved fit applied to runs, a planned schedule or a points table."""

from __future__ import annotations

import json
import sys

import yaml

from ..data import RunSet
from ..data.points import read_points
from ..errors import CptlawError
from ..evaluate import evaluate as score, evaluate_design, score_lines
from ..fit.result import jsonable
from ..laws import load
from ..plots import plot_fit, plot_schedule
from ..predict import POINT_COLUMNS, predict_points, predict_runs, rows_to_csv, schedule_run
from ..schedules import from_spec, load_spec_file, to_spec
from ..schedules.hf import hf_schedule
from ..schedules.spec import steps_to_show, summary_lines
from .common import (is_points, out_text, points_design, read_data, refuse_cross, refuse_existing, runs_arg,
                     warn_extrapolation)


def predict(args) -> int:
    law = load(args.fit)
    refuse_cross(law, "predict")
    if (args.data is None) == (args.schedule is None):
        raise CptlawError("give either --data or --schedule (with --steps)")
    refuse_existing(args.out, args.force, stdout=True)  # (JSON or CSV text: "-" is standard output)
    interval = ("lower", "upper") if args.interval else ()
    if args.schedule is not None:
        if args.steps is None:
            raise CptlawError("--schedule needs --steps N")
        rows = predict_runs(law, RunSet([schedule_run(args.schedule, args.steps)]), None, every=args.every,
                            interval=args.interval)
    elif is_points(law.name, args.data):
        rows = predict_points(law, read_points(args.data[0], need_loss=False), args.data[0], args.interval)
        out_text(args.out, rows_to_csv(rows, POINT_COLUMNS + interval), args.force)
        warn_extrapolation(rows)
        return 0
    else:
        runs = read_data(args.data, args.schedules, args=args)
        rows = predict_runs(law, runs, runs_arg(args.runs), every=args.every, interval=args.interval)
    if not rows:
        raise CptlawError("no point of the selected runs lies in the law's domain (after the warmup, once an LR "
                          "was applied; for D-CPT, the CPT rows)")
    out_text(args.out, rows_to_csv(rows, ("run", "step", "predicted", "observed", "extrapolated") + interval),
             args.force)
    warn_extrapolation(rows)
    return 0


def evaluate(args) -> int:
    law = load(args.fit)
    refuse_cross(law, "evaluate")
    if is_points(law.name, args.data):
        report = evaluate_design(law, points_design(law, args.data[0], need_loss=True)[1], runs_arg(args.runs))
    else:
        report = score(law, read_data(args.data, args.schedules, args=args), runs_arg(args.runs),
                       cpt_only=args.cpt_only)
    if args.json:
        print(json.dumps(jsonable({k: report[k] for k in ("runs", "overall", "pooled", "interpolation") if k in report}),
                         indent=2, allow_nan=False))
    else:
        print("\n".join(score_lines(report, law)))
    return 0


def plot(args) -> int:
    law = load(args.fit)
    refuse_cross(law, "plot")
    refuse_existing(args.out, args.force, stdout=False)
    runs = read_data(args.data, args.schedules, args=args)
    plot_fit(law, runs, args.out, names=runs_arg(args.runs), force=args.force)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def schedule(args) -> int:
    if (args.spec is None) == (args.hf is None):
        raise CptlawError("give a schedule spec (a YAML/JSON file) or --hf ARGS, one of them")
    if args.out and args.out == args.plot:
        raise CptlawError("--out and --plot name the same file")
    for path, stdout in ((args.out, True), (args.plot, False)):
        if path:
            refuse_existing(path, args.force, stdout=stdout)
    if args.hf:
        sched = hf_schedule(args.hf)
        steps = steps_to_show(sched, args.steps or sched.length or int(float(args.hf["max_steps"])), "--hf")
    else:
        sched = from_spec(load_spec_file(args.spec), args.spec)
        steps = steps_to_show(sched, args.steps, args.spec)
    spec_to_stdout = args.out == "-" or (args.hf and not args.out)
    print("\n".join(summary_lines(sched, steps)), file=sys.stderr if spec_to_stdout else sys.stdout)
    if args.out or args.hf:
        out_text(args.out or "-", yaml.safe_dump(to_spec(sched), sort_keys=False), args.force)
    if args.plot:
        plot_schedule(sched, steps, args.plot, force=args.force, title=args.spec or "HF TrainingArguments")
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
