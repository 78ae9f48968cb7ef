"""Planner benchmark (issue 7): candidate plans per second at 10^4-step CPT horizons, beside a plain
per-candidate loop, and a 10^6-point space searched coarse-to-fine.

Targets: >= 10^4 candidates/s on 2 cores; a 10^6-point space in under a minute.
Laws: the CPT paper's published Fig. 3 coefficients (no fit needed; the cost is the same for any fit).
* vectorised: :func:`cptlaw.plan.search.plan` (areas computed twice per group of candidates that differ only
  in the peak LR and replay, exactly, then affine in the peak; Eq. 5 objectives, constraints and front);
* loop: the plain path, one exact trajectory and area computation per candidate
  (:func:`cptlaw.plan.exact_features`), on a sample of the same candidates, then both laws' values.
Run: python -m benchmarks bench_plan
"""

import json
import time

import numpy as np

from cptlaw.datasets.synthetic import CPT_FIG3, published_law
from cptlaw.laws.base import Design
from cptlaw.plan import exact_features, parse_space
from cptlaw.plan.search import n_groups, plan

from .harness import describe, parser


G, D = published_law(CPT_FIG3["general"]), published_law(CPT_FIG3["domain"])
PT = {"kind": "wsd", "peak": 2e-4, "steps": 40000, "decay_steps": 10000}


def space(transfers, peaks, steps, rewarmup=(0, 500)):
    return parse_space({
        "pt": {"schedule": PT, "transfer": np.linspace(30000, 40000, transfers).astype(int).tolist()},
        "cpt": {"family": ["constant", "cosine", "wsd"], "peak_lr": {"min": 2e-5, "max": 4e-4, "num": peaks,
                                                                    "scale": "log"},
                "rewarmup_steps": list(rewarmup), "steps": np.linspace(1000, 10000, steps).astype(int).tolist(),
                "floor": [0.0, 0.1]},
        "objective": {"lambda1": [0.2, 0.5, 0.8]}})


def loop_rate(sp, n=300):
    law_g, law_d = G, D
    cands = list(sp.candidates())
    pick = np.random.default_rng(0).choice(len(cands), n, replace=False)
    t = time.perf_counter()
    for i in pick:
        f = exact_features(law_g, sp, cands[i])
        d = Design(["x"], np.zeros(1, int), np.zeros(1, int), None, {k: np.array([v]) for k, v in f.items()})
        law_g.value(law_g.theta(), d), law_d.value(law_d.theta(), d)
    return n / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    parser("bench_plan", __doc__).parse_args(argv)
    res = {"machine": describe(), "rows": []}
    for transfers, peaks, steps in [(5, 50, 10), (5, 200, 10)]:
        sp = space(transfers, peaks, steps)
        t = time.perf_counter()
        out = plan(G, D, sp)
        el = time.perf_counter() - t
        rate = len(out["candidates"]) / el
        loop = loop_rate(sp)
        res["rows"].append({"candidates": sp.size, "groups": n_groups(sp), "seconds": el, "per_s": rate,
                            "loop_per_s": loop, "ratio": rate / loop})
        print(f"{sp.size:>9,} candidates ({n_groups(sp):,} area groups, CPT up to 10^4 steps): {el:.2f} s = "
              f"{rate:,.0f}/s; plain loop {loop:,.0f}/s; ratio {rate / loop:.0f}x")
    # a 10^6-point space with many area groups: exhaustive would need 2 x 24,000 exact area computations
    sp = space(40, 25, 50, rewarmup=(0, 100, 200, 300, 400, 500))
    t = time.perf_counter()
    out = plan(G, D, sp)
    el = time.perf_counter() - t
    res["coarse_to_fine"] = {"candidates": sp.size, "groups": n_groups(sp), "evaluated": len(out["candidates"]),
                             "seconds": el, "exhaustive": out["exhaustive"]}
    print(f"{sp.size:,}-point space ({n_groups(sp):,} area groups): coarse-to-fine evaluated "
          f"{len(out['candidates']):,} plans in {el:.1f} s")
    print(json.dumps(res))

