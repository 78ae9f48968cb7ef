"""``cptlaw demo``: the main job end to end on data that ships with cptlaw.

1. Real curves (Multi-Power-Law paper, 400M, MIT): fit the annealing law and the multi-power law on the
   paper's training split (constant 24K, cosine 24K, two-stage wsdcon_9), predict the six held-out schedules,
   plot, and print the accuracy beside the paper's Table 1.
2. CPT flow on curves *simulated* from the CPT law's published Fig. 3 coefficients (not real training): fit
   general and domain loss on six PT->CPT runs, predict two unseen CPT schedules.
"""

from __future__ import annotations

import time
from pathlib import Path

from .data import write_runs
from .datasets import MPL_TEST, MPL_TRAIN, load_mpl
from .datasets.synthetic import simulate_cpt_runs
from .evaluate import evaluate
from .laws import AnnealingLaw, CPTLaw, MultiPowerLaw
from .plots import plot_fit
from .predict import predict_runs, rows_to_csv
from .data import atomic_write_text

PAPER_TABLE1_400M = {"annealing": (0.9962, 0.0025), "mpl": (0.9971, 0.0019)}  # (R², PredE), MPL paper Table 1

CPT_TRAIN = [("pt40k_const", "constant", 40000, "constant", 0), ("cpt_a", "constant", 20000, "constant", 10000),
             ("cpt_b", "wsd", 20000, "cosine", 10000), ("cpt_c", "constant", 30000, "wsd", 10000),
             ("cpt_d", "wsd", 30000, "constant", 15000), ("cpt_e", "constant", 10000, "cosine", 20000)]
CPT_HELDOUT = [("cpt_f_heldout", "wsd", 25000, "wsd", 20000), ("cpt_g_heldout", "constant", 35000, "cosine", 15000)]


def _line(name, m):
    return f"  {name:<22s} R2 {m['r2']:.4f}  PredE {100 * m['pred_e']:.3f}%  WorstE {100 * m['worst_e']:.3f}%"


def run_demo(out: Path, force: bool = False, quick: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = {}
    runs = load_mpl(400)
    write_runs(runs, out / "mpl400.csv", force=force)
    print(f"[1/2] real curves: Multi-Power-Law paper, 400M model, 9 schedules -> {out / 'mpl400.csv'}")
    print(f"      fit on {', '.join(MPL_TRAIN)}; predict {', '.join(MPL_TEST)}")
    for law in (AnnealingLaw(), MultiPowerLaw()):
        law.fit(runs, "loss:train", names=list(MPL_TRAIN), n_starts=4 if quick else 32)
        fit = law.result_
        fit.save(out / f"fit_{law.name}.json", force=force)
        report = evaluate(fit, runs, list(MPL_TEST))
        atomic_write_text(out / f"predict_{law.name}.csv", rows_to_csv(predict_runs(fit, runs, list(MPL_TEST))),
                          force=force)
        plot_fit(fit, runs, out / f"fit_{law.name}.png", force=force)
        paper = PAPER_TABLE1_400M[law.name]
        print(f"  {law.name} law ({law.options()['warmup']} warmup): fitted in {fit.elapsed_s:.1f} s, "
              f"train R2 {fit.overall.r2:.4f}")
        for name, m in report["runs"].items():
            print(_line(name, m))
        print(_line("held-out mean", report["overall"]) + f"   (paper Table 1: R2 {paper[0]}, PredE {100 * paper[1]:.2f}%)")
        summary[law.name] = report["overall"]

    print("[2/2] CPT law on curves SIMULATED from its published Fig. 3 coefficients (0.1% log-noise; not real training)")
    for target in ("general", "domain"):
        cpt_runs = simulate_cpt_runs(CPT_TRAIN + CPT_HELDOUT, target=target, noise=1e-3, seed=7, n_eval=300)
        write_runs(cpt_runs, out / f"cpt_sim_{target}.csv", force=force)
        law = CPTLaw().fit(cpt_runs, target, names=[r[0] for r in CPT_TRAIN], n_starts=8 if quick else 32)
        law.result_.save(out / f"fit_cpt_{target}.json", force=force)
        report = evaluate(law.result_, cpt_runs, [r[0] for r in CPT_HELDOUT])
        plot_fit(law.result_, cpt_runs, out / f"fit_cpt_{target}.png", force=force)
        print(f"  loss:{target}: B = {law.params_['B']:+.3f} (published {'+0.366' if target == 'general' else '-0.666'})")
        for name, m in report["runs"].items():
            print(_line(name, m))
        summary[f"cpt_{target}"] = report["overall"]
    print(f"done in {time.perf_counter() - t0:.1f} s; fits, predictions and plots are in {out}/")
    return summary
