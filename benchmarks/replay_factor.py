"""Replay ratios the fit never saw: Eq. 8's exponential ratio factor against the power factor r_cpt^a2
(``CPTLaw(replay=..., replay_factor=...)``), fitted on two ratios and predicting every other one.

For each bundled set with a replay sweep (the same PT, transfer and cosine CPT at several replay ratios), each model
size, each CPT domain and both losses: fit on the PT runs and the sweep runs at two ratios, and score the sweep runs at
the other ratios over their CPT rows (PredE, the CPT-rows rule).  A held-out ratio between the two fitted ones is
interpolated, any other extrapolated.  Every pair of ratios is a fold; folds with replay 0 (fitted or held
out) are shown apart, because without replay the general loss forgets at a cliff (pilot-gpu-german s: 8.4 at
replay 0, 4.1 at 0.1) that no smooth ratio factor follows; the forms use cptlaw's default form for the
loss's role otherwise (sqrt + fading + w for a domain loss, Eq. 4 for the general loss).

Run: python -m benchmarks replay_factor [--jobs 2] (about 10 minutes on 2 cores; per-fold results are cached in
benchmarks/results/replay_factor.json, so an interrupted run resumes).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from cptlaw.datasets import load
from cptlaw.evaluate import evaluate
from cptlaw.io import atomic_write_text
from cptlaw.laws import CPTLaw

from .harness import RESULTS, command, describe, page_parser, write_page

SETS = {"pilot-gpu-german": (("s", "m"), ("german",)), "pilot-gpu-german-mix": (("s", "m"), ("german",)),
        "pilot-gpu-domains": (("s", "m"), ("code", "legal", "bio", "german")),
        "pilot-v1": (("s", "m"), ("code", "legal"))}
FACTORS = ("exp", "power")
CACHE = RESULTS / "replay_factor.json"
N_STARTS = 32


def sweep(runs, size: str, domain: str) -> dict[float, str]:
    """{replay ratio: run name} of the replay sweep: one PT, one transfer, a cosine CPT, several ratios."""
    pat = re.compile(rf"^{size}_{domain}_const(\d+)_cosine(_r\d+)?$")
    by_t: dict[str, dict[float, str]] = {}
    for r in runs:
        m = pat.match(r.name)
        if m and r.replay_ratio is not None:
            by_t.setdefault(m.group(1), {})[float(r.replay_ratio)] = r.name
    return max(by_t.values(), key=len) if by_t else {}


def folds():
    """(set, size, domain, target, fitted ratios, {ratio: run}, PT runs) for every pair of ratios."""
    for ds, (sizes, domains) in SETS.items():
        runs = load(ds)
        for size in sizes:
            pts = [r.name for r in runs if r.transfer is None and r.name.startswith(f"{size}_pt")]
            for domain in domains:
                sw = sweep(runs, size, domain)
                if len(sw) < 3:
                    continue
                for target in ("loss:general", f"loss:{domain}"):
                    for pair in itertools.combinations(sorted(sw), 2):
                        yield ds, size, domain, target, pair, sw, pts


def key(ds, size, domain, target, pair, factor) -> str:
    return f"{ds}|{size}|{domain}|{target}|{pair[0]:g},{pair[1]:g}|{factor}"


def run_fold(args):
    ds, size, domain, target, pair, sw, pts, factor = args
    runs = load(ds)
    role = "general" if target == "loss:general" else "domain"
    fit = pts + [sw[r] for r in pair]
    held = {r: n for r, n in sw.items() if r not in pair}
    t0 = time.perf_counter()
    try:
        law = CPTLaw(replay=role, replay_factor=factor).fit(runs, target, names=fit, n_starts=N_STARTS)
        rep = evaluate(law, runs, list(held.values()), cpt_only=True)["runs"]
        scores = {f"{r:g}": float(rep[n]["pred_e"]) for r, n in held.items()}
        a2 = float(law.params_["a2"])
    except Exception as exc:  # a fold that cannot be fitted or predicted is reported, not hidden
        return key(ds, size, domain, target, pair, factor), {"error": str(exc)}
    return key(ds, size, domain, target, pair, factor), {"held": scores, "a2": a2, "s": time.perf_counter() - t0}


def table(results: dict) -> str:
    rows = []
    groups: dict[tuple, dict] = {}
    for k, v in results.items():
        ds, size, domain, target, pair, factor = k.split("|")
        lo, hi = map(float, pair.split(","))
        for r, e in v.get("held", {}).items():
            kind = "interpolated" if lo < float(r) < hi else "extrapolated"
            if 0.0 in (lo, float(r)):  # no replay: the general loss forgets at a cliff no smooth factor follows
                kind += ", replay 0 in the fold"
            groups.setdefault((ds, target.split(":")[1] if target == "loss:general" else "domain", kind), {}) \
                .setdefault(factor, []).append(e)
    out = ["| set | loss | held-out ratio | held-out runs | Eq. 8 (exp) mean PredE | worst | power mean PredE | worst |",
           "|---|---|---|---|---|---|---|---|"]
    for (ds, loss, kind), by in sorted(groups.items()):
        e, p = np.array(by.get("exp", [np.nan])), np.array(by.get("power", [np.nan]))
        out.append(f"| {ds} | {loss} | {kind} | {len(e)} | {100 * e.mean():.2f}% | {100 * e.max():.2f}% | "
                   f"**{100 * p.mean():.2f}%** | {100 * p.max():.2f}% |")
        rows.append((ds, loss, kind, e, p))
    for loss in ("general", "domain"):  # the folds without replay 0
        for kind in ("interpolated", "extrapolated"):
            e = np.concatenate([r[3] for r in rows if r[1] == loss and r[2] == kind] or [np.array([np.nan])])
            p = np.concatenate([r[4] for r in rows if r[1] == loss and r[2] == kind] or [np.array([np.nan])])
            out.append(f"| **all sets, replay > 0** | {loss} | {kind} | {len(e)} | {100 * np.nanmean(e):.2f}% | "
                       f"{100 * np.nanmax(e):.2f}% | **{100 * np.nanmean(p):.2f}%** | {100 * np.nanmax(p):.2f}% |")
    errors = [f"- {k}: {v['error']}" for k, v in sorted(results.items()) if "error" in v]
    return "\n".join(out) + ("\n\nFolds that failed (scored as missing):\n" + "\n".join(errors) if errors else "")


def main(argv: list[str] | None = None) -> None:
    ap = page_parser("replay_factor", __doc__, "accuracy-replay.md")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    results = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    todo = [(*f, factor) for f in folds() for factor in FACTORS if key(*f[:5], factor) not in results]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, (k, v) in enumerate(pool.map(run_fold, todo), 1):
            results[k] = v
            if i % 8 == 0 or i == len(todo):
                atomic_write_text(CACHE, json.dumps(results, indent=1, sort_keys=True), force=True)
                print(f"{i}/{len(todo)} folds ({time.perf_counter() - t0:.0f} s)", flush=True)
    text = (f"# Replay ratios the fit never saw\n\nGenerated by `{command('replay_factor')}` on {describe()}; "
            f"{len(results)} fits ({N_STARTS} starts each).\n\n" + (__doc__ or "").split("\n\n", 1)[1].split("\nRun:")[0]
            + "\n\n" + table(results) + "\n")
    write_page(args.out, text)


if __name__ == "__main__":
    main()
