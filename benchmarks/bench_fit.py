"""Fitting benchmark: a joint CPT-law fit of 8 runs x 500 evaluation points with the default multi-start,
against the papers' protocol -- scipy minimize(method="L-BFGS-B") with finite-difference gradients on the
same Huber objective, from the same starts -- in one process, side by side.

Targets (issue 2): ours < 2 s on 2 cores; >= 10x faster than the reference; equal or lower objective.
The fitter cptlaw used before variable projection (``benchmarks._legacy_fit``) is timed beside them.
Run: python -m benchmarks bench_fit
"""

import json
import time
import warnings

import numpy as np
from scipy.optimize import minimize

from cptlaw.datasets import load
from cptlaw.datasets.splits import gpu_german_split
from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.fit import Problem, fit_design, varpro
from cptlaw.fit.bootstrap import bootstrap
from cptlaw.laws import CPTLaw

from ._legacy_fit import legacy_fit, legacy_problem, legacy_starts
from .harness import describe, parser

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


def main(argv: list[str] | None = None) -> None:
    parser("bench_fit", __doc__).parse_args(argv)
    out = {"machine": describe()}
    for target in ("general", "domain"):
        runs = simulate_cpt_runs(SPECS, target=target, noise=1e-3, seed=1, n_eval=500)
        law = CPTLaw()
        t = time.perf_counter()
        fit = law.fit(runs, target).result_  # defaults: variable projection, 128 Sobol starts + anchors, delta 1e-3
        ours = time.perf_counter() - t
        design = law.design(list(runs), f"loss:{target}")
        t = time.perf_counter()
        old_obj, _ = legacy_fit(law, design, delta=fit.delta)
        old = time.perf_counter() - t
        problem = legacy_problem(law, design)  # the papers' protocol from the old fitter's 32 starts
        t = time.perf_counter()
        ref_obj = reference(problem, legacy_starts(problem, 32, 0), fit.delta)
        ref = time.perf_counter() - t
        out[target] = {"points": fit.n_points, "ours_s": ours, "previous_s": old, "reference_s": ref,
                       "speedup_vs_reference": ref / ours, "ours_objective": fit.objective,
                       "previous_objective": old_obj, "reference_objective": ref_obj}
        print(f"{target}: {fit.n_points} points; ours {ours:.2f} s (objective {fit.objective:.7g}); previous "
              f"fitter {old:.2f} s ({old_obj:.7g}); L-BFGS-B+FD {ref:.1f} s ({ref_obj:.7g}) -> {ref / ours:.1f}x",
              flush=True)
    # the inner amplitude step, side by side on real curves: the damped Gauss-Newton step against plain IRLS
    # (varpro.OUTLIER_WEIGHTS = (1.0,)), the default fit of the German domain and general losses (bundled data)
    german = load("pilot-gpu-german")
    names = list(gpu_german_split("m", "german").present(german).fit)
    out["inner_step"] = {}
    for target in ("loss:general", "loss:german"):
        row = {}
        for label, weights in (("damped", varpro.OUTLIER_WEIGHTS), ("irls", (1.0,))):
            saved, varpro.OUTLIER_WEIGHTS = varpro.OUTLIER_WEIGHTS, weights
            try:
                times = []
                for _ in range(3):
                    t = time.perf_counter()
                    f = CPTLaw().fit(german, target, names=names).result_
                    times.append(time.perf_counter() - t)
            finally:
                varpro.OUTLIER_WEIGHTS = saved
            row[label] = {"seconds": min(times), "objective": f.objective}
        out["inner_step"][target] = row
        print(f"inner step, pilot-gpu-german m {target} ({len(names)} runs, default fit, best of 3): damped "
              f"{row['damped']['seconds']:.2f} s (objective {row['damped']['objective']:.7g}), IRLS "
              f"{row['irls']['seconds']:.2f} s ({row['irls']['objective']:.7g}) -> "
              f"{row['irls']['seconds'] / row['damped']['seconds']:.2f}x", flush=True)
    # the bootstrap: 200 warm-started resamples, against naive refits from scratch (the full default multi-start
    # on the same resampled designs; a few of them, timed per resample)
    runs = simulate_cpt_runs(SPECS, target="general", noise=1e-3, seed=1, n_eval=500)
    law = CPTLaw()
    designs = [law.design([r], "loss:general") for r in runs]
    fit = law.fit(runs, "general").result_
    params = law.parameters(law.merge(designs).y, law.merge(designs))
    theta = np.array([fit.params[p.name] for p in params])
    t = time.perf_counter()
    boot = bootstrap(law, params, designs, theta, fit.delta, n=200, seed=0)
    warm = time.perf_counter() - t
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    n_naive = 5
    for _ in range(n_naive):
        fit_design(law, law.merge([designs[i] for i in rng.integers(0, len(designs), len(designs))]))
    naive = (time.perf_counter() - t) / n_naive
    out["bootstrap"] = {"resamples": 200, "seconds": warm, "per_resample_s": warm / 200,
                        "naive_per_resample_s": naive, "speedup": naive / (warm / 200), "capped": boot["capped"]}
    print(f"bootstrap: 200 resamples (+ {len(designs)} leave-one-run-out refits) in {warm:.1f} s "
          f"({1000 * warm / 200:.0f} ms each); a naive refit from scratch takes {naive:.2f} s "
          f"-> {naive / (warm / 200):.0f}x per resample", flush=True)
    print(json.dumps(out, indent=2))

