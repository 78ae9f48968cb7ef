"""Multi-power-law fitting speed on real 50K-step curves: the 124M model of Schaipp et al. 2025 at peak LR 1e-4
(`../shared/data/external/lr-schedules-schaipp2025`, MIT; skipped when absent), fitted on a constant (r230), a
cosine-to-10% (r121) and a WSD run (r040: 20% linear cooldown from r230 at 40K) on the validation loss, default
options; cptlaw's fitter beside the previous one (`benchmarks._legacy_fit`), same data, same process.  Held out: WSD runs
with 10% (r026) and 40% (r062) cooldowns.

The dense LR is rebuilt from each run's recorded config as a cptlaw schedule (300-step linear warmup, then
constant / cosine to 0.1 peak / WSD) and checked against the LR logged every 50 steps: they agree after the
warmup; inside it the trainer's warmup shape differs (printed), 300 of 50,000 steps.

Target (issue 6): at least 5x faster than the previous fitter at equal accuracy.  "Previous" is the fitter and
the loss-drop kernel as they were (row chunks); the previous fitter on today's kernel is shown as well.
Run: python -m benchmarks bench_mpl
"""

import csv
import gzip
import time

import numpy as np

from cptlaw.data import Run, RunSet
from cptlaw.evaluate import evaluate
from cptlaw.fit import fit_design
from cptlaw.laws import MultiPowerLaw, from_params
from cptlaw.schedules import WSD, Constant, Cosine, Warmup

from ._legacy_fit import legacy_fit
from .harness import SHARED_DATA, describe, parser

DATA = SHARED_DATA / "external" / "lr-schedules-schaipp2025"
T, W, PEAK = 50_000, 300, 1e-4
SCHEDULES = {"r230": Warmup(Constant(PEAK), W), "r121": Warmup(Cosine(PEAK, T - W, 0.1 * PEAK), W),
             "r040": Warmup(WSD(PEAK, T - W, 10_000, 0.0), W), "r026": Warmup(WSD(PEAK, T - W, 5_000, 0.0), W),
             "r062": Warmup(WSD(PEAK, T - W, 20_000, 0.0), W)}
PARENT = {"r040": ("r230", 40_000), "r026": ("r230", 45_000), "r062": ("r230", 30_000)}  # branch runs: parent, at
FIT, HELD = ["r230", "r121", "r040"], ["r026", "r062"]
ROUNDS = 3


def _read(name, col):
    out = {}
    with gzip.open(DATA / name, "rt") as f:
        for r in csv.DictReader(f):
            if r["run_id"] in SCHEDULES:
                out.setdefault(r["run_id"], []).append((int(r["iter"]), float(r[col]), float(r.get("lr") or "nan")))
    return out


def runs() -> RunSet:
    val, train = _read("val_curves.csv.gz", "val_loss"), _read("train_curves.csv.gz", "train_loss")
    out = []
    for rid, sched in SCHEDULES.items():
        it = np.array([a for a, _, _ in train[rid]])
        logged = np.array([c for _, _, c in train[rid]])
        after = (it > W) & (it < T)
        gap = np.max(np.abs(sched(it[after]) - logged[after]) / logged[after])
        warm = np.max(np.abs(sched(it[~after & (it <= W)]) - logged[~after & (it <= W)])) / PEAK if np.any(it <= W) else 0
        print(f"{rid}: rebuilt LR vs logged: max relative gap {gap:.1e} after the warmup, {warm:.2f} x peak inside it")
        points = sorted(val[rid])
        if rid in PARENT:  # a cooldown branch: the parent's evaluations before the branch point come first
            parent, at = PARENT[rid]
            points = [p for p in sorted(val[parent]) if p[0] < at] + points
        steps = np.arange(T + 1)
        run = Run(rid, steps, sched(steps))
        idx = np.array([p[0] for p in points])
        run.losses["loss:val"] = (idx, np.array([p[1] for p in points]))
        out.append(run)
    return RunSet(out)


def main(argv: list[str] | None = None) -> None:
    parser("bench_mpl", __doc__).parse_args(argv)
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return
    data = runs()
    law = MultiPowerLaw()
    design = law.design(list(data.select(FIT)), "loss:val")
    print(f"\nMachine: {describe()}\n{design.n} points from {len(FIT)} runs of {T} steps; "
          f"times: the fastest of {ROUNDS} alternating rounds\n")
    print("| fitter | time | objective | held-out PredE | held-out R² |")
    print("|---|---|---|---|---|")

    def previous(kernel):
        d = law.design(list(data.select(FIT)), "loss:val")
        if kernel == "rows":  # the LD kernel as it was: row chunks over every change point (no flat cells)
            for terms, _ in d.features["runs"]:
                terms._cells = None
        return legacy_fit(law, d)

    fitters = {"cptlaw": lambda: fit_design(law, design, target="loss:val"),
               "previous fitter, previous LD kernel": lambda: previous("rows"),
               "previous fitter, today's LD kernel": lambda: previous("")}
    times = {k: [] for k in fitters}
    results = {}
    for _ in range(ROUNDS):  # alternate the fitters, keep each one's fastest round
        for label, fn in fitters.items():
            t = time.perf_counter()
            results[label] = fn()
            times[label].append(time.perf_counter() - t)
    ours = results["cptlaw"]
    rows = [("cptlaw", ours.objective, ours.params, min(times["cptlaw"]))]
    for label in list(fitters)[1:]:
        prev_obj, prev_theta = results[label]
        rows.append((label, prev_obj, dict(zip(law.param_names, prev_theta)), min(times[label])))
    for label, fit_obj, params, el in rows:
        rep = evaluate(from_params(ours.law_name, {k: float(v) for k, v in params.items()}, ours.target, **ours.law_options),
                       data, HELD)
        print(f"| {label} | {el:.1f} s | {fit_obj:.6g} | {100 * rep['overall']['pred_e']:.3f}% | "
              f"{rep['overall']['r2']:.4f} |", flush=True)
    t_ours = rows[0][3]
    print(f"\nprevious (as it was) / cptlaw time: {rows[1][3] / t_ours:.1f}x; "
          f"previous fitter on today's kernel / cptlaw: {rows[2][3] / t_ours:.1f}x")

