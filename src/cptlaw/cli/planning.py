"""``cptlaw plan`` and ``dcpt-plan``: the CPT planner over a space, and the D-CPT law's three usages."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import yaml

from ..errors import CptlawError
from ..pilots import KINDS, coverage, kind_lines, sweep
from ..fit.result import jsonable
from ..laws import load
from ..plan import dcpt, load_space, outputs
from ..plan.pair import check_planning_law, ood_space, pair_warnings
from .common import out_text, read_data, refuse_existing, runs_arg

USAGE_NEEDS = {"ratio": ("model_size", "tokens"), "limited": ("model_size", "domain_tokens"),
               "compute": ("compute", "ratio")}


def plan(args) -> int:
    refuse_existing(args.out, True)  # (only "-" is refused here: outputs.write refuses each file it would replace)
    space = load_space(args.space)
    sources = {"general": f"--general {args.general}", "domain": f"--domain {args.domain}"}
    laws = {"general": load(args.general), "domain": load(args.domain)}
    for label, law in laws.items():
        check_planning_law(law, sources[label])
    for line in pair_warnings(laws["general"], laws["domain"], sources):
        print(f"cptlaw plan: warning: {line}", file=sys.stderr)
    if args.ood:
        space = ood_space(space, load(args.ood), laws, f"--ood {args.ood}", sources)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CptlawError(f"--out {out}: exists and is not a folder")
    doc, res = outputs.build(laws["general"], laws["domain"], space, top=args.top, horizon=args.horizon,
                             sources={"general": args.general, "domain": args.domain})
    files = outputs.files(doc, res, space, laws["general"], laws["domain"])
    outputs.write(out, files, force=args.force)
    print("\n".join(outputs.summary_lines(doc)))
    print(f"wrote {', '.join(files)} in {out}", file=sys.stderr)
    return 0


def dcpt_plan(args) -> int:
    for key in USAGE_NEEDS[args.usage]:
        if getattr(args, key) is None:
            raise CptlawError(f"{args.usage} needs --{key.replace('_', '-')}")
    general = load(args.general) if args.general else None
    domain = load(args.domain)
    cap = dict(max_increase=args.max_general_increase, relative=not args.absolute)
    if args.allow_extrapolation:
        cap.update(r_min=1e-3 if args.usage == "limited" else 0.0, r_max=1.0)
    if args.usage == "ratio":
        if general is None or args.general_before is None or args.max_general_increase is None:
            raise CptlawError("ratio needs --general, --general-before and --max-general-increase")
        out = dcpt.ratio_under_general_cap(general, domain, args.model_size, args.tokens, args.general_before, **cap)
    elif args.usage == "limited":
        out = dcpt.ratio_limited_domain(domain, args.model_size, args.domain_tokens, args.epochs, general,
                                        args.general_before, **cap)
    else:
        out = dcpt.compute_split(domain, args.compute, args.ratio)
    text = json.dumps(jsonable(out), indent=2) + "\n"
    if args.out:
        out_text(args.out, text, args.force)
    else:
        sys.stdout.write(text)
    if out.get("domain_ratio") is not None and math.isnan(out["domain_ratio"]):
        print("cptlaw dcpt-plan: warning: no ratio meets the general-loss cap", file=sys.stderr)
    for x in out["extrapolation"]:  # the law is not known to hold there
        print(f"cptlaw dcpt-plan: warning: extrapolation: {dcpt.describe_extrapolation(x)}", file=sys.stderr)
    return 0


def pilots(args) -> int:
    """``cptlaw pilots``: the pilot kinds and what each pins down; with --data, which the runs cover; with --out, a
    sweep file that trains them (or only the missing ones)."""
    if args.missing_only and not (args.data and args.out):
        raise CptlawError("--missing-only writes the missing pilots to --out and needs --data (the runs you have)")
    cover = None
    if args.data:
        cover = coverage(read_data(args.data, args.schedules, args=args), runs_arg(args.runs))
    print("pilot runs for the CPT law (the first five: the starting set; the last two tell its forms apart):")
    print("\n".join(kind_lines(cover)))
    if args.out is None:
        return 0
    need = {"--pt-steps": args.pt_steps, "--cpt-steps": args.cpt_steps, "--peak-lr": args.peak_lr,
            "--domain": args.domain}
    missing = [k for k, v in need.items() if v is None]
    if missing:
        raise CptlawError(f"--out writes a sweep file and needs {', '.join(missing)}")
    kinds = [k.key for k in KINDS if not (args.missing_only and cover[k.key])]
    if not kinds:
        print("your runs cover every pilot kind: nothing to train", file=sys.stderr)
        return 0
    doc = sweep(pt_steps=args.pt_steps, cpt_steps=args.cpt_steps, peak_lr=args.peak_lr, domain=args.domain,
                warmup=args.warmup, replay=args.replay, kinds=kinds)
    text = "# cptlaw pilots: train with `cptlaw pilot sweep FILE` (pilot extra); edit models/common to taste\n"
    out_text(args.out, text + yaml.safe_dump(doc, sort_keys=False), args.force)
    return 0
