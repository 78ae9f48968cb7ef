"""``cptlaw demo``: the main job end to end on data that ships with cptlaw.

1. Real PT->CPT curves from cptlaw's own pilot trainer (``pilot-v1``): fit the CPT law on the general and the
   domain validation loss of a few runs, predict held-out CPT runs (other schedules, transfer points, and CPT
   from a WSD-annealed PT model), plot, and print the accuracy.
2. Real pre-training curves (Multi-Power-Law paper, 400M, MIT): fit the annealing law and the multi-power law on
   the paper's training split, predict its six test schedules, beside the paper's Table 1.
"""

from __future__ import annotations

import time
from pathlib import Path

from .data import atomic_write_text, write_runs
from .datasets import MPL_TEST, MPL_TRAIN, load, load_mpl
from .evaluate import evaluate
from .laws import AnnealingLaw, CPTLaw, MultiPowerLaw
from .plots import plot_fit
from .predict import predict_runs, rows_to_csv
from .suggest import suggest_runs

QUICK = {"n_starts": 8, "polish": 2}  # --quick (smoke tests); the demo's numbers use the default fit
PAPER_TABLE1_400M = {"annealing": (0.9962, 0.0025), "mpl": (0.9971, 0.0019)}  # (R², PredE), MPL paper Table 1

PILOT_FIT = ["{m}_pt_const", "{m}_pt_wsd", "{m}_{d}_const800_constant_r25", "{m}_{d}_const800_cosine_r25",
             "{m}_{d}_const400_cosine_r25"]
PILOT_HELDOUT = ["{m}_{d}_const800_wsd_r25", "{m}_{d}_const800_rewarm_cosine_r25", "{m}_{d}_const1200_cosine_r25",
                 "{m}_{d}_wsd1200_rewarm_cosine_r25"]


def _line(name, m):
    return f"  {name:<32s} R2 {m['r2']:.4f}  PredE {100 * m['pred_e']:.3f}%  WorstE {100 * m['worst_e']:.3f}%"


def _pilot_selection(runs, domain="code"):
    """The largest model whose fitting and held-out runs are all in the bundled data."""
    for m in ("m", "s"):
        fit = [n.format(m=m, d=domain) for n in PILOT_FIT]
        held = [n.format(m=m, d=domain) for n in PILOT_HELDOUT if n.format(m=m, d=domain) in runs]
        if all(n in runs for n in fit) and held:
            return m, fit, held
    raise RuntimeError("the bundled pilot-v1 dataset lacks the demo's runs")


def run_demo(out: Path, force: bool = False, quick: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = {}
    runs = load("pilot-v1")
    model, fit_names, held = _pilot_selection(runs)
    write_runs(runs.select(fit_names + held), out / "pilot_code.csv", force=force)
    print(f"[1/2] real PT->CPT curves (bundled pilot-v1, model '{model}', CPT on Python code with 25% replay)")
    print(f"      fit on {', '.join(fit_names)}")
    for target in ("loss:general", "loss:code"):
        law = CPTLaw().fit(runs, target, names=fit_names, **QUICK if quick else {})
        fit = law.result_
        tag = target.split(":")[1]
        report = evaluate(fit, runs, held, cpt_only=True)
        atomic_write_text(out / f"predict_cpt_{tag}.csv", rows_to_csv(predict_runs(fit, runs, held)), force=force)
        plot_fit(fit, runs, out / f"fit_cpt_{tag}.png", names=fit_names + held, force=force)
        print(f"  {target}: fitted in {fit.elapsed_s:.1f} s, train R2 {fit.overall.r2:.4f}, "
              f"B = {law.params_['B']:+.3f}; held-out CPT runs (CPT rows):")
        for line in fit.warnings:
            print(f"  (diagnostic: {line})")
        if fit.degenerate or fit.diagnostics.get("unidentified"):
            tips = suggest_runs(fit, runs)
            fit.diagnostics["suggested_runs"] = tips
            if tips:
                print(f"  (to pin these down, train next: {tips[0]['description']}; the near-equivalent fits "
                      f"disagree there by {100 * tips[0]['spread']:.1f}%)")
        fit.save(out / f"fit_cpt_{tag}.json", force=force)
        for name, m in report["runs"].items():
            print(_line(name, m))
        print(_line("held-out mean", report["overall"]))
        summary[f"cpt_{tag}"] = report["overall"]

    mpl_runs = load_mpl(400)
    write_runs(mpl_runs, out / "mpl400.csv", force=force)
    print(f"[2/2] real pre-training curves: Multi-Power-Law paper, 400M model, 9 schedules")
    print(f"      fit on {', '.join(MPL_TRAIN)}; predict {', '.join(MPL_TEST)}")
    for law in (AnnealingLaw(), MultiPowerLaw()):
        law.fit(mpl_runs, "loss:train", names=list(MPL_TRAIN), **QUICK if quick else {})
        fit = law.result_
        fit.save(out / f"fit_{law.name}.json", force=force)
        report = evaluate(fit, mpl_runs, list(MPL_TEST))
        atomic_write_text(out / f"predict_{law.name}.csv", rows_to_csv(predict_runs(fit, mpl_runs, list(MPL_TEST))),
                          force=force)
        plot_fit(fit, mpl_runs, out / f"fit_{law.name}.png", force=force)
        paper = PAPER_TABLE1_400M[law.name]
        print(f"  {law.name} law ({law.options()['warmup']} warmup): fitted in {fit.elapsed_s:.1f} s, "
              f"train R2 {fit.overall.r2:.4f}")
        for name, m in report["runs"].items():
            print(_line(name, m))
        print(_line("held-out mean", report["overall"]) + f"   (paper Table 1: R2 {paper[0]}, PredE {100 * paper[1]:.2f}%)")
        summary[law.name] = report["overall"]
    print(f"done in {time.perf_counter() - t0:.1f} s; fits, predictions and plots are in {out}/")
    return summary
