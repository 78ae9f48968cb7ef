"""Robustness of the fit to the multi-start seed: objective and held-out PredE over 20 seeds, cptlaw's fitter
(variable projection) beside the fitter it replaced (``benchmarks._legacy_fit``), in one run, on three real data sets:

* pilot-v1 (bundled; model m, CPT on code): CPT law, general and code loss; held out: the demo's 4 CPT runs;
* MPL 400M (bundled): annealing and multi-power laws on the paper's training split; held out: its 6 test runs;
* pilot-gpu-german (``../shared/data/pilot-gpu-german``; skipped when absent): CPT law per size (s, m, l),
  general and german loss, fitted on the runs of its PROVENANCE.md; held out: every other replay-0.25 CPT run.

Held-out PredE is over the CPT rows of held-out CPT runs (every row for MPL).  Prints a Markdown table and
writes benchmarks/results/fit_robustness.json.
Run: python -m benchmarks fit_robustness [--seeds 20] [--skip-mpl-law]
"""

import json
import time

import numpy as np

from cptlaw.io import atomic_write_text
from cptlaw.evaluate import evaluate
from cptlaw.fit import fit_design
from cptlaw.laws import AnnealingLaw, MultiPowerLaw, from_params

from ._cases import german_cases, mpl_cases, pilot_cases
from ._legacy_fit import legacy_fit
from .harness import RESULTS, describe, parser


def cases(skip_mpl_law: bool):
    yield from pilot_cases(models=("m",), domains=("code",))
    yield from mpl_cases((AnnealingLaw,) + (() if skip_mpl_law else (MultiPowerLaw,)))
    yield from german_cases()


def _with_params(result, params):
    return from_params(result.law_name, {k: float(v) for k, v in params.items()}, result.target, **result.law_options)


def main(argv: list[str] | None = None) -> None:
    ap = parser("fit_robustness", __doc__)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--skip-mpl-law", action="store_true")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds))
    out = {"machine": describe(), "seeds": seeds, "cases": []}
    print(f"Machine: {out['machine']}\n")
    print("| data | law | target | fitter | objective min | median | max | spread (max/min - 1) | "
          "held-out PredE median | max | s per fit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for data, cls, runs, target, fit_names, held, cpt_only in cases(args.skip_mpl_law):
        law = cls()
        design = law.design(list(runs.select(fit_names).with_target(target)), target)
        ref = fit_design(law, design, target=target, seed=0)  # a FitResult to carry options for evaluate
        for fitter in ("cptlaw", "previous"):
            objs, preds, times = [], [], []
            for seed in seeds:
                t = time.perf_counter()
                if fitter == "cptlaw":
                    r = ref if seed == 0 else fit_design(law, design, target=target, seed=seed)
                    obj, params = r.objective, r.params
                    el = r.elapsed_s if seed == 0 else time.perf_counter() - t
                else:
                    obj, theta = legacy_fit(law, design, seed=seed)
                    params = dict(zip(law.param_names, theta))
                    el = time.perf_counter() - t
                objs.append(obj)
                times.append(el)
                preds.append(evaluate(_with_params(ref, params), runs, held, target=target,
                                      cpt_only=cpt_only)["overall"]["pred_e"])
            o, p = np.array(objs), np.array(preds)
            case = {"data": data, "law": cls.name, "target": target, "fitter": fitter, "objectives": objs,
                    "held_out_pred_e": preds, "seconds": times}
            out["cases"].append(case)
            print(f"| {data} | {cls.name} | {target} | {fitter} | {o.min():.6g} | {np.median(o):.6g} | {o.max():.6g} | "
                  f"{o.max() / o.min() - 1:.2e} | {100 * np.median(p):.3f}% | {100 * p.max():.3f}% | "
                  f"{np.mean(times):.2f} |", flush=True)
    atomic_write_text(RESULTS / "fit_robustness.json", json.dumps(out, indent=1) + "\n", force=True)
