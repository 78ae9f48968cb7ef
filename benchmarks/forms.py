"""Which form of the CPT law to use: what ``cptlaw select`` picks on each bundled set from the five pilots alone,
and what each form's held-out error is on the runs those pilots do not include.

Per bundled pilot set, size and target (general and domain loss): the split is the demo's (``cptlaw.datasets.
splits``: fit on the two PT runs and three replay-0.25 CPT runs, constant and cosine from one transfer point and
cosine from an earlier one; every other replay-0.25 CPT run of the size held out).

* **select**: :func:`cptlaw.select.select` on the five fit runs only (cross-validation over their three CPT runs:
  leave one run out and leave one transfer point out; warm-started fold fits), and the form it chooses.
* **held out**: every form fitted on the five runs (the fit ``select`` makes), scored on the held-out runs' CPT
  rows: PredE (mean over runs of each run's mean relative error), WorstE (the largest point error) and the early
  error (mean over the first 10% of each run's CPT steps).

* **defaults**: select's cross-validation over the whole bundled grid of each size (every replay-0.25 CPT run and
  the PT runs): the evidence cptlaw's default forms (``cptlaw.laws.cpt.DEFAULT_FORMS``) are chosen on.  A form
  becomes a default for a role of the loss only where it beats Eq. 4's CV PredE on every bundled set.

Nothing is chosen on the five-pilot held-out runs: they are only scored.  Results are cached per case in
``benchmarks/results/forms.json`` and ``forms_full.json`` (a long run resumes; each case records its time, which
is only a timing when the machine was otherwise idle: ``--timing`` measures select alone).
Writes docs/accuracy-forms.md.  Run: python -m benchmarks forms [--out PATH] [--fresh] [--timing]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from cptlaw.datasets import load
from cptlaw.datasets.splits import gpu_german_split
from cptlaw.io import atomic_write_text
from cptlaw.laws.cpt import DEFAULT_FORMS
from cptlaw.pilots import kinds_of
from cptlaw.laws import CPTLaw
from cptlaw.select import EARLY_SHARE, FORMS, FormScore, choose, form_name, heldout_errors, preference, select

from ._cases import PILOT_SETS
from .harness import command, describe, page_parser, write_page

CACHE = Path(__file__).resolve().parent / "results" / "forms.json"
CACHE_FULL = Path(__file__).resolve().parent / "results" / "forms_full.json"
CACHE_EARLY = Path(__file__).resolve().parent / "results" / "forms_early.json"
def cases():
    for ds, sizes, doms, split_of in PILOT_SETS:
        for m in sizes:
            for d in doms:
                for target in (f"loss:{d}", "loss:general"):
                    yield ds, m, d, target, split_of


def heldout(law, runs, held, target) -> dict:
    errs = [heldout_errors(law, runs[n], target) for n in held]
    early = [e["early_e"] for e in errs if e["early_e"] is not None]
    return {"pred_e": float(np.mean([e["pred_e"] for e in errs])), "worst_e": float(max(e["worst_e"] for e in errs)),
            "early_e": float(np.mean(early)) if early else None, "runs": len(errs)}


def run_case(ds, m, d, target, split_of) -> dict:
    runs = load(ds)
    split = split_of(m, d).present(runs)
    t0 = time.perf_counter()
    sel = select(runs, target, names=list(split.fit))
    elapsed = time.perf_counter() - t0
    forms = {}
    for s in sel.table:
        law = sel.laws[s.form]  # the form fitted on the five runs
        forms[s.form] = {"cv": {k: getattr(s, k) for k in ("cv_pred_e", "cv_se", "cv_worst_e", "cv_early_e",
                                                             "pooled_r2", "mean_run_r2", "n_params")},
                         "held_out": heldout(law, runs, list(split.held_out), target),
                         "params": law.params_}
    return {"set": ds, "size": m, "domain": d, "target": target, "chosen": sel.chosen, "select_s": elapsed,
            "held_out_runs": list(split.held_out), "forms": forms, "prefer": list(_prefer(runs, split.fit, target))}


def _prefer(runs, names, target):
    return preference(CPTLaw(), runs.select(list(names)).with_target(target), target)


def chosen(case: dict) -> str:
    """select's choice from the case's cached CV table (the current rule, without refitting)."""
    table = [FormScore(f, {}, r["cv"]["n_params"], r["cv"]["cv_pred_e"], r["cv"]["cv_se"], r["cv"]["cv_worst_e"],
                       r["cv"]["cv_early_e"], r["cv"]["pooled_r2"], r["cv"]["mean_run_r2"], 0.0)
             for f, r in case["forms"].items()]
    return choose(table, prefer=tuple(case.get("prefer") or FORMS))[0]


def full_names(runs, m, d) -> list[str]:
    """The size's PT runs and every replay-0.25 CPT run of the domain: the whole bundled grid of the size."""
    return [n for n in runs.names if n.startswith(f"{m}_pt_")
            or (n.startswith(f"{m}_{d}_") and (n.endswith("_r25")))]


def full_case(ds, m, d, target, split_of=None) -> dict:
    """select's cross-validation over the whole bundled grid of the size (leave one CPT run out, leave one
    transfer point out): what the defaults are chosen on."""
    runs = load(ds)
    t0 = time.perf_counter()
    sel = select(runs, target, names=full_names(runs, m, d))
    return {"set": ds, "size": m, "domain": d, "target": target, "chosen": sel.chosen,
            "select_s": time.perf_counter() - t0, "folds": len(sel.folds),
            "forms": {s.form: {"cv": {k: getattr(s, k) for k in ("cv_pred_e", "cv_se", "cv_worst_e", "cv_early_e",
                                                                  "pooled_r2", "mean_run_r2", "n_params")},
                               "params": sel.laws[s.form].params_} for s in sel.table}}


def early_rewarm_case(ds, m, d, target, split_of) -> dict:
    """The largest error at any point in the first 10% of a held-out re-warmup run's CPT steps (the issue's
    early-point target), for Eq. 4 and the default form, fitted on the five pilots."""
    runs = load(ds)
    split = split_of(m, d).present(runs)
    rewarm = [n for n in split.held_out if "rewarmup" in kinds_of(runs[n])]
    out = {}
    for label, law in (("eq4", CPTLaw(**FORMS["eq4"])), ("default", CPTLaw())):
        law.fit(runs, target, names=list(split.fit))
        worst = {}
        for n in rewarm:
            run = runs[n]
            idx, y = run.observed(target)
            t, span = run.transfer_step, run.steps[-1] - run.transfer_step + 1
            keep = (run.steps[idx] >= t) & (run.steps[idx] - t < EARLY_SHARE * span)
            worst[n] = float(np.max(np.abs(law.predict(run, run.steps[idx[keep]]) - y[keep]) / y[keep]))
        out[label] = worst
    return out


def _key(ds, m, d, target) -> str:
    return f"{ds}|{m}|{d}|{target}"


def cached(path: Path, case, fresh: bool = False) -> dict[str, dict]:
    """Per case of :func:`cases`, ``case(ds, m, d, target, split_of)``: read from the cache at ``path``, computed
    where it lacks the case, and saved after each one (a long run resumes)."""
    cache = {} if fresh or not path.exists() else json.loads(path.read_text())
    for ds, m, d, target, split_of in cases():
        key = _key(ds, m, d, target)
        if key not in cache:
            cache[key] = case(ds, m, d, target, split_of)
            atomic_write_text(path, json.dumps(cache, indent=1), force=True)
            print(f"{path.stem} {key}", flush=True)
    return cache


def compute(fresh: bool = False) -> list[dict]:
    cache = cached(CACHE, run_case, fresh)
    for ds, m, d, target, split_of in cases():
        case = cache[_key(ds, m, d, target)]
        if "prefer" not in case:  # (cases cached before the preference order was recorded)
            case["prefer"] = list(_prefer(load(ds), split_of(m, d).fit, target))
            atomic_write_text(CACHE, json.dumps(cache, indent=1), force=True)
    return [cache[_key(ds, m, d, target)] for ds, m, d, target, _ in cases()]


def compute_full(fresh: bool = False) -> list[dict]:
    cache = cached(CACHE_FULL, full_case, fresh)
    return [cache[_key(ds, m, d, target)] for ds, m, d, target, _ in cases()]


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def role(target: str) -> str:
    return "general" if target == "loss:general" else "domain"


def default_of(target: str) -> str:
    return form_name(DEFAULT_FORMS[role(target)])


def gains(full: list[dict]) -> dict[str, dict[str, bool]]:
    """Per role and form: whether its CV PredE beats Eq. 4's on every bundled set (the rule for a default)."""
    out: dict[str, dict[str, bool]] = {}
    for r in ("general", "domain"):
        cases = [c for c in full if role(c["target"]) == r]
        out[r] = {f: all(c["forms"][f]["cv"]["cv_pred_e"] < c["forms"]["eq4"]["cv"]["cv_pred_e"] for c in cases)
                  for f in FORMS if f != "eq4"}
    return out


def early_table(early: dict) -> str:
    lines = ["| set | size | target | re-warmup runs held out | Eq. 4: worst early point | default: worst early point |",
             "|---|---|---|---|---|---|"]
    for key, v in early.items():
        ds, m, _, target = key.split("|")
        if v["eq4"]:
            lines.append(f"| {ds} | {m} | {target} | {len(v['eq4'])} | {pct(max(v['eq4'].values()))} | "
                         f"{pct(max(v['default'].values()))} |")
    return "\n".join(lines)


def page(rows: list[dict], full: list[dict], timing: list[dict] | None = None, early: dict | None = None) -> str:
    forms = list(FORMS)
    head = "| set | size | target | " + " | ".join(forms) + " |\n|---|---|---|" + "---|" * len(forms)
    lines = [head]
    for c in full:
        best = min(forms, key=lambda f: c["forms"][f]["cv"]["cv_pred_e"])
        lines.append(f"| {c['set']} | {c['size']} | {c['target']} | " + " | ".join(
            ("**" if f == best else "") + pct(c["forms"][f]["cv"]["cv_pred_e"]) + ("**" if f == best else "")
            for f in forms) + " |")
    full_table = "\n".join(lines)
    g = gains(full)
    verdict = []
    for r in ("general", "domain"):
        winners = [f for f, ok in g[r].items() if ok]
        verdict.append(f"- {r} loss: forms that beat Eq. 4 on every set: {', '.join(winners) or 'none'}; "
                       f"cptlaw's default: **{form_name(DEFAULT_FORMS[r])}**.")
    lines = ["| set | size | target | default | Eq. 4 PredE | WorstE | early | default PredE | WorstE | early | "
             "select's choice | its PredE |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in rows:
        e, dflt = c["forms"]["eq4"]["held_out"], default_of(c["target"])
        d, ch = c["forms"][dflt]["held_out"], chosen(c)
        lines.append(f"| {c['set']} | {c['size']} | {c['target']} | {dflt} | {pct(e['pred_e'])} | {pct(e['worst_e'])} | "
                     f"{pct(e['early_e'])} | {pct(d['pred_e'])} | {pct(d['worst_e'])} | {pct(d['early_e'])} | "
                     f"{ch} | {pct(c['forms'][ch]['held_out']['pred_e'])} |")
    summary = "\n".join(lines)
    lines = [head.replace("| target |", "| target |")]
    for c in rows:
        ch = chosen(c)
        lines.append(f"| {c['set']} | {c['size']} | {c['target']} | " + " | ".join(
            ("**" if f == ch else "") + pct(c["forms"][f]["held_out"]["pred_e"]) + ("**" if f == ch else "")
            for f in forms) + " |")
    held = "\n".join(lines)
    lines = [head]
    for c in rows:
        lines.append(f"| {c['set']} | {c['size']} | {c['target']} | "
                     + " | ".join(pct(c["forms"][f]["cv"]["cv_pred_e"]) for f in forms) + " |")
    cv = "\n".join(lines)
    dom = [c for c in rows if role(c["target"]) == "domain"]
    gen = [c for c in rows if role(c["target"]) == "general"]

    def mean_worst(cases, form_of):
        pe = [c["forms"][form_of(c)]["held_out"]["pred_e"] for c in cases]
        we = [c["forms"][form_of(c)]["held_out"]["worst_e"] for c in cases]
        return f"mean {pct(float(np.mean(pe)))}, worst run-mean {pct(max(pe))}, worst point {pct(max(we))}"

    as_good = sum(c["forms"][default_of(c["target"])]["held_out"]["pred_e"]
                  <= c["forms"][chosen(c)]["held_out"]["pred_e"] + 1e-4 for c in rows)
    timing_text = ""
    if timing:
        timing_text = "\n## Time of select (all eight forms, five pilots)\n\n" + "\n".join(
            f"- {t['set']} {t['size']} {t['target']}: {t['seconds']:.1f} s ({t['machine']})" for t in timing) + "\n"
    return f"""# Which CPT law form: cross-validation, cptlaw's defaults, and held-out error

Generated by `{command("forms")}` on {describe()} (cases cached in `benchmarks/results/`).

{__doc__.split("Nothing is chosen")[0].strip()}

The forms (`cptlaw.select.FORMS`, `cptlaw/laws/cpt.py` for each term's source): `eq4` is the paper's Eq. 4;
`sqrt` drives the shift by the square-root-LR clock; `fading` lets the PT annealing credit fade as the shift
proceeds; `w` weighs PT steps in the forward area by a fitted w.  All but `w` have Eq. 4's 8 parameters; `w`
adds one.

## The defaults: cross-validation over each bundled grid (bold: lowest)

{full_table}

{chr(10).join(verdict)}

## Held-out error on the five-pilot split: Eq. 4, cptlaw's default, and select's choice

Over the held-out runs' CPT rows (PredE: mean over runs; WorstE: the largest point error; early: the first 10% of
each run's CPT steps).  The default form: domain losses {mean_worst(dom, lambda c: default_of(c["target"]))}
(Eq. 4: {mean_worst(dom, lambda c: "eq4")}); general losses {mean_worst(gen, lambda c: default_of(c["target"]))}.

{summary}

With five pilots, select's cross-validation has three CPT runs, none from an annealed PT checkpoint and none
re-warmed: it cannot see the terms those runs would pin down (`cptlaw pilots` says which runs to add).  On these
splits the default form predicts as well as select's choice or better in {as_good} of {len(rows)} cases (within
0.01 points of PredE).  select pays off with more runs than the starting set: the cross-validation over the whole
grids above is select on every run.
{timing_text}
## The first 10% of a re-warmup, point by point

The largest relative error at any evaluation in the first 10% of the CPT steps of the held-out re-warmup runs
(five-pilot split; the target is 5%).

{early_table(early or {})}

## Held-out PredE of every form, five-pilot split (bold: select's choice)

{held}

## Cross-validation PredE on the five fit runs (what select saw)

{cv}
"""


def time_select() -> list[dict]:
    """select on the demo's five pilots (pilot-gpu-german, model m), both losses: its wall time in one process and
    with one process per core, side by side."""
    runs = load("pilot-gpu-german")
    split = gpu_german_split("m")
    out = []
    for target in ("loss:german", "loss:general"):
        for jobs in (1, None):
            t0 = time.perf_counter()
            select(runs, target, names=list(split.fit), n_jobs=jobs)
            out.append({"set": "pilot-gpu-german", "size": "m", "target": target, "seconds": time.perf_counter() - t0,
                        "machine": f"{'1 process' if jobs == 1 else 'one process per core'}; {describe()}"})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = page_parser("forms", __doc__, "accuracy-forms.md")
    ap.add_argument("--fresh", action="store_true", help="recompute every case (ignore the cache)")
    ap.add_argument("--timing", action="store_true", help="also time select alone (run on an idle machine)")
    args = ap.parse_args(argv)
    rows, full, early = compute(args.fresh), compute_full(args.fresh), cached(CACHE_EARLY, early_rewarm_case, args.fresh)
    write_page(args.out, page(rows, full, time_select() if args.timing else None, early))
