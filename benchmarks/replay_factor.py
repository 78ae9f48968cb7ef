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

import dataclasses
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
# the power form's bounds against others: C2's ratio exponent a1 (cptlaw: ±2; Eq. 8's ±20, or no factor, a1 = 0)
# and the shift's exponent a2 (cptlaw: (0, 5]; or (0, 20])
VARIANTS = {"power, a1 within ±20": {"a1": (-20.0, 20.0)}, "power, no C2 factor": {"a1": None},
            "power, a2 up to 20": {"a2": (1e-6, 20.0)}, "power, CPT steps not weighted by the share": {}}
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


class Variant(CPTLaw):
    """The power form with other bounds on a1 or a2 ({name: (lower, upper)}, None: fixed at 0); a benchmark's
    variant, not an option of the law."""

    def __init__(self, *, bounds=None, **options):
        super().__init__(**options)
        self.bounds = dict(bounds or {})

    def parameters(self, y=None, design=None):
        out = []
        for p in super().parameters(y, design):
            if p.name in self.bounds:
                b = self.bounds[p.name]
                p = (dataclasses.replace(p, lower=-1e-12, upper=1e-12, init=(-1e-13, 1e-13)) if b is None else
                     dataclasses.replace(p, lower=b[0], upper=b[1]))
            out.append(p)
        return out


def make(role: str, factor: str) -> CPTLaw:
    """The law of a column: Eq. 8 as published ("exp": its factors, CPT steps counted whole), cptlaw's replay form
    ("power": r_cpt^a2, and for the domain loss CPT steps counted by the domain share, ``cpt_share``), or a
    variant of the latter."""
    if factor == "power, CPT steps not weighted by the share":
        return CPTLaw(replay=role, replay_factor="power", cpt_share=False)
    if factor in VARIANTS:
        return Variant(replay=role, replay_factor="power", bounds=VARIANTS[factor])
    return CPTLaw(replay=role, replay_factor=factor, cpt_share=False if factor == "exp" else None)


def run_fold(args):
    ds, size, domain, target, pair, sw, pts, factor = args
    runs = load(ds)
    role = "general" if target == "loss:general" else "domain"
    fit = pts + [sw[r] for r in pair]
    held = {r: n for r, n in sw.items() if r not in pair}
    t0 = time.perf_counter()
    try:
        law = make(role, factor).fit(runs, target, names=fit, n_starts=N_STARTS)
        rep = evaluate(law, runs, list(held.values()), cpt_only=True)["runs"]
        scores = {f"{r:g}": float(rep[n]["pred_e"]) for r, n in held.items()}
        a2 = float(law.params_["a2"])
    except Exception as exc:  # a fold that cannot be fitted or predicted is reported, not hidden
        return key(ds, size, domain, target, pair, factor), {"error": str(exc)}
    return key(ds, size, domain, target, pair, factor), {"held": scores, "a2": a2, "s": time.perf_counter() - t0}


def _row(ds, loss, kind, e, p) -> str:
    """One table row; the lower mean in bold; the count of each factor's scored runs (they differ only where a
    fold failed)."""
    me, mp = float(np.nanmean(e)), float(np.nanmean(p))
    n = f"{len(e)}" if len(e) == len(p) else f"{len(e)} / {len(p)}"
    cell = [f"{100 * me:.2f}%", f"{100 * mp:.2f}%"]
    cell[int(mp < me)] = f"**{cell[int(mp < me)]}**"
    return (f"| {ds} | {loss} | {kind} | {n} | {cell[0]} | {100 * np.nanmax(e):.2f}% | {cell[1]} | "
            f"{100 * np.nanmax(p):.2f}% |")


def a1_table(results: dict) -> str:
    """The power form's bounds against other bounds, over the size-s folds without replay 0: mean (worst) PredE."""
    agg: dict[tuple, list] = {}
    for k, v in results.items():
        ds, size, domain, target, pair, factor = k.split("|")
        lo, hi = map(float, pair.split(","))
        if size != "s":  # the variants' folds
            continue
        for r, e in v.get("held", {}).items():
            if 0.0 not in (lo, float(r)):
                kind = "interpolated" if lo < float(r) < hi else "extrapolated"
                agg.setdefault((target == "loss:general", kind, factor), []).append(e)
    variants = ["power", *VARIANTS]
    out = ["| loss | held-out ratio | " + " | ".join(f"{v}: mean (worst) PredE" for v in variants) + " |",
           "|---|---|" + "---|" * len(variants)]
    for general in (True, False):
        for kind in ("interpolated", "extrapolated"):
            cells = [agg.get((general, kind, v)) for v in variants]
            out.append(f"| {'general' if general else 'domain'} | {kind} | " + " | ".join(
                "-" if not c else f"{100 * np.mean(c):.2f}% ({100 * np.max(c):.1f}%)" for c in cells) + " |")
    return "\n".join(out)


def table(results: dict) -> str:
    rows = []
    groups: dict[tuple, dict] = {}
    for k, v in results.items():
        ds, size, domain, target, pair, factor = k.split("|")
        if factor not in FACTORS:
            continue
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
        out.append(_row(ds, loss, kind, e, p))
        rows.append((ds, loss, kind, e, p))
    for loss in ("general", "domain"):  # the folds without replay 0
        for kind in ("interpolated", "extrapolated"):
            e = np.concatenate([r[3] for r in rows if r[1] == loss and r[2] == kind] or [np.array([np.nan])])
            p = np.concatenate([r[4] for r in rows if r[1] == loss and r[2] == kind] or [np.array([np.nan])])
            out.append(_row("**all sets, replay > 0**", loss, kind, e, p))
    errors = [f"- {k}: {v['error']}" for k, v in sorted(results.items()) if "error" in v]
    return "\n".join(out) + ("\n\nFolds that failed (scored as missing):\n" + "\n".join(errors) if errors else "")


def main(argv: list[str] | None = None) -> None:
    ap = page_parser("replay_factor", __doc__, "accuracy-replay.md")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    results = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    todo = [(*f, factor) for f in folds() for factor in FACTORS if key(*f[:5], factor) not in results]
    # the C2 factor's bound: on the size-s folds without replay 0 (every fold's ratios are positive)
    todo += [(*f, v) for f in folds() for v in VARIANTS
             if f[1] == "s" and 0.0 not in f[4] and key(*f[:5], v) not in results]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, (k, v) in enumerate(pool.map(run_fold, todo), 1):
            results[k] = v
            if i % 8 == 0 or i == len(todo):
                atomic_write_text(CACHE, json.dumps(results, indent=1, sort_keys=True), force=True)
                print(f"{i}/{len(todo)} folds ({time.perf_counter() - t0:.0f} s)", flush=True)
    text = (f"# Replay ratios the fit never saw\n\nGenerated by `{command('replay_factor')}` on {describe()}; "
            f"{len(results)} fits ({N_STARTS} starts each).\n\n" + (__doc__ or "").split("\n\n", 1)[1].split("\nRun:")[0]
            + "\n\n" + table(results) + "\n\n## The power form's parts\n\nThe power form keeps Eq. 8's "
            "annealing factor exp(a1 r) with a1 within ±2, its shift exponent a2 is in (0, 5], and for the domain "
            "loss it counts CPT steps by the domain's share of the batch (``cpt_share``). Beside it: Eq. 8's bound "
            "±20 on a1, no C2 factor at all (a1 = 0), a2 up to 20, and CPT steps counted whole, on the size-s folds "
            "without replay 0 (every set's model s), held-out CPT rows:\n\n" + a1_table(results)
            + "\n")
    write_page(args.out, text)


if __name__ == "__main__":
    main()
