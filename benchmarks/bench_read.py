"""Reading benchmark: a 2-million-row native CSV (20 runs x 100,000 dense steps: run, step, phase, lr, two loss
columns evaluated every 100 steps, replay_ratio), read by cptlaw.read_runs (parse + full validation + dense
runs) beside a plain pyarrow.csv.read_csv of the same file (parse only), each in a fresh process.
Peak memory is the process's maximum resident set size minus that of the same process right after imports.

Targets (issue 6): read_runs < 1 s and < 0.5 GB on 2 cores.
Run: python -m benchmarks bench_read [--previous DIR]   (DIR: a checkout of an earlier cptlaw, e.g. made with
`git worktree add DIR 09b0e8d`; its read_runs is timed on the same file as "previous")
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .harness import describe, parser

CHILD = r"""
import resource, sys, time, json
import numpy as np, pyarrow, pyarrow.csv
import cptlaw.data
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if sys.argv[2] == "cptlaw":
    runs = cptlaw.data.read_runs(sys.argv[1])
    n = sum(r.steps.size for r in runs)
else:
    n = pyarrow.csv.read_csv(sys.argv[1]).num_rows
el = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": el, "rows": int(n), "peak_mb": (peak - base) / 1024}))
"""


def make(path: Path, runs: int = 20, steps: int = 100_000) -> int:
    rng = np.random.default_rng(0)
    with path.open("w") as f:
        f.write("run,step,phase,lr,loss:general,loss:code,replay_ratio\n")
        for r in range(runs):
            s = np.arange(steps)
            lr = np.where(s < 1000, 3e-4 * (s + 1) / 1000, 3e-4 * 0.5 * (1 + np.cos(np.pi * s / steps)))
            phase = np.where(s >= steps // 2, "cpt", "pt")
            ev = (s % 100) == 99
            g = np.where(ev, 3 + 5 / np.sqrt(s + 1) + rng.normal(0, 0.01, steps), np.nan)
            c = np.where(ev, 2 + 4 / np.sqrt(s + 1) + rng.normal(0, 0.01, steps), np.nan)
            lines = [f"run{r},{a},{p},{b!r},{'' if np.isnan(x) else repr(x)},{'' if np.isnan(y) else repr(y)},0.25\n"
                     for a, p, b, x, y in zip(s.tolist(), phase.tolist(), lr.tolist(), g.tolist(), c.tolist())]
            f.writelines(lines)
    return runs * steps


def main(argv: list[str] | None = None) -> None:
    ap = parser("bench_read", __doc__)
    ap.add_argument("--previous", help="checkout of an earlier cptlaw whose reader to time beside")
    args = ap.parse_args(argv)
    readers = [("cptlaw", "cptlaw", None), ("pyarrow", "pyarrow", None)]
    if args.previous:
        readers.append(("previous", "cptlaw", str(Path(args.previous) / "src")))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "runs.csv"
        rows = make(path)
        size = path.stat().st_size / 1e6
        out = {"machine": describe(), "rows": rows, "file_mb": size}
        for label, reader, pythonpath in readers:
            env = dict(os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {}))
            best = None
            for _ in range(1 if pythonpath else 3):  # best of 3 fresh processes (1 for the slow previous reader)
                res = json.loads(subprocess.run([sys.executable, "-c", CHILD, str(path), reader], check=True,
                                                capture_output=True, text=True, env=env).stdout)
                best = res if best is None or res["seconds"] < best["seconds"] else best
            out[label] = best
            print(f"{label}: {best['seconds']:.2f} s, peak +{best['peak_mb']:.0f} MB ({best['rows']} rows)", flush=True)
        out["ratio_time"] = out["cptlaw"]["seconds"] / out["pyarrow"]["seconds"]
        print(f"file {size:.0f} MB, {rows} rows; read_runs / pyarrow.csv.read_csv time: {out['ratio_time']:.2f}")
        if "previous" in out:
            print(f"previous / cptlaw: {out['previous']['seconds'] / out['cptlaw']['seconds']:.1f}x time, "
                  f"{out['previous']['peak_mb'] / out['cptlaw']['peak_mb']:.1f}x memory")
        print(json.dumps(out, indent=2))

