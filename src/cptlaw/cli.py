"""The ``cptlaw`` command line: a thin layer over the Python API.

Exit status: 0 on success, 2 on bad input (a short message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import builtins
import functools
import json
import math
import sys
from pathlib import Path

from ._version import __version__
from .errors import CptlawError
from .ingest import KINDS as INGEST_KINDS
from .limits import MAX_STEPS

EPILOGS = {
    "fit": """example:
  cptlaw fit runs.csv --law cpt --target loss:general --runs pt_const,cpt_cos --out fit.json
  cptlaw fit points.csv --law dcpt --target loss:code --out dcpt.json""",
    "predict": """examples:
  cptlaw predict fit.json --data heldout.csv --out pred.csv
  cptlaw predict fit.json --schedule plan.yaml --steps 30000 --out plan.csv""",
    "evaluate": """example:
  cptlaw evaluate fit.json --data heldout.csv --runs cpt_wsd --json""",
    "plot": """example:
  cptlaw plot fit.json --data runs.csv --out fit.png""",
    "plan": """example:
  cptlaw plan space.yaml --general general.json --domain domain.json --out plan/
writes plan.json, top.csv, pareto.csv, recommended_<objective>.yaml (for cptlaw predict --schedule; with a
pilot section in the space, also a .pilot.yaml for cptlaw pilot run), pareto.png, curves.png, optima.png""",
    "dcpt-plan": """examples (D-CPT fits of the general loss with --corpus general and of the domain loss):
  cptlaw dcpt-plan ratio --general g.json --domain d.json --model-size 1.8e9 --tokens 1e10 \
      --general-before 2.86 --max-general-increase 0.03
  cptlaw dcpt-plan limited --domain d.json --model-size 1.8e9 --domain-tokens 5e9
  cptlaw dcpt-plan compute --domain d.json --compute 1e21 --ratio 0.7""",
    "ingest": """examples:
  cptlaw ingest out/trainer_state.json --schedule cosine.yaml --out runs.csv
  cptlaw ingest tb/pt tb/cpt --stitch --name cpt_wsd --out runs.csv
  cptlaw ingest metrics.csv --map step=iter,lr=lr,loss:general=val/loss --out runs.csv
  cptlaw ingest wandb/ --out runs.csv                 (W&B run folders, offline or online)
  cptlaw ingest wandb:my-team/cpt/3kx9a1b2 --out runs.csv""",
    "report": """examples:
  cptlaw report general.json domain.json --data german.csv --heldout s_german_const600_wsd_r25 --out report.html
  cptlaw report general.json domain.json --data german.csv --plan plan/plan.json --out report.html""",
    "watch": """example:
  cptlaw watch run/metrics.csv --fit general.json,domain.json --schedule plan.yaml --steps 3000 --every 60s""",
    "demo": """example:
  cptlaw demo --out cptlaw-demo""",
    "pilot": """examples (needs the pilot extra: pip install "cptlaw[pilot]"):
  cptlaw pilot corpora build
  cptlaw pilot run pt.yaml
  cptlaw pilot sweep sweep.yaml --jobs 2
  cptlaw pilot sweep domains --jobs 12     (a bundled recipe; on one GPU)
  cptlaw pilot export domains data/domains""",
}


def _number(kind, lo=None, hi=None, lo_open=False, hi_open=False, what=""):
    """An argparse type: a finite number of ``kind`` in the given range (argparse turns the ValueError into
    a usage error, exit status 2)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '>='} {lo}{what}, got {text!r}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise argparse.ArgumentTypeError(f"must be {'<' if hi_open else '<='} {hi}{what}, got {text!r}")
        return value
    return parse


POSITIVE = _number(float, 0, lo_open=True)
_LAM = _number(float, 0, 1, hi_open=True)


def _lam(text: str):
    """--lam: a number in [0, 1), or 'fit'."""
    return "fit" if text == "fit" else _LAM(text)
COUNT = _number(int, 1)
LEVEL = _number(float, 0, 1, lo_open=True, hi_open=True)


def _runs_arg(value: str | None) -> list[str] | None:
    return [r.strip() for r in value.split(",") if r.strip()] if value else None


def _read_data(paths: list[str], schedules: str | None, need_lr: bool = True, args=None):
    """Native files, or any log :mod:`cptlaw.ingest` reads (``--kind``, ``--map``, ``--transfer``)."""
    from .data import RunSet, read_runs
    from .ingest import detect

    kind = getattr(args, "kind", None) or "auto"
    runs = []
    for p in paths:
        k = detect(Path(p)) if kind == "auto" else kind
        if k == "native":
            runs.extend(read_runs(p, schedules=schedules, need_lr=need_lr))
        else:
            runs.extend(_ingest([p], args, schedules, kind=k).runs)
    if getattr(args, "drop_pt", False):
        from .laws.cpt import cpt_part

        dropped = [r.name for r in runs if r.transfer is None]
        runs = [cpt_part(r) for r in runs if r.transfer is not None]
        if not runs:
            raise CptlawError("--drop-pt: no run has a CPT part (a transfer)")
        if dropped:
            print(f"cptlaw: --drop-pt: {len(dropped)} PT-only run(s) left out: {', '.join(dropped)}", file=sys.stderr)
    return RunSet(runs, source=",".join(paths))


def _ingest(paths, args, schedule_file, kind=None):
    """Read logs with :func:`cptlaw.ingest.read`; its notes go to stderr."""
    from . import ingest

    schedules = None
    if schedule_file:
        from .data.native import load_schedules
        from .schedules import from_spec, load_spec_file

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


def _refuse_existing(out: str, force: bool) -> None:
    """Never overwrite a user's file without --force ('-' is standard output); checked before any work."""
    if out != "-" and Path(out).exists() and not force:
        raise FileExistsError(f"{out} exists; use --force to overwrite it")


def _save_fit(args, result) -> None:
    """Write a fit to --out (or stdout) and print its summary (to stderr when stdout carries the JSON)."""
    _out_text(args.out, result.to_json(), args.force)
    _print_fit(result, sys.stderr if args.out == "-" else sys.stdout)


def _out_text(path: str, text: str, force: bool) -> None:
    from .io import atomic_write_text

    if path == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(path, text, force=force)
        print(f"wrote {path}", file=sys.stderr)


def _law_options(args) -> dict:
    law = args.law
    opts = {}
    if law in ("annealing", "cpt", "mpl"):
        for key in ("warmup", "warmup_steps", "momentum", "lr_index"):
            if getattr(args, key) is not None:
                opts[key] = getattr(args, key)
        if law != "mpl":
            opts["lam"] = args.lam
            opts["momentum"] = args.momentum or "carry"
        else:
            if getattr(args, "lam", None) == "fit":
                raise CptlawError("--lam fit: the mpl law has no annealing momentum λ (it applies to annealing and cpt)")
            opts.pop("momentum", None)
    if law in ("annealing", "cpt") and args.size:
        opts["size"] = True
    if law == "cpt" and args.replay:
        opts["replay"] = args.replay
    if getattr(args, "shift", "area") != "area":
        if law != "cpt":
            raise CptlawError(f"--shift {args.shift}: an option of the cpt law's shift term, not of {law}")
        opts["shift"] = args.shift
    if getattr(args, "pt", "known") != "known":
        if law != "cpt":
            raise CptlawError(f"--pt {args.pt}: the open-source (unknown PT) mode is a form of the cpt law, not of {law}")
        opts["pt"] = args.pt
    if law in ("annealing", "cpt", "dcpt") and args.n_unit is not None:
        opts["n_unit"] = args.n_unit
    if law == "dcpt":
        opts["corpus"] = args.corpus
        if args.d_unit is not None:
            opts["d_unit"] = args.d_unit
    return opts


def cmd_fit(args) -> int:
    from .data import target_column
    from .data.points import is_points_file
    from .laws import make_law

    target = target_column(args.target)
    if args.law == "ood" or args.from_ is not None:
        return _fit_ood(args, target)
    if args.law == "dcpt-cross":
        return _fit_cross(args, target)
    law = make_law(args.law, **_law_options(args))
    if args.bootstrap == 1:
        raise CptlawError("--bootstrap needs at least 2 resamples (e.g. 200), or 0 for none")
    fit_opts = dict(delta=args.delta, n_starts=args.n_starts, seed=args.seed, sampler=args.sampler,
                    bootstrap=args.bootstrap, bootstrap_method=args.bootstrap_method)
    _refuse_existing(args.out, args.force)
    if args.law == "dcpt" and len(args.data) == 1 and is_points_file(args.data[0]):
        if args.corpus != "auto":
            raise CptlawError("--corpus does not apply to a points table: its ratio column is r itself")
        law = make_law(args.law, **{**_law_options(args), "corpus": "table"})
        pts, design = _points_design(law, args.data[0], need_loss=True)
        law.fit_design(design, target=target, data_hash=pts.data_hash(), data_source=pts.source, **fit_opts)
    else:
        runs = _read_data(args.data, args.schedules, need_lr=args.law != "dcpt", args=args)  # D-CPT never uses the LR
        law.fit(runs, target, names=_runs_arg(args.runs), **fit_opts)
        result = law.result_
        if args.law != "dcpt" and (result.degenerate or result.diagnostics.get("unidentified")):
            from .suggest import suggest_runs

            result.diagnostics["suggested_runs"] = suggest_runs(law, runs)
    _save_fit(args, law.result_)
    return 0


def _fit_cross(args, target) -> int:
    """``cptlaw fit --law dcpt-cross``: the Cross-Domain D-CPT law over the CPT runs of several domains."""
    from .laws.dcpt_cross import CrossDomainDCPTLaw

    if target != "loss:domain":
        raise CptlawError("--law dcpt-cross fits each CPT run on its own domain loss: give --target domain")
    _refuse_existing(args.out, args.force)
    opts = {k: v for k, v in (("n_unit", args.n_unit), ("d_unit", args.d_unit)) if v is not None}
    law = CrossDomainDCPTLaw(probe_steps=args.probe_steps, probe_replay=args.probe_replay, **opts)
    runs = _read_data(args.data, args.schedules, need_lr=False, args=args)
    law.fit(runs, target, names=_runs_arg(args.runs), delta=args.delta, n_starts=args.n_starts, seed=args.seed,
            sampler=args.sampler)
    _save_fit(args, law.result_)
    out = sys.stderr if args.out == "-" else sys.stdout
    for domain, (k1, k2) in law.k.items():
        print(f"  K of {domain}: k1 = {k1:.4g}, k2 = {k2:.4g} (probe {law.result_.diagnostics['probes'].get(domain)}, "
              f"first {law.probe_steps} CPT steps)", file=out)
    return 0


def _fit_ood(args, target) -> int:
    """``cptlaw fit --law ood --from general.json,domain.json``: Eq. 6's coefficients by least squares."""
    from .laws import load
    from .laws.ood import OODLaw

    if args.law != "ood":
        raise CptlawError("--from applies to --law ood only")
    parts = [p.strip() for p in (args.from_ or "").split(",") if p.strip()]
    if len(parts) != 2:
        raise CptlawError("--law ood needs --from GENERAL.json,DOMAIN.json: the fits of the general (or proxy) set "
                          "and of the domain set")
    _refuse_existing(args.out, args.force)
    from .laws import CURVE_LAWS

    fits = [load(p).result_ for p in parts]
    for path, fit in zip(parts, fits):
        if fit.law_name not in CURVE_LAWS:
            raise CptlawError(f"--from {path}: a fit of the {fit.law_name} law; give fits of a loss-curve law "
                              f"({', '.join(CURVE_LAWS)})")
        if fit.target == target:
            raise CptlawError(f"--from {path}: a fit of {target} itself; the OOD set is predicted from the fits of "
                              f"two other sets")
    runs = _read_data(args.data, args.schedules, args=args)
    result = OODLaw(fits[0], fits[1]).fit(runs, target, names=_runs_arg(args.runs)).result_
    _save_fit(args, result)
    out = sys.stderr if args.out == "-" else sys.stdout
    spread = result.diagnostics.get("coefficient_spread")
    if spread:
        print("fitted run by run (stability): " + ", ".join(
            f"{k} {v['min']:.3g} to {v['max']:.3g} (sd {v['std']:.2g})" for k, v in spread.items()), file=out)
    return 0


def _points_design(law, path, need_loss):
    """A D-CPT points table and its design (the table's ``run`` labels group the points)."""
    from .data.points import read_points

    pts = read_points(path, need_loss=need_loss)
    return pts, law.design_points(pts.N, pts.D, pts.r, None if not need_loss else pts.loss, labels=pts.labels)


def _is_points(fit_or_law_name, data) -> bool:
    from .data.points import is_points_file

    return fit_or_law_name == "dcpt" and data is not None and len(data) == 1 and is_points_file(data[0])


def _print_fit(result, stream) -> None:
    print = functools.partial(builtins.print, file=stream)  # noqa: A001  (every line to one stream)
    objective = (f"Huber objective {result.objective:.6g} (delta={result.delta:g})" if result.delta > 0
                 else f"sum of squared errors {result.objective:.6g}")
    print(f"{result.law_name} law on {result.target}: {result.n_points} points from {len(result.runs)} run(s), "
          f"{objective}, {result.elapsed_s:.2f} s")
    se = result.diagnostics.get("stderr", {})
    ci = result.uncertainty.get("intervals", {})
    level = result.uncertainty.get("level")
    for name, p in result.parameters.items():
        extra = f"  ± {se[name]:.3g} (s.e.)" if se.get(name) is not None else ""
        if name in ci:
            extra += f"  {100 * level:.0f}% bootstrap CI [{ci[name][0]:.6g}, {ci[name][1]:.6g}]"
        print(f"  {name:>8s} = {p.value: .6g}{extra}")
    print(f"  {'run':<24s} {'R2':>8s} {'PredE%':>8s} {'WorstE%':>8s} {'n':>6s}")
    for run, m in result.metrics.items():
        r2 = "nan" if m.r2 is None else f"{m.r2:.5f}"
        print(f"  {run:<24s} {r2:>8s} {100 * m.pred_e:8.4f} {100 * m.worst_e:8.4f} {m.n:6d}")
    for line in result.warnings:
        builtins.print(f"  warning: {line}", file=sys.stderr)
    suggestions = result.diagnostics.get("suggested_runs") or []
    if suggestions:
        best = suggestions[0]
        print(f"  to pin these down, train next: {best['description']} -- the near-equivalent fits disagree "
              f"there by {100 * best['spread']:.1f}% on average (up to {100 * best['max_spread']:.1f}%); "
              f"its pilot config block: {json.dumps(best['config'])}")


def _refuse_cross(law, command: str) -> None:
    if law.name == "dcpt-cross":
        raise CptlawError(f"{command}: a cross-domain D-CPT fit predicts each run on its own domain, from the domain's "
                          f"K; use the Python API (cptlaw.laws: law = load(path); law.measure(runs); "
                          f"law.predict(run)), as benchmarks/dcpt_cross.py does")


def cmd_predict(args) -> int:
    import numpy as np

    from .laws import load
    from .predict import predict_design, predict_runs, rows_to_csv, schedule_run
    from .data import RunSet

    law = load(args.fit)
    _refuse_cross(law, "predict")
    if (args.data is None) == (args.schedule is None):
        raise CptlawError("give either --data or --schedule (with --steps)")
    _refuse_existing(args.out, args.force)
    if args.schedule is not None:
        if args.steps is None:
            raise CptlawError("--schedule needs --steps N")
        runs = RunSet([schedule_run(args.schedule, args.steps)])
        names = None
    else:
        if _is_points(law.name, args.data):
            pts, design = _points_design(law, args.data[0], need_loss=False)
            pred, flags, lo, hi = predict_design(law, design, [f"{args.data[0]}:{i + 2}" for i in range(design.n)],
                                                 args.interval)
            rows = [{"run": lab, "model_size": n, "tokens": d, "ratio": r, "predicted": p,
                     "observed": None if np.isnan(o) else o, "extrapolated": f}
                    for lab, n, d, r, p, o, f in zip(pts.labels, pts.N.tolist(), pts.D.tolist(), pts.r.tolist(),
                                                     pred.tolist(), pts.loss.tolist(), flags)]
            extra = ()
            if args.interval:
                for row, a, b in zip(rows, lo.tolist(), hi.tolist()):
                    row.update(lower=a, upper=b)
                extra = ("lower", "upper")
            _out_text(args.out, rows_to_csv(rows, ("run", "model_size", "tokens", "ratio", "predicted", "observed",
                                                   "extrapolated") + extra), args.force)
            _warn_extrapolation(rows)
            return 0
        runs = _read_data(args.data, args.schedules, args=args)
        names = _runs_arg(args.runs)
    rows = predict_runs(law, runs, names, every=args.every, interval=args.interval)
    if not rows:
        raise CptlawError("no point of the selected runs lies in the law's domain (after the warmup, once an LR "
                          "was applied; for D-CPT, the CPT rows)")
    columns = ("run", "step", "predicted", "observed", "extrapolated") + (("lower", "upper") if args.interval else ())
    _out_text(args.out, rows_to_csv(rows, columns), args.force)
    _warn_extrapolation(rows)
    return 0


def _warn_extrapolation(rows) -> None:
    from .predict import extrapolation_summary

    line = extrapolation_summary(rows)
    if line:
        print(f"cptlaw predict: warning: {line}", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate
    from .laws import load

    law = load(args.fit)
    fit = law.result_
    _refuse_cross(law, "evaluate")
    if _is_points(law.name, args.data):
        from .evaluate import evaluate_design

        _, design = _points_design(law, args.data[0], need_loss=True)
        report = evaluate_design(law, design, _runs_arg(args.runs))
    else:
        runs = _read_data(args.data, args.schedules, args=args)
        report = evaluate(law, runs, _runs_arg(args.runs), cpt_only=args.cpt_only)
    if args.json:
        from .fit.result import _clean

        print(json.dumps(_clean({"runs": report["runs"], "overall": report["overall"]}), indent=2, allow_nan=False))
        return 0
    print(f"{fit.law_name} fit on {fit.target}, scored on {len(report['runs'])} run(s):")
    print(f"  {'run':<24s} {'R2':>8s} {'MAE':>8s} {'RMSE':>8s} {'PredE%':>8s} {'WorstE%':>8s} {'n':>6s}")
    for name, m in list(report["runs"].items()) + [("overall", report["overall"])]:
        r2 = "nan" if m["r2"] is None or not math.isfinite(m["r2"]) else f"{m['r2']:8.5f}"
        print(f"  {name:<24s} {r2:>8s} {m['mae']:8.5f} {m['rmse']:8.5f} {100 * m['pred_e']:8.4f} "
              f"{100 * m['worst_e']:8.4f} {m['n']:6d}")
    return 0


def cmd_plot(args) -> int:
    from .laws import load
    from .plots import plot_fit

    law = load(args.fit)
    _refuse_cross(law, "plot")
    runs = _read_data(args.data, args.schedules, args=args)
    plot_fit(law, runs, args.out, names=_runs_arg(args.runs), force=args.force)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_plan(args) -> int:
    from .laws import load
    from .plan import load_space
    from .plan import outputs

    space = load_space(args.space)
    laws = {"general": load(args.general), "domain": load(args.domain)}
    fits = {label: law.result_ for label, law in laws.items()}
    for label, fit in fits.items():
        if fit.law_name != "cpt":
            raise CptlawError(f"--{label} {getattr(args, label)}: the planner needs fits of the CPT law "
                              f"(cptlaw fit --law cpt), not of the {fit.law_name} law")
        if fit.options.get("pt", "known") != "known":
            raise CptlawError(f"--{label} {getattr(args, label)}: a fit with an unknown PT (--pt unknown); the planner "
                              f"searches PT checkpoints and schedules, so it needs fits with the PT history known")
    if args.ood:
        import dataclasses

        ood = load(args.ood).result_
        if ood.law_name != "ood":
            raise CptlawError(f"--ood {args.ood}: a fit of the {ood.law_name} law, not an OOD fit (cptlaw fit --law ood)")
        for label in ("general", "domain"):
            comp, fit = ood.options[label], fits[label]
            if comp["params"] != fit.params or comp["target"] != fit.target:
                raise CptlawError(f"--ood {args.ood}: its {label} component is not the fit --{label} "
                                  f"{getattr(args, label)} ({comp['target']} vs {fit.target}); fit the OOD "
                                  f"coefficients from the same two fits")
        space = dataclasses.replace(space, ood={"general": ood.params["l1"], "domain": ood.params["l2"]})
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CptlawError(f"--out {out}: exists and is not a folder")
    doc, res = outputs.build(laws["general"], laws["domain"], space, top=args.top, horizon=args.horizon,
                             sources={"general": args.general, "domain": args.domain})
    files = outputs.files(doc, res, space, laws["general"], laws["domain"])
    outputs.write(out, files, force=args.force)
    for line in outputs.summary_lines(doc):
        print(line)
    print(f"wrote {', '.join(files)} in {out}", file=sys.stderr)
    return 0


def cmd_dcpt_plan(args) -> int:
    from .fit.result import _clean
    from .laws import load
    from .plan import dcpt

    for key in {"ratio": ("model_size", "tokens"), "limited": ("model_size", "domain_tokens"),
                "compute": ("compute", "ratio")}[args.usage]:
        if getattr(args, key) is None:
            raise CptlawError(f"{args.usage} needs --{key.replace('_', '-')}")
    general = load(args.general) if args.general else None
    domain = load(args.domain)
    cap = dict(max_increase=args.max_general_increase, relative=not args.absolute)
    if args.usage == "ratio":
        if general is None or args.general_before is None or args.max_general_increase is None:
            raise CptlawError("ratio needs --general, --general-before and --max-general-increase")
        out = dcpt.ratio_under_general_cap(general, domain, args.model_size, args.tokens, args.general_before, **cap)
    elif args.usage == "limited":
        out = dcpt.ratio_limited_domain(domain, args.model_size, args.domain_tokens, args.epochs, general,
                                        args.general_before, **cap)
    else:
        out = dcpt.compute_split(domain, args.compute, args.ratio)
    text = json.dumps(_clean(out), indent=2) + "\n"
    if args.out:
        _out_text(args.out, text, args.force)
    else:
        sys.stdout.write(text)
    if out.get("domain_ratio") is not None and math.isnan(out["domain_ratio"]):
        print("cptlaw dcpt-plan: warning: no ratio meets the general-loss cap", file=sys.stderr)
    return 0


def cmd_ingest(args) -> int:
    from .data import write_runs

    _refuse_existing(args.out, args.force)
    result = _ingest(args.sources, args, args.schedule)
    write_runs(result.runs, args.out, force=args.force)
    for run in result.runs:
        sets = ", ".join(f"{c} ({run.observed(c)[0].size})" for c in run.targets)
        cpt = f", CPT from step {run.transfer_step}" if run.transfer is not None else ""
        print(f"{run.name}: steps {int(run.steps[0])}-{int(run.steps[-1])}{cpt}; {sets}")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from .laws import load
    from .report import render, write_report

    _refuse_existing(args.out, args.force)
    fits = [(path, load(path)) for path in args.fits]
    runs = _read_data(args.data, args.schedules, need_lr=any(law.name not in ("dcpt", "dcpt-cross") for _, law in fits),
                      args=args)
    plan = None
    if args.plan:
        try:
            doc = json.loads(Path(args.plan).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CptlawError(f"--plan {args.plan}: cannot read: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CptlawError(f"--plan {args.plan}: not a JSON plan (cptlaw plan writes plan.json): {exc}") from None
        if not isinstance(doc, dict) or "recommendations" not in doc:
            raise CptlawError(f"--plan {args.plan}: not a cptlaw plan.json (no 'recommendations')")
        plan = (args.plan, doc)
    html = render(fits, runs, heldout=_runs_arg(args.heldout), plan=plan, title=args.title)
    write_report(args.out, html, force=args.force)
    print(f"wrote {args.out} ({len(html) / 1e6:.1f} MB, {len(fits)} fit(s){', a plan' if plan else ''})")
    return 0


def cmd_watch(args) -> int:
    from .laws import CURVE_LAWS, load
    from .predict import schedule_run
    from .watch import parse_every, watch

    laws = [load(p.strip()) for p in args.fit.split(",") if p.strip()]
    if not laws:
        raise CptlawError("--fit: give one fit JSON or more (comma-separated)")
    for law in laws:
        if law.name not in CURVE_LAWS:
            raise CptlawError(f"--fit: a {law.name} fit; watch forecasts loss curves ({', '.join(CURVE_LAWS)} fits)")
    planned = schedule_run(args.schedule, args.steps)
    every = parse_every(args.every)
    print(f"watching {args.log} every {every:g} s: {', '.join(law.result_.target for law in laws)}; the planned run ends at step "
          f"{int(planned.steps[-1])}; Ctrl-C stops (the log is only read)")
    watch(args.log, laws, planned, every=every, updates=args.updates, run=args.run, kind=args.kind,
          emit=functools.partial(print, flush=True))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), force=args.force, quick=args.quick)
    return 0


def cmd_pilot(args) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise CptlawError('the pilot trainer needs torch: pip install "cptlaw[pilot]"') from None
    if args.pilot_command == "corpora":
        from .pilot.corpora import build
        from .pilot.tokens import prepare

        names = _runs_arg(args.only)
        root = Path(args.root) if args.root else None
        manifest = build(names, root)
        prepare(names or list(manifest["corpora"]), root / "corpora" if root else None, args.vocab_size)
        return 0
    if args.pilot_command == "run":
        from .pilot.train import RunConfig, run

        info = run(RunConfig.load(args.config))
        print(f"{info.get('status')}: {args.config}")
        return 0
    from .pilot.sweep import SweepConfig, expand, recipe_path, run_sweep

    sweep = SweepConfig.load(recipe_path(args.config))
    if args.pilot_command == "export":
        from .pilot.export import export

        summary = export(sweep, args.dest, force=args.force)
        print(f"{len(summary['runs'])} finished runs written to {args.dest}"
              + (f"; unfinished, left out: {', '.join(summary['missing'])}" if summary["missing"] else ""))
        return 0
    if args.dry_run:
        pt, cpt = expand(sweep)
        for c in pt + cpt:
            print(c["name"])
        return 0
    run_sweep(sweep, jobs=args.jobs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cptlaw", description="Fit and apply scaling laws of continual pre-training.")
    p.add_argument("--version", action="version", version=f"cptlaw {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, help_):
        return sub.add_parser(name, help=help_, description=help_, epilog=EPILOGS[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def data_opts(sp):
        sp.add_argument("--runs", help="comma-separated run names (default: all)")
        sp.add_argument("--schedules", help="schedule side file (default: <data>.schedules.yaml if present); for a "
                                            "log, one schedule spec, or a mapping run -> spec")
        sp.add_argument("--drop-pt", action="store_true",
                        help="keep only the CPT part of each run (PT-only runs are dropped), as CPT-only runs for "
                             "the open-source mode (--pt unknown)")
        source_opts(sp)

    def source_opts(sp):
        sp.add_argument("--kind", choices=["auto", *INGEST_KINDS], default="auto",
                        help="what the data is (default: detected)")
        sp.add_argument("--map", help="logs: cptlaw column=source tag, e.g. step=iter,lr=learning_rate,loss:general=val/loss")
        sp.add_argument("--transfer", help="logs: first CPT step, or auto (stitch boundary or re-warmup; default), "
                                           "resume (where the last session resumed) or none")

    def out_opts(sp, help_):
        sp.add_argument("--out", required=True, help=help_)
        sp.add_argument("--force", action="store_true", help="overwrite --out")

    def on_saved_fit(name, help_, data_required=True):
        """A command that applies a saved fit to data: FIT positional, --data, --runs, --schedules."""
        sp = add(name, help_)
        sp.add_argument("fit", help="fit JSON")
        sp.add_argument("--data", nargs="+", required=data_required, help="native-format data file(s)")
        data_opts(sp)
        return sp

    f = add("fit", "Fit a law jointly on the observations of one validation set.")
    f.add_argument("data", nargs="+", help="native-format data file(s) (CSV, JSONL, Parquet), a D-CPT points table, or "
                                          "logs cptlaw ingest reads")
    f.add_argument("--law", required=True, choices=["annealing", "cpt", "mpl", "dcpt", "dcpt-cross", "ood"])
    f.add_argument("--probe-steps", type=COUNT, default=50,
                   help="dcpt-cross: CPT steps of a domain's probe run that measure its K (default 50)")
    f.add_argument("--probe-replay", type=_number(float, 0, 1), default=0.25,
                   help="dcpt-cross: the replay ratio of each domain's probe run (default 0.25)")
    f.add_argument("--from", dest="from_", metavar="GENERAL,DOMAIN",
                   help="ood: the saved fits of the general (or proxy) set and of the domain set (Eq. 6)")
    f.add_argument("--target", required=True, help="validation set, e.g. loss:general")
    out_opts(f, "fit JSON to write ('-' for stdout)")
    data_opts(f)
    f.add_argument("--quiet", action="store_true", help="no progress bar (bars appear only on a terminal anyway)")
    g = f.add_argument_group("conventions (stored in the fit)")
    g.add_argument("--lam", type=_lam, default=0.999,
                   help="S2 momentum decay λ (default 0.999), or 'fit': chosen from {0.95, 0.99, 0.995, 0.999, 0.9995} by "
                        "the training objective (MPL paper App. D.2); the chosen λ is stored in the fit")
    g.add_argument("--warmup", choices=["as_peak", "literal"], default=None,
                   help="warmup convention (default as_peak; mpl: literal)")
    g.add_argument("--warmup-steps", type=_number(int, 0), default=None, help="warmup length (default: detected)")
    g.add_argument("--momentum", choices=["carry", "reset"], default=None,
                   help="S2 momentum across the PT->CPT boundary (default carry)")
    g.add_argument("--lr-index", choices=["inclusive", "exclusive"], default=None,
                   help="whether the loss at step t saw eta_t (default inclusive)")
    g.add_argument("--size", action="store_true", help="model-size variant (needs model_size)")
    g.add_argument("--replay", choices=["general", "domain"], help="replay-ratio variant of the CPT law (Eq. 8)")
    g.add_argument("--shift", choices=["area", "steps"], default="area",
                   help="cpt law: what drives the distribution-shift term: the CPT forward area S1cpt (Eq. 4, "
                        "default) or the CPT step count (docs/accuracy-shift.md)")
    g.add_argument("--pt", choices=["known", "unknown"], default="known",
                   help="cpt law: 'unknown' for an open-source PT model (§6, App. G): S1pt is fitted, the PT is "
                        "taken as annealed to 0, the data are CPT-only runs (see --drop-pt)")
    g.add_argument("--n-unit", type=POSITIVE, default=None, help="model-size unit (default 1e6)")
    g.add_argument("--d-unit", type=POSITIVE, default=None, help="D-CPT token unit (default 1e9)")
    g.add_argument("--corpus", choices=["auto", "general", "domain"], default="auto",
                   help="D-CPT: which corpus's mixture share r is (default: general for loss:general)")
    o = f.add_argument_group("optimiser")
    o.add_argument("--n-starts", type=COUNT, default=128,
                   help="seeded multi-start points of the nonlinear parameters (default 128; a seed-independent "
                        "grid over their bounds is always added)")
    o.add_argument("--seed", type=_number(int, 0), default=0)
    o.add_argument("--sampler", choices=["sobol", "grid"], default="sobol")
    o.add_argument("--delta", type=POSITIVE, default=1e-3, help="Huber delta on log-loss residuals (default 1e-3)")
    u = f.add_argument_group("uncertainty")
    u.add_argument("--bootstrap", type=_number(int, 0), default=0, metavar="N",
                   help="N bootstrap refits for parameter and prediction intervals (e.g. 200; default 0: none)")
    u.add_argument("--bootstrap-method", choices=["runs", "residuals"], default="runs",
                   help="resample whole runs (default; needs >= 3 runs) or block-resample each run's residuals")
    f.set_defaults(func=cmd_fit)

    pr = on_saved_fit("predict", "Predict the loss of runs or of a planned schedule with a saved fit.",
                      data_required=False)
    pr.add_argument("--schedule", help="schedule spec (YAML/JSON) of a planned run")
    pr.add_argument("--steps", type=_number(int, 1, MAX_STEPS), help="number of steps of the planned run")
    pr.add_argument("--every", type=COUNT, help="also predict every K steps")
    pr.add_argument("--interval", type=LEVEL, metavar="LEVEL",
                    help="add lower,upper columns: the LEVEL prediction interval (e.g. 0.9) from the fit's bootstrap")
    out_opts(pr, "CSV to write ('-' for stdout)")
    pr.set_defaults(func=cmd_predict)

    ev = on_saved_fit("evaluate", "Score a saved fit on (held-out) runs: R2, MAE, RMSE, PredE, WorstE.")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--cpt-only", action="store_true", help="score only the CPT rows of each run")
    ev.set_defaults(func=cmd_evaluate)

    pl = on_saved_fit("plot", "Plot observed vs fitted/predicted loss, the LR schedule and residuals (PNG, SVG or PDF).")
    out_opts(pl, "figure file (.png, .svg, .pdf)")
    pl.set_defaults(func=cmd_plot)

    pn = add("plan", "Recommend CPT hyper-parameters from a plan space and a general/domain pair of CPT-law fits.")
    pn.add_argument("space", help="plan space (YAML): PT checkpoints, CPT knobs, objective, constraints")
    pn.add_argument("--general", required=True, help="CPT-law fit JSON of the general (PT-distribution) loss")
    pn.add_argument("--domain", required=True, help="CPT-law fit JSON of the domain loss")
    pn.add_argument("--ood", help="an OOD fit (cptlaw fit --law ood) made from these two fits: plan for that "
                                  "out-of-domain set (Eq. 6) instead of the space's objective")
    out_opts(pn, "output folder")
    pn.add_argument("--top", type=COUNT, default=10, help="best candidates listed per objective (default 10)")
    pn.add_argument("--quiet", action="store_true", help="no progress bar (bars appear only on a terminal anyway)")
    pn.add_argument("--horizon", type=_number(int, 1, MAX_STEPS), default=None,
                    help="longest CPT searched for the turning length (default 10x the plan's steps)")
    pn.set_defaults(func=cmd_plan)

    dp = add("dcpt-plan", "The D-CPT law's three usages: the mixture ratio under a general-loss cap, with limited "
                          "domain data, and the model-size / token split of a compute budget.")
    dp.add_argument("usage", choices=["ratio", "limited", "compute"])
    dp.add_argument("--domain", required=True, help="D-CPT fit JSON of the domain loss (r = the domain share)")
    dp.add_argument("--general", help="D-CPT fit JSON of the general loss (fitted with --corpus general)")
    dp.add_argument("--model-size", type=POSITIVE, help="non-embedding parameters")
    dp.add_argument("--tokens", type=POSITIVE, help="CPT tokens (ratio)")
    dp.add_argument("--domain-tokens", type=POSITIVE, help="domain tokens available (limited)")
    dp.add_argument("--epochs", type=POSITIVE, default=1.0, help="passes over the domain data (limited; default 1)")
    dp.add_argument("--general-before", type=POSITIVE, help="the general loss before CPT")
    dp.add_argument("--max-general-increase", type=POSITIVE, help="cap on the general-loss rise (default: relative)")
    dp.add_argument("--absolute", action="store_true", help="the cap is in nats, not a fraction")
    dp.add_argument("--compute", type=POSITIVE, help="training FLOPs, C = 6 N D (compute)")
    dp.add_argument("--ratio", type=_number(float, 0, 1), help="domain share of the mixture (compute)")
    dp.add_argument("--out", help="JSON to write (default: stdout)")
    dp.add_argument("--force", action="store_true", help="overwrite --out")
    dp.set_defaults(func=cmd_dcpt_plan)

    ig = add("ingest", "Read training logs (HF trainer_state.json, TensorBoard, Megatron, CSV/JSONL, MLflow, W&B) "
                       "into cptlaw's native format.")
    ig.add_argument("sources", nargs="+", help="log files or folders, or a W&B run: wandb:ENTITY/PROJECT/RUN_ID")
    out_opts(ig, "native CSV to write")
    source_opts(ig)
    ig.add_argument("--schedule", help="the run's LR schedule (a cptlaw spec, YAML/JSON; or a mapping run -> spec), "
                                       "needed when the LR is not logged at every step")
    ig.add_argument("--stitch", action="store_true", help="the sources are one run: a PT log, then a CPT log")
    ig.add_argument("--name", help="run name (default: the folder or file name)")
    ig.add_argument("--model-size", type=POSITIVE, help="non-embedding parameters")
    ig.add_argument("--tokens-per-step", type=POSITIVE, help="tokens per optimizer step")
    ig.add_argument("--replay-ratio", type=_number(float, 0, 1), help="share of PT data in the CPT batches")
    ig.add_argument("--lr-shift", type=_number(int, -1, 1), help="the LR logged at step s was applied at step "
                                                                 "s + SHIFT (default: the source's convention)")
    ig.add_argument("--quiet", action="store_true", help="print warnings only")
    ig.set_defaults(func=cmd_ingest)

    rp = add("report", "One self-contained HTML page: the data, each fit (equation, parameters, diagnostics, "
                       "curves), held-out scores and a plan.")
    rp.add_argument("fits", nargs="+", help="fit JSON file(s)")
    rp.add_argument("--data", nargs="+", required=True, help="the data the fits were made on (and held-out runs)")
    rp.add_argument("--heldout", help="comma-separated runs to score as held out (default: none)")
    rp.add_argument("--plan", help="a plan.json written by cptlaw plan")
    rp.add_argument("--title", default="cptlaw report", help="the page's title")
    rp.add_argument("--schedules", help="schedule side file (default: <data>.schedules.yaml if present)")
    source_opts(rp)
    out_opts(rp, "HTML file to write")
    rp.set_defaults(func=cmd_report)

    wt = add("watch", "A live forecast of a running job: follow its growing log, forecast the final losses with "
                      "bands, and warn when an observation leaves its predicted band.")
    wt.add_argument("log", help="the run's log: native CSV/JSONL, or a log cptlaw ingest reads (trainer_state.json, "
                                "TensorBoard, ...)")
    wt.add_argument("--fit", required=True, help="fit JSON(s), comma-separated (e.g. general.json,domain.json)")
    wt.add_argument("--schedule", required=True, help="the run's planned LR schedule (a cptlaw spec, YAML/JSON)")
    wt.add_argument("--steps", required=True, type=COUNT, help="the run's planned number of steps")
    wt.add_argument("--every", default="60s", help="how often to read the log (default 60s)")
    wt.add_argument("--updates", type=COUNT, help="stop after this many reports (default: until Ctrl-C)")
    wt.add_argument("--run", help="the run to follow in a log with several")
    wt.add_argument("--kind", choices=["auto", *INGEST_KINDS], default="auto", help="what the log is (default: detected)")
    wt.set_defaults(func=cmd_watch)

    de = add("demo", "Fit -> predict held-out schedules -> plots -> accuracy -> a plan, on data that ships with cptlaw.")
    de.add_argument("--out", default="cptlaw-demo", help="output folder (default ./cptlaw-demo)")
    de.add_argument("--force", action="store_true", help="overwrite files in --out")
    de.add_argument("--quick", action="store_true", help="fewer multi-starts (for smoke tests)")
    de.set_defaults(func=cmd_demo)

    pi = add("pilot", "Train small LLaMA-style pilot models (PT, then CPT with replay) and write native data.")
    pisub = pi.add_subparsers(dest="pilot_command", required=True, metavar="PILOT_COMMAND")
    co = pisub.add_parser("corpora", help="build the corpora and tokenizer (cptlaw pilot corpora build)")
    co.add_argument("action", choices=["build"])
    co.add_argument("--only", help="comma-separated corpora (default: all)")
    co.add_argument("--root", help="cache folder (default: $CPTLAW_CACHE or ~/.cache/cptlaw)")
    co.add_argument("--vocab-size", type=_number(int, 260, 1_000_000), default=4096)
    ru = pisub.add_parser("run", help="train one run from a YAML config (resumes after a crash)")
    ru.add_argument("config")
    sw = pisub.add_parser("sweep", help="run a sweep, skipping finished runs")
    sw.add_argument("config", help="a sweep YAML file, or a bundled recipe: german-mix, domains")
    sw.add_argument("--jobs", type=COUNT, default=1, help="worker processes (default 1)")
    sw.add_argument("--dry-run", action="store_true", help="list the runs only")
    sw.add_argument("--quiet", action="store_true", help="no progress bar (bars appear only on a terminal anyway)")
    ex = pisub.add_parser("export", help="pack a sweep's finished runs into a compact native dataset "
                                         "(evaluation rows + schedule side file)")
    ex.add_argument("config", help="the sweep YAML file or bundled recipe (its out: folder, from here)")
    ex.add_argument("dest", help="folder for runs.csv, runs.schedules.yaml and provenance.json")
    ex.add_argument("--force", action="store_true", help="overwrite existing files")
    pi.set_defaults(func=cmd_pilot)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # e.g. during start-up, before a command runs
        print("cptlaw: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from . import progress

    progress.QUIET = bool(getattr(args, "quiet", False))
    try:
        return args.func(args)
    except (CptlawError, FileExistsError) as exc:
        print(f"cptlaw {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cptlaw {args.command}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # files are written atomically: nothing partial is left behind
        print(f"cptlaw {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
