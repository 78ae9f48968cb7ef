"""Fitting benchmark: a joint CPT-law fit of 8 runs x 500 evaluation points with the default multi-start,
against the papers' protocol -- scipy minimize(method="L-BFGS-B") with finite-difference gradients on the
same Huber objective, from the same starts -- in one process, side by side.

Targets (issue 2): ours < 2 s on 2 cores; >= 10x faster than the reference; equal or lower objective.
Run: python benchmarks/bench_fit.py
"""

import json
import sys
import time
import warnings

import numpy as np
from scipy.optimize import minimize

from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.fit import Problem, fit_law
from cptlaw.laws import CPTLaw

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _machine import describe  # noqa: E402

SPECS = [("a", "constant", 20000, "constant", 10000), ("b", "wsd", 20000, "cosine", 10000),
         ("c", "constant", 30000, "wsd", 10000), ("d", "wsd", 30000, "constant", 10000),
         ("e", "constant", 40000, "cosine", 10000), ("f", "wsd", 40000, "wsd", 10000),
         ("g", "constant", 10000, "cosine", 20000), ("h", "wsd", 10000, "constant", 20000)]


def reference(problem: Problem, x0s, delta):
    """The papers' protocol: L-BFGS-B, finite-difference gradients, best of the starts."""
    best = np.inf
    bounds = list(zip(problem.lower, problem.upper))
    for x0 in x0s:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = minimize(problem.objective, x0, args=(delta,), method="L-BFGS-B", bounds=bounds)
        best = min(best, res.fun)
    return best


def main():
    out = {"machine": describe()}
    for target in ("general", "domain"):
        runs = simulate_cpt_runs(SPECS, target=target, noise=1e-3, seed=1, n_eval=500)
        law = CPTLaw()
        t = time.perf_counter()
        fit = fit_law(law, runs, target)  # defaults: 32 Sobol starts, delta 1e-3
        ours = time.perf_counter() - t
        problem = Problem(law, law.design(list(runs), f"loss:{target}"), law.parameters(
            np.concatenate([r.observed(target)[1] for r in runs])))
        x0s = problem.starts(fit.starts["n_starts"], fit.starts["seed"], fit.starts["sampler"])
        t = time.perf_counter()
        ref_obj = reference(problem, x0s, fit.delta)
        ref = time.perf_counter() - t
        out[target] = {"points": fit.n_points, "ours_s": ours, "reference_s": ref, "speedup": ref / ours,
                       "ours_objective": fit.objective, "reference_objective": ref_obj,
                       "objective_ratio_ours_over_ref": fit.objective / ref_obj}
        print(f"{target}: {fit.n_points} points; ours {ours:.2f} s, L-BFGS-B+FD {ref:.1f} s -> {ref / ours:.1f}x; "
              f"objective ours {fit.objective:.6g} vs reference {ref_obj:.6g}", flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
