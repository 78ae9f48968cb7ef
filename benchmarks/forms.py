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

Nothing here is chosen on the held-out runs: they are only scored.  Results are cached per case in
``benchmarks/results/forms.json`` (a long run resumes).  Writes docs/accuracy-forms.md.
Run: python -m benchmarks forms [--out PATH] [--fresh]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from cptlaw.datasets import load
from cptlaw.datasets.splits import gpu_german_split, pilot_split
from cptlaw.io import atomic_write_text
from cptlaw.select import FORMS, heldout_errors, select

from .harness import command, describe, page_parser, write_page

CACHE = Path(__file__).resolve().parent / "results" / "forms.json"
CACHE_FULL = Path(__file__).resolve().parent / "results" / "forms_full.json"
SETS = [("pilot-gpu-german", ("s", "m", "l"), ("german",), gpu_german_split),
        ("pilot-gpu-german-mix", ("s", "m"), ("german",), gpu_german_split),
        ("pilot-v1", ("s", "m"), ("code", "legal"), pilot_split)]


def cases():
    for ds, sizes, doms, split_of in SETS:
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
            "held_out_runs": list(split.held_out), "forms": forms}


def full_names(runs, m, d) -> list[str]:
    """The size's PT runs and every replay-0.25 CPT run of the domain: the whole bundled grid of the size."""
    return [n for n in runs.names if n.startswith(f"{m}_pt_")
            or (n.startswith(f"{m}_{d}_") and (n.endswith("_r25")))]


def full_case(ds, m, d, target) -> dict:
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


def compute_full(fresh: bool = False) -> list[dict]:
    cache = {} if fresh or not CACHE_FULL.exists() else json.loads(CACHE_FULL.read_text())
    out = []
    for ds, m, d, target, _ in cases():
        key = f"{ds}|{m}|{d}|{target}"
        if key not in cache:
            cache[key] = full_case(ds, m, d, target)
            atomic_write_text(CACHE_FULL, json.dumps(cache, indent=1), force=True)
            print(f"full {key}: chose {cache[key]['chosen']} ({cache[key]['select_s']:.0f} s)", flush=True)
        out.append(cache[key])
    return out


def compute(fresh: bool = False) -> list[dict]:
    cache = {} if fresh or not CACHE.exists() else json.loads(CACHE.read_text())
    out = []
    for ds, m, d, target, split_of in cases():
        key = f"{ds}|{m}|{d}|{target}"
        if key not in cache:
            cache[key] = run_case(ds, m, d, target, split_of)
            atomic_write_text(CACHE, json.dumps(cache, indent=1), force=True)
            print(f"{key}: chose {cache[key]['chosen']} ({cache[key]['select_s']:.0f} s)", flush=True)
        out.append(cache[key])
    return out


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def page(rows: list[dict]) -> str:
    forms = list(FORMS)
    lines = ["| set | size | target | chosen | " + " | ".join(forms) + " |", "|---|---|---|---|" + "---|" * len(forms)]
    for r in rows:
        cells = []
        for f in forms:
            h = r["forms"][f]["held_out"]
            mark = "**" if f == r["chosen"] else ""
            cells.append(f"{mark}{pct(h['pred_e'])}{mark}")
        lines.append(f"| {r['set']} | {r['size']} | {r['target']} | {r['chosen']} | " + " | ".join(cells) + " |")
    held = "\n".join(lines)
    lines = ["| set | size | target | " + " | ".join(forms) + " |", "|---|---|---|" + "---|" * len(forms)]
    for r in rows:
        lines.append(f"| {r['set']} | {r['size']} | {r['target']} | "
                     + " | ".join(pct(r["forms"][f]["cv"]["cv_pred_e"]) for f in forms) + " |")
    cv = "\n".join(lines)
    lines = ["| set | size | target | Eq. 4 PredE | Eq. 4 WorstE | Eq. 4 early | chosen PredE | chosen WorstE | "
             "chosen early | select time |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e, c = r["forms"]["eq4"]["held_out"], r["forms"][r["chosen"]]["held_out"]
        lines.append(f"| {r['set']} | {r['size']} | {r['target']} | {pct(e['pred_e'])} | {pct(e['worst_e'])} | "
                     f"{pct(e['early_e'])} | {pct(c['pred_e'])} | {pct(c['worst_e'])} | {pct(c['early_e'])} | "
                     f"{r['select_s']:.0f} s |")
    summary = "\n".join(lines)
    return f"""# Which CPT law form: cross-validation on the pilots, and held-out error

Generated by `{command("forms")}` on {describe()} (cases cached in `benchmarks/results/forms.json`).

{__doc__.split("Nothing here")[0].strip()}

## Held-out error of what select chose against Eq. 4

{summary}

## Held-out PredE of every form (bold: select's choice)

{held}

## Cross-validation PredE on the five fit runs (what select saw)

{cv}
"""


def main(argv: list[str] | None = None) -> None:
    ap = page_parser("forms", __doc__, "accuracy-forms.md")
    ap.add_argument("--fresh", action="store_true", help="recompute every case (ignore the cache)")
    args = ap.parse_args(argv)
    write_page(args.out, page(compute(args.fresh)))
