"""The fit figure (matplotlib Agg): observed vs fitted/predicted loss, the LR schedule, and residuals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import RunSet
from .errors import DataError
from .evaluate import cpt_rows, heldout_cpt_only
from .fit.bootstrap import prediction_interval
from .canvas import pyplot, save_figure

def _shared_prefix(run, drawn) -> int:
    """Index from which ``run`` must be drawn: its transfer when an already drawn run has the same PT prefix (the
    same LR before the transfer, so the same PT rows), else 0."""
    t = run.transfer
    if t is None:
        return 0
    for other in drawn:
        if other.lr.size >= t and np.array_equal(other.lr[:t], run.lr[:t]) and np.array_equal(other.steps[:t], run.steps[:t]):
            return t
    return 0


def fit_figure(law, runs: RunSet, names: list[str] | None = None, title: str | None = None, points: int = 400,
               interval: float = 0.9):
    """Observed against fitted / predicted loss.  Panels: the whole trajectory; the CPT phase zoomed (when a run
    has a transfer); the LR schedule; relative residuals (L̂ - L) / L.  Solid: runs used in the fit; dashed: held-out
    runs; dots: observations; shaded: the ``interval`` prediction band when the fit has a bootstrap.  A PT prefix
    shared by several runs is drawn once; transfer points are marked and labelled; the legend and the fit's
    diagnostics sit outside the axes, so they never cover data; the y-limits include every prediction at an
    observed step, so the worst held-out error is in view; a tokens axis is added when every run has
    ``tokens_per_step`` (the same).  The title gives the training-fit and the held-out scores, each named."""
    plt = pyplot()
    fit = law.result_
    target = fit.target
    fitted = set(fit.runs)
    chosen = list(runs.select(names))
    transfers = sorted({r.transfer_step for r in chosen if r.transfer_step is not None})
    panels = ["loss"] + (["cpt"] if transfers else []) + ["lr", "res"]
    ratios = {"loss": 3, "cpt": 2.2, "lr": 1.1, "res": 1.2}
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.6 * len(panels) + 1.2),
                             gridspec_kw={"height_ratios": [ratios[k] for k in panels]})
    ax = dict(zip(panels, axes))
    for key in ("lr", "res"):
        ax[key].sharex(ax["loss"])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    framed: list[float] = []
    framed_cpt: list[float] = []
    held_errors: list[np.ndarray] = []
    drawn: list = []
    cpt_start = min(transfers) if transfers else None
    for i, run in enumerate(chosen):
        c = colors[i % len(colors)]
        kind = "fitted" if run.name in fitted else "held out"
        ls = "-" if kind == "fitted" else "--"
        start = _shared_prefix(run, drawn)
        drawn.append(run)
        idx, obs = run.observed(target)
        first = max(int(idx.min()) if idx.size else 0, start)  # not the warmup before the first evaluation
        grid = np.unique(np.linspace(first, run.steps.size - 1, points).round().astype(np.int64))
        idx_all = np.unique(np.concatenate([grid, idx[idx >= start]]))
        pred = law.predict(run, run.steps[idx_all])
        ok = np.isfinite(pred)
        # the CPT panel shows the CPT phase of CPT runs only
        panels_of = (lambda steps: {"loss": np.ones(steps.size, bool),
                                    **({"cpt": steps >= run.transfer_step} if run.transfer_step is not None else {})})
        for key, m in panels_of(run.steps[idx_all]).items():
            ax[key].plot(run.steps[idx_all][ok & m], pred[ok & m], color=c, lw=1.6, ls=ls,
                         label=f"{run.name} ({kind})" if key == "loss" else None)
        if fit.uncertainty is not None:
            try:
                design = law.design([run], at={run.name: idx_all})
            except DataError:
                design = None
            if design is not None:
                lo, hi = prediction_interval(law, fit.uncertainty, design, interval)
                for key, m in panels_of(design.steps).items():
                    ax[key].fill_between(design.steps[m], lo[m], hi[m], color=c, alpha=0.15, lw=0)
        if idx.size:
            mine = idx >= start
            p_obs = np.full(idx.size, np.nan)  # the prediction at each observed step drawn (idx_all holds them)
            p_obs[mine] = pred[np.searchsorted(idx_all, idx[mine])]
            if kind == "held out" and not heldout_cpt_only(law) and not mine.all():  # scored on the shared prefix too
                p_obs[~mine] = law.predict(run, run.steps[idx[~mine]])
            for key, m in panels_of(run.steps[idx]).items():
                ax[key].scatter(run.steps[idx][mine & m], obs[mine & m], s=6, color=c, alpha=0.45, lw=0)
            res = (p_obs - obs) / obs
            okr = np.isfinite(res) & mine
            ax["res"].plot(run.steps[idx][okr], 100 * res[okr], color=c, lw=0.9, ls=ls)
            framed.extend(obs[mine])
            framed.extend(p_obs[np.isfinite(p_obs) & mine])
            if run.transfer_step is not None:
                in_cpt = run.steps[idx] >= run.transfer_step
                framed_cpt.extend(obs[in_cpt])
                framed_cpt.extend(p_obs[in_cpt & np.isfinite(p_obs)])
            if kind == "held out":
                # the CPT rows of a held-out CPT run; every row of a held-out PT-only run
                cpt = heldout_cpt_only(law) and run.transfer_step is not None
                scored = cpt_rows(run.steps[idx], run.transfer_step) if cpt else np.ones(idx.size, bool)
                scored &= np.isfinite(p_obs)
                if scored.any():
                    held_errors.append(np.abs(res[scored]))
        else:
            framed.extend(pred[ok])
        ax["lr"].plot(run.steps[start:], run.lr[start:], color=c, lw=1.0)
    for t in transfers:  # each transfer point once, labelled
        for key in [k for k in ("loss", "cpt", "lr") if k in ax]:
            ax[key].axvline(t, color="0.35", lw=0.7, ls=":")
        ax["loss"].annotate(f"transfer {t}", xy=(t, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10),
                            textcoords="offset points", fontsize=7, color="0.3", rotation=90, va="top")
    for key, vals in (("loss", framed), ("cpt", framed_cpt)):
        if key in ax and vals:
            lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
            pad = 0.06 * (hi - lo + 1e-9)
            ax[key].set_ylim(lo - pad, hi + pad)
    if "cpt" in ax:
        last = max(int(r.steps[-1]) for r in chosen)
        ax["cpt"].set_xlim(cpt_start - 0.02 * (last - cpt_start), last + 0.01 * (last - cpt_start))
        ax["cpt"].set_ylabel(f"{target}, CPT phase")
    ax["loss"].set_ylabel(f"{target} (nats)")
    tps = {r.tokens_per_step for r in chosen}
    if len(tps) == 1 and None not in tps:
        (tp,) = tps
        top = ax["loss"].secondary_xaxis("top", functions=(lambda x: x * tp / 1e6, lambda m: m * 1e6 / tp))
        top.set_xlabel("tokens (millions)", fontsize=8)
        top.tick_params(labelsize=7)
    ax["loss"].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    notes = fit.warnings[:4] + ([f"... and {len(fit.warnings) - 4} more"] if len(fit.warnings) > 4 else [])
    if fit.uncertainty is not None:
        notes.insert(0, f"shaded: {100 * interval:.0f}% prediction intervals ({fit.uncertainty.method} bootstrap, "
                        f"n={fit.uncertainty.n})")
    if notes:
        fig.text(0.01, 0.005, "\n".join(notes), fontsize=6.5, va="bottom", ha="left", color="0.25")
    score = f"training fit: mean per-run R²={fit.overall.r2:.4f}, PredE={100 * fit.overall.pred_e:.3f}%"
    if held_errors:
        e = np.concatenate(held_errors)
        where = "CPT rows" if heldout_cpt_only(law) else "all rows"
        score += f"; held-out PredE={100 * e.mean():.3f}% ({len(held_errors)} runs, {where})"
    ax["loss"].set_title(title or f"{fit.law_name} law on {target}: {score}", fontsize=10)
    ax["lr"].set_ylabel("learning rate")
    ax["res"].axhline(0, color="k", lw=0.6)
    ax["res"].set_ylabel("residual (%)")
    ax["res"].set_xlabel("step")
    for a in axes:
        a.grid(alpha=0.25)
    fig.tight_layout(rect=(0, 0.02 + 0.012 * len(notes), 1, 1))
    return fig


def plot_fit(law, runs: RunSet, path: str | Path, names: list[str] | None = None, force: bool = False,
             title: str | None = None) -> Path:
    return save_figure(fit_figure(law, runs, names, title), path, force=force)


def plot_schedule(schedule, steps: int, path: str | Path, force: bool = False, title: str | None = None) -> Path:
    """The LR of ``schedule`` at every step 0..steps-1 (a dashed line at a PT -> CPT transfer), as PNG/SVG/PDF."""
    plt = pyplot()
    lr = schedule.dense(steps)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(np.arange(steps), lr, color="C0", lw=1.5)
    if schedule.transfer_step is not None and schedule.transfer_step < steps:
        ax.axvline(schedule.transfer_step, color="0.4", ls="--", lw=1, label=f"transfer (step {schedule.transfer_step})")
        ax.legend(loc="best", fontsize=9)
    ax.set_xlabel("step (the scheduler's, from 0 at the first update)")
    ax.set_ylabel("learning rate")
    ax.set_title(title or f"LR schedule, {steps:,} steps", fontsize=11)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, force=force)
