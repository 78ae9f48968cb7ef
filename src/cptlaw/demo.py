"""``cptlaw demo``: the main job end to end on data that ships with cptlaw.

1. Real PT->CPT curves from cptlaw's own pilot trainer on an H100 (``pilot-gpu-german``, the 6.4M-parameter
   model): fit the CPT law (cptlaw's default form for each loss: docs/accuracy-forms.md) on the general and the
   German validation loss of 3 CPT runs (and the 2 PT runs),
   predict the held-out CPT runs (other schedules, re-warmups, transfer points, CPT from an annealed PT), plot,
   print the accuracy; then plan: search the grid's plan space for lambda1 in {0.2, 0.5, 0.8} (Eq. 5), and
   score the planner's pick among the trained replay-0.25 runs against the best of them (the regret).
2. The same on the small CPU-made set (``pilot-v1``, 0.33M parameters, CPT on Python code).
3. Real pre-training curves (Multi-Power-Law paper, 400M, MIT): fit the annealing law and the multi-power law on
   the paper's training split, predict its six test schedules, beside the paper's Table 1.
"""

from __future__ import annotations

import time
from pathlib import Path

from .data import write_runs
from .datasets import load, load_mpl
from .datasets.pilot_gpu import grid_space
from .datasets.splits import MPL_SPLIT, gpu_german_split, pilot_split
from .io import atomic_write_text
from .evaluate import evaluate
from .fit.report import in_sample_summary
from .laws import AnnealingLaw, CPTLaw, MultiPowerLaw
from .plan import outputs
from .plan.regret import regret_rows
from .plots import plot_fit
from .predict import predict_runs, rows_to_csv
from .select import form_name
from .suggest import suggest_if_unidentified

QUICK = {"n_starts": 8, "polish": 2}  # --quick (smoke tests); the demo's numbers use the default fit
PAPER_TABLE1_400M = {"annealing": (0.9962, 0.0025), "mpl": (0.9971, 0.0019)}  # (R², PredE), MPL paper Table 1

GPU_MODEL = "m"


def _line(name, m):
    return f"  {name:<32s} R2 {m['r2']:.4f}  PredE {100 * m['pred_e']:.3f}%  WorstE {100 * m['worst_e']:.3f}%"


def _pilot_selection(runs, domain="code"):
    """The largest model whose fitting and held-out runs are all in the bundled data."""
    for m in ("m", "s"):
        split = pilot_split(m, domain).present(runs)
        if all(n in runs for n in split.fit) and split.held_out:
            return m, list(split.fit), list(split.held_out)
    raise RuntimeError("the bundled pilot-v1 dataset lacks the demo's runs")


def _cpt_part(out: Path, runs, fit_names, held, domain: str, stem: str, quick: bool, force: bool, summary: dict,
              key: str) -> dict:
    """Fit the CPT law on the general and the domain loss, predict the held-out runs, plot, print; the fits."""
    fits = {}
    for target in ("loss:general", f"loss:{domain}"):
        law = CPTLaw().fit(runs, target, names=fit_names, **QUICK if quick else {})
        fit = law.result_
        tag = target.split(":")[1]
        report = evaluate(law, runs, held, cpt_only=True)
        atomic_write_text(out / f"predict_{stem}_{tag}.csv", rows_to_csv(predict_runs(law, runs, held)), force=force)
        plot_fit(law, runs, out / f"fit_{stem}_{tag}.png", names=fit_names + held, force=force)
        print(f"  {target}: form {form_name(law.form)} (cptlaw's default for a {law.role_} loss), fitted in "
              f"{fit.elapsed_s:.1f} s; in-sample: {in_sample_summary(fit)}; B = {law.params_['B']:+.3f}; "
              f"held-out CPT runs (CPT rows; R2 per run):")
        for line in fit.warnings:
            print(f"  (diagnostic: {line})")
        law = suggest_if_unidentified(law, runs)
        fit = law.result_
        tips = fit.diagnostics.suggested_runs
        if tips:
            print(f"  (to pin these down, train next: {tips[0]['description']}; the near-equivalent fits "
                  f"disagree there by {100 * tips[0]['spread']:.1f}%)")
        fit.save(out / f"fit_{stem}_{tag}.json", force=force)
        for name, m in report["runs"].items():
            print(_line(name, m))
        print(_line("held-out mean", report["overall"]) + "   (mean of runs)")
        summary[f"{key}_{tag}"] = report["overall"]
        fits[tag] = law
    return fits


def _plan_part(out: Path, runs, fits: dict, model: str, force: bool, summary: dict) -> None:
    """Plan on the fits, and score the planner's pick among the trained replay-0.25 runs (the regret)."""
    space = grid_space(model, replay=[0.25],
                       pilot={"init_from": {"const": f"{model}_pt_const", "wsd": f"{model}_pt_wsd"},
                              "domain": "german"})
    doc, res = outputs.build(fits["general"], fits["german"], space)
    outputs.write(out / "plan", outputs.files(doc, res, space, fits["general"], fits["german"]), force=force)
    print("  plan (Eq. 5, the grid's space: PT checkpoint, CPT family, peak LR, re-warmup; written to plan/):")
    for line in outputs.summary_lines(doc)[1:]:
        if not line.startswith("  "):
            print(f"  {line}")
    grid = [n for n in runs.names if n.startswith(f"{model}_german_") and n.endswith("_r25")]
    rows = regret_rows(fits["general"], fits["german"], runs, space, grid, "loss:german")
    print(f"  against real training: the planner's pick among the {len(grid)} trained replay-0.25 runs "
          f"({len(rows[0]['fit_runs'])} of them fitted):")
    for r in rows:
        print(f"  lambda1={r['lambda1']:.1f}: pick {r['pick']} (rank {r['pick_rank']} of {r['grid']}), regret "
              f"{100 * r['regret']:.2f}% vs the best real run ({r['best']}); random pick {100 * r['random_regret']:.2f}%")
    summary["plan_regret"] = rows


def run_demo(out: Path, force: bool = False, quick: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = {}
    gpu = load("pilot-gpu-german")
    split = gpu_german_split(GPU_MODEL)
    fit_names, held = list(split.fit), list(split.held_out)
    write_runs(gpu.select(fit_names + held), out / "pilot_gpu_german.csv", force=force)
    print(f"[1/3] real PT->CPT curves (bundled pilot-gpu-german, H100-trained, model '{GPU_MODEL}' with 6.4M "
          f"parameters, CPT on German with 25% replay)")
    print(f"      fit on {', '.join(fit_names)}")
    fits = _cpt_part(out, gpu, fit_names, held, "german", "gpu_german", quick, force, summary, "gpu")
    _plan_part(out, gpu, fits, GPU_MODEL, force, summary)

    runs = load("pilot-v1")
    model, fit_names, held = _pilot_selection(runs)
    write_runs(runs.select(fit_names + held), out / "pilot_code.csv", force=force)
    print(f"[2/3] the small CPU-made set (bundled pilot-v1, model '{model}', CPT on Python code with 25% replay)")
    print(f"      fit on {', '.join(fit_names)}")
    _cpt_part(out, runs, fit_names, held, "code", "cpt", quick, force, summary, "cpt")

    mpl_runs = load_mpl(400)
    write_runs(mpl_runs, out / "mpl400.csv", force=force)
    print("[3/3] real pre-training curves: Multi-Power-Law paper, 400M model, 9 schedules")
    mpl_fit, mpl_held = list(MPL_SPLIT.fit), list(MPL_SPLIT.held_out)
    print(f"      fit on {', '.join(mpl_fit)}; predict {', '.join(mpl_held)}")
    for law in (AnnealingLaw(), MultiPowerLaw()):
        law.fit(mpl_runs, "loss:train", names=mpl_fit, **QUICK if quick else {})
        fit = law.result_
        fit.save(out / f"fit_{law.name}.json", force=force)
        report = evaluate(law, mpl_runs, mpl_held)
        atomic_write_text(out / f"predict_{law.name}.csv", rows_to_csv(predict_runs(law, mpl_runs, mpl_held)),
                          force=force)
        plot_fit(law, mpl_runs, out / f"fit_{law.name}.png", force=force)
        paper = PAPER_TABLE1_400M[law.name]
        print(f"  {law.name} law ({law.options()['warmup']} warmup): fitted in {fit.elapsed_s:.1f} s; in-sample: "
              f"{in_sample_summary(fit)}")
        for name, m in report["runs"].items():
            print(_line(name, m))
        print(_line("held-out mean", report["overall"]) + f"   (mean of runs; paper Table 1: R2 {paper[0]}, "
                                                           f"PredE {100 * paper[1]:.2f}%)")
        summary[law.name] = report["overall"]
    print(f"done in {time.perf_counter() - t0:.1f} s; fits, predictions and plots are in {out}/")
    return summary
