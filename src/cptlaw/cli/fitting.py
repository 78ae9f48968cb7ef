"""``cptlaw fit``: a law fitted through :meth:`Law.fit` (or an OOD / cross-domain fit), written and reported."""

from __future__ import annotations

import json
import sys

from ..data import target_column
from ..errors import CptlawError
from ..fit.result import jsonable
from ..laws import CURVE_LAWS, LAWS, load, make_law
from ..laws.dcpt_cross import CrossDomainDCPTLaw
from ..laws.ood import OODLaw
from ..select import select as select_form, selection_lines
from ..suggest import suggest_if_unidentified
from .common import is_points, points_design, read_data, refuse_existing, runs_arg, save_fit


# the convention flags of ``cptlaw fit``, each named after the law option it sets (None: not given)
CONVENTIONS = ("lam", "warmup", "warmup_steps", "momentum", "lr_index", "size", "replay", "replay_factor", "shift", "pt_credit",
               "pt_weight", "pt", "n_unit", "d_unit", "corpus")


def _law_options(args, **fixed) -> dict:
    """The options of --law from the convention flags given, by the law's own option names (``option_names``);
    a flag the law has no option for is an error, not ignored."""
    names = LAWS[args.law].option_names()
    opts = {}
    for flag in CONVENTIONS:
        value = getattr(args, flag, None)
        if value is None:
            continue
        if flag not in names:
            given = f"--{flag.replace('_', '-')}" + ("" if value is True else f" {value}")
            raise CptlawError(f"{given}: the {args.law} law has no such option")
        opts[flag] = value
    return {**opts, **fixed}


def fit(args) -> int:
    target = target_column(args.target)
    if args.law == "ood" or args.from_ is not None:
        return _fit_ood(args, target)
    if args.law == "dcpt-cross":
        return _fit_cross(args, target)
    points = is_points(args.law, args.data)
    if points and args.corpus is not None:
        raise CptlawError("--corpus does not apply to a points table: its ratio column is r itself")
    law = make_law(args.law, **_law_options(args, **({"corpus": "table"} if points else {})))
    if args.bootstrap == 1:
        raise CptlawError("--bootstrap needs at least 2 resamples (e.g. 200), or 0 for none")
    fit_opts = dict(delta=args.delta, n_starts=args.n_starts, seed=args.seed, sampler=args.sampler,
                    bootstrap=args.bootstrap, bootstrap_method=args.bootstrap_method)
    refuse_existing(args.out, args.force, stdout=True)  # (JSON or CSV text: "-" is standard output)
    if points:
        pts, design = points_design(law, args.data[0], need_loss=True)
        design = design.select_runs(runs_arg(args.runs))  # the points of the runs given (the table's run column)
        law.fit_design(design, target=target, data_hash=pts.data_hash(), data_source=pts.source, **fit_opts)
    else:
        runs = read_data(args.data, args.schedules, need_lr=law.USES_LR, args=args)
        law = suggest_if_unidentified(law.fit(runs, target, names=runs_arg(args.runs), **fit_opts), runs)
    save_fit(args, law.result_)
    # the fitted equation: it names the form in use (e.g. the CPT law's default for a domain loss)
    print(f"  equation: {law.equation()}", file=sys.stderr if args.out == "-" else sys.stdout)
    return 0


def _fit_cross(args, target) -> int:
    """``cptlaw fit --law dcpt-cross``: the Cross-Domain D-CPT law over the CPT runs of several domains."""
    if target != "loss:domain":
        raise CptlawError("--law dcpt-cross fits each CPT run on its own domain loss: give --target domain")
    refuse_existing(args.out, args.force, stdout=True)  # (JSON or CSV text: "-" is standard output)
    opts = {k: v for k, v in (("n_unit", args.n_unit), ("d_unit", args.d_unit)) if v is not None}
    law = CrossDomainDCPTLaw(probe_steps=args.probe_steps, probe_replay=args.probe_replay, **opts)
    runs = read_data(args.data, args.schedules, need_lr=False, args=args)
    law.fit(runs, target, names=runs_arg(args.runs), delta=args.delta, n_starts=args.n_starts, seed=args.seed,
            sampler=args.sampler)
    save_fit(args, law.result_)
    out = sys.stderr if args.out == "-" else sys.stdout
    for domain, (k1, k2) in law.k_.items():
        print(f"  K of {domain}: k1 = {k1:.4g}, k2 = {k2:.4g} (probe {law.result_.diagnostics.probes.get(domain)}, "
              f"first {law.probe_steps} CPT steps)", file=out)
    return 0


def _fit_ood(args, target) -> int:
    """``cptlaw fit --law ood --from general.json,domain.json``: Eq. 6's coefficients by least squares."""
    if args.law != "ood":
        raise CptlawError("--from applies to --law ood only")
    parts = [p.strip() for p in (args.from_ or "").split(",") if p.strip()]
    if len(parts) != 2:
        raise CptlawError("--law ood needs --from GENERAL.json,DOMAIN.json: the fits of the general (or proxy) set "
                          "and of the domain set")
    refuse_existing(args.out, args.force, stdout=True)  # (JSON or CSV text: "-" is standard output)
    fits = [load(p).result_ for p in parts]
    for path, fit in zip(parts, fits):
        if fit.law_name not in CURVE_LAWS:
            raise CptlawError(f"--from {path}: a fit of the {fit.law_name} law; give fits of a loss-curve law "
                              f"({', '.join(CURVE_LAWS)})")
        if fit.target == target:
            raise CptlawError(f"--from {path}: a fit of {target} itself; the OOD set is predicted from the fits of "
                              f"two other sets")
    runs = read_data(args.data, args.schedules, args=args)
    result = OODLaw(general=fits[0], domain=fits[1]).fit(runs, target, names=runs_arg(args.runs)).result_
    save_fit(args, result)
    out = sys.stderr if args.out == "-" else sys.stdout
    spread = result.diagnostics.coefficient_spread
    if spread:
        print("fitted run by run (stability): " + ", ".join(
            f"{k} {v['min']:.3g} to {v['max']:.3g} (sd {v['std']:.2g})" for k, v in spread.items()), file=out)
    return 0


def select(args) -> int:
    """``cptlaw select``: the CPT law's form chosen by cross-validation (:func:`cptlaw.select.select`), fitted on
    every run and written with the table."""
    refuse_existing(args.out, args.force, stdout=True)  # (JSON or CSV text: "-" is standard output)
    base = {flag: getattr(args, flag) for flag in CONVENTIONS if getattr(args, flag, None) is not None}
    forms = None if args.forms is None else [f.strip() for f in args.forms.split(",") if f.strip()]
    if forms == []:
        raise CptlawError("--forms names no form; give a comma-separated list, e.g. eq4,sqrt+fading+w")
    runs = read_data(args.data, args.schedules, args=args)
    sel = select_form(runs, args.target, names=runs_arg(args.runs), forms=forms, base_options=base,
                      refit=args.refit, tolerance=args.tolerance, n_jobs=args.jobs,
                      fit_options=dict(delta=args.delta, n_starts=args.n_starts, seed=args.seed, sampler=args.sampler))
    out = sys.stderr if args.out == "-" else sys.stdout
    if args.json:
        print(json.dumps(jsonable(sel.record()), indent=1, allow_nan=False), file=out)
    else:
        print("\n".join(selection_lines(sel)), file=out)
    save_fit(args, sel.law.result_)
    return 0
