"""Fit the CPT law (Eq. 4) on part of the pilot-v1 runs and predict the held-out CPT runs, per model size and
domain, on the general and the domain validation sets.  Prints a Markdown table.
Run: python benchmarks/pilot_fit.py [DATA.csv]   (default: the bundled pilot-v1 dataset)
"""

import sys

from cptlaw.data import read_runs
from cptlaw.datasets import load
from cptlaw.demo import PILOT_FIT as FIT
from cptlaw.demo import PILOT_HELDOUT as HELD
from cptlaw.evaluate import evaluate
from cptlaw.laws import CPTLaw


def main(path=None):
    runs = read_runs(path) if path else load("pilot-v1")
    print("| model | domain | target | fit R² (train runs) | held-out run | R² (CPT rows) | PredE | WorstE |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for m in ("s", "m"):
        for d in ("code", "legal"):
            fit_names = [n.format(m=m, d=d) for n in FIT if n.format(m=m, d=d) in runs]
            held = [n.format(m=m, d=d) for n in HELD if n.format(m=m, d=d) in runs]
            if len(fit_names) < 3 or not held:
                continue
            for target in ("loss:general", f"loss:{d}"):
                law = CPTLaw().fit(runs, target, names=fit_names)
                rep = evaluate(law.result_, runs, held, cpt_only=True)
                for name, r in rep["runs"].items():
                    print(f"| {m} | {d} | {target} | {law.result_.overall.r2:.4f} | {name} | {r['r2']:.4f} | "
                          f"{100 * r['pred_e']:.3f}% | {100 * r['worst_e']:.3f}% |", flush=True)
                    results.append(r)
    if results:
        import numpy as np

        print(f"\nMean over {len(results)} held-out (run, target) pairs: R² {np.mean([r['r2'] for r in results]):.4f}, "
              f"PredE {100 * np.mean([r['pred_e'] for r in results]):.3f}%")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
