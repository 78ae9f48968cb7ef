"""Areas benchmark: S1/S2 (with the PT/CPT split) in O(n) vs the naive O(n^2) double sum; the momentum recursion
by LAPACK's banded solve (cptlaw's, since 2026-12-03) vs scipy.signal.lfilter (before), side by side, and what
each costs to import.

Target (issue 2): S1 and S2 for 10^6 steps in under 50 ms.  Run: python -m benchmarks bench_areas
"""

import json
import subprocess
import sys
import time

import numpy as np
from scipy.signal import lfilter  # the previous implementation, to compare against

from cptlaw.schedules import AreaOptions, Continual, Cosine, Warmup, WSD, compute_areas
from cptlaw.schedules import areas as areas_module

from .harness import describe, parser


def naive_s2(lr, lam):
    """The double sum of Tissue et al. Eq. 5, one numpy dot per step: O(n^2)."""
    d = np.r_[0.0, lr[:-1] - lr[1:]]
    powers = lam ** np.arange(lr.size)[::-1]
    m = np.array([d[: i + 1] @ powers[lr.size - 1 - i:] for i in range(lr.size)])
    return np.cumsum(lr), np.cumsum(m)


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(argv: list[str] | None = None) -> None:
    parser("bench_areas", __doc__).parse_args(argv)
    sched = lambda n: Continual(Warmup(WSD(2e-4, n // 2 - 500, n // 20), 500), Cosine(2e-4, n // 2), n // 2,  # noqa
                                rewarmup_steps=100)
    opts = AreaOptions()
    res = {"machine": describe()}
    lr6 = sched(10**6).dense(10**6)
    t6, _ = best_of(lambda: compute_areas(lr6, opts, transfer=5 * 10**5), 7)
    res["ours_1e6_ms"] = 1e3 * t6
    lr4 = sched(2 * 10**4).dense(2 * 10**4)
    t4, ours = best_of(lambda: compute_areas(lr4, AreaOptions(warmup="literal"), transfer=10**4), 7)
    tn, (s1, s2) = best_of(lambda: naive_s2(lr4, 0.999), 1)
    assert np.allclose(ours.s2, s2, rtol=1e-9, atol=1e-15) and np.allclose(ours.s1, s1)
    res.update(ours_2e4_ms=1e3 * t4, naive_2e4_ms=1e3 * tn, speedup_2e4=tn / t4)
    # the recursion m_i = lam m_{i-1} + d_i: LAPACK dtbtrs (ours) against lfilter, on the same 10^6 drops
    d = areas_module.lr_drops(lr6)
    t_ours, m_ours = best_of(lambda: areas_module._decay_filter(d, 0.999), 7)
    t_lf, m_lf = best_of(lambda: lfilter([1.0], [1.0, -0.999], d), 7)
    assert np.array_equal(m_ours, m_lf)  # bit for bit
    res.update(filter_1e6_ms={"dtbtrs": 1e3 * t_ours, "lfilter": 1e3 * t_lf, "bit_identical": True})
    imports = {}
    for label, code in (("cptlaw.schedules", "import cptlaw.schedules"),
                        ("cptlaw.schedules + scipy.signal", "import cptlaw.schedules, scipy.signal")):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - t)
        imports[label] = min(times)
    res["import_s"] = imports
    print(json.dumps(res, indent=2))
    print(f"S1+S2 (+PT/CPT split) for 1e6 steps: {1e3 * t6:.1f} ms (target < 50 ms): {'PASS' if t6 < 0.05 else 'FAIL'}")
    print(f"2e4 steps: O(n) {1e3 * t4:.2f} ms vs naive O(n^2) {1e3 * tn:.0f} ms -> {tn / t4:.0f}x")
    print(f"momentum, 1e6 steps: dtbtrs {1e3 * t_ours:.1f} ms vs lfilter {1e3 * t_lf:.1f} ms (bit-identical); "
          f"import: {imports['cptlaw.schedules']:.2f} s vs {imports['cptlaw.schedules + scipy.signal']:.2f} s with "
          f"scipy.signal")

