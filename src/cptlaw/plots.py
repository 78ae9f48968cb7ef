"""Headless figures (matplotlib Agg): observed vs fitted/predicted loss, the LR schedule, and residuals."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .data import RunSet
from .data.native import default_file_mode
from .errors import CptlawError

FORMATS = (".png", ".svg", ".pdf")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


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


def fit_figure(fit, runs: RunSet, names: list[str] | None = None, title: str | None = None, points: int = 400,
               interval: float = 0.9):
    """Observed against fitted / predicted loss.  Panels: the whole trajectory; the CPT phase zoomed (when a run
    has a transfer); the LR schedule; relative residuals (L̂ - L) / L.  Solid: runs used in the fit; dashed: held-out
    runs; dots: observations; shaded: the ``interval`` prediction band when the fit has a bootstrap.  A PT prefix
    shared by several runs is drawn once; transfer points are marked and labelled; the legend and the fit's
    diagnostics sit outside the axes, so they never cover data; the y-limits include every prediction at an
    observed step, so the worst held-out error is in view; a tokens axis is added when every run has
    ``tokens_per_step`` (the same).  The title gives the training-fit and the held-out scores, each named."""
    from .errors import DataError
    from .fit.bootstrap import prediction_interval

    plt = _pyplot()
    law = fit.law()
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
        if fit.uncertainty.get("samples"):
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
            if kind == "held out" and fit.law_name != "cpt" and not mine.all():  # scored on the shared prefix too
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
                scored = idx >= (run.transfer or 0) if fit.law_name == "cpt" else np.ones(idx.size, bool)
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
    if fit.uncertainty.get("samples"):
        notes.insert(0, f"shaded: {100 * interval:.0f}% prediction intervals ({fit.uncertainty['method']} bootstrap, "
                        f"n={fit.uncertainty['n']})")
    if notes:
        fig.text(0.01, 0.005, "\n".join(notes), fontsize=6.5, va="bottom", ha="left", color="0.25")
    score = f"training fit R²={fit.overall.r2:.4f}, PredE={100 * fit.overall.pred_e:.3f}%"
    if held_errors:
        e = np.concatenate(held_errors)
        where = "CPT rows" if fit.law_name == "cpt" else "all rows"
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


def save_figure(fig, path: str | Path, force: bool = False) -> Path:
    """Save atomically as PNG, SVG or PDF (by extension); refuse to overwrite unless ``force``."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise CptlawError(f"{path}: figure format must be one of {', '.join(FORMATS)}")
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=130, metadata={"Software": "cptlaw"} if path.suffix.lower() == ".png" else None)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        _pyplot().close(fig)
    return path


def plot_fit(fit, runs: RunSet, path: str | Path, names: list[str] | None = None, force: bool = False,
             title: str | None = None) -> Path:
    return save_figure(fit_figure(fit, runs, names, title), path, force=force)


def plan_figures(doc: dict, res: dict, space, general_law, domain_law, max_points: int = 20000) -> dict:
    """The planner's figures: ``pareto.png`` (every candidate's predicted final general vs domain loss, the
    front, the recommendations marked), ``curves.png`` (the recommended plans' predicted CPT curves and LR) and,
    for a sweep of lambda1, ``optima.png`` (the optimal knobs against lambda1, as the paper's Fig. 8)."""
    from .plan.dynamics import predicted_curve
    from .plan.space import Candidate

    plt = _pyplot()
    pred, ok = res["predictions"], res["feasible"]
    g, d = pred["general"], pred["domain"]
    rng = np.random.default_rng(0)
    show = np.flatnonzero(pred["valid"])
    if show.size > max_points:  # a sample keeps the figure light; the front is drawn in full
        show = np.sort(rng.choice(show, max_points, replace=False))
    fig, ax = plt.subplots(figsize=(7, 5.5))
    ax.scatter(g[show], d[show], s=5, c=np.where(ok[show], "tab:blue", "0.75"), lw=0, alpha=0.5,
               label="candidates (grey: fail a constraint)")
    front = res["pareto"]
    ax.plot(g[front], d[front], "-", color="k", lw=1.2, label="Pareto front (feasible)")
    recs = [r for r in doc["recommendations"] if r["feasible"]]
    for k, rec in enumerate(recs):
        p = rec["plan"]
        ax.scatter([p["general"]], [p["domain"]], marker="*", s=160, color=f"C{(k + 1) % 10}", ec="k", lw=0.6,
                   zorder=5, label=f"recommended, {rec['objective']}")
    ax.set_xlabel("predicted final general loss (nats)")
    ax.set_ylabel("predicted final domain loss (nats)")
    ax.set_title(f"{doc['n_candidates']:,} CPT plans ({doc['n_feasible']:,} feasible): predictions of the fitted laws",
                 fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.25)
    fig.tight_layout()
    figs = {"pareto.png": fig}

    fig, (ax_g, ax_d, ax_lr) = plt.subplots(3, 1, figsize=(8, 9), sharex=True,
                                            gridspec_kw={"height_ratios": [2, 2, 1]})
    seen = set()
    for k, rec in enumerate(recs):
        fields = {f: rec["plan"][f] for f in Candidate.__dataclass_fields__}
        cand = Candidate(**fields)
        if cand in seen:
            continue
        seen.add(cand)
        c = f"C{(k + 1) % 10}"
        steps, gc, g0 = predicted_curve(general_law, space, cand)
        _, dc, d0 = predicted_curve(domain_law, space, cand)
        label = f"{rec['objective']}: {cand.family}, peak {cand.peak_lr:.3g}, {cand.pt}@{cand.transfer}"
        ax_g.plot(steps, gc, color=c, lw=1.4, label=label)
        ax_g.axhline(g0, color=c, lw=0.7, ls=":")
        ax_d.plot(steps, dc, color=c, lw=1.4)
        ax_d.axhline(d0, color=c, lw=0.7, ls=":")
        ax_lr.plot(steps, cand.cpt_clock_schedule(space.pt(cand))(steps - 1), color=c, lw=1.0)
    ax_g.set_ylabel("general loss (nats)")
    ax_d.set_ylabel("domain loss (nats)")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("CPT step")
    ax_g.set_title("predicted CPT curves of the recommended plans (dotted: the loss at the transfer)", fontsize=10)
    if recs:
        ax_g.legend(fontsize=7, loc="best")
    for ax in (ax_g, ax_d, ax_lr):
        ax.grid(alpha=0.25)
    fig.tight_layout()
    figs["curves.png"] = fig

    sweep = [r for r in recs if r["objective"].startswith("lambda1=")]
    if len(sweep) > 1:
        l1 = [r["w_general"] for r in sweep]
        knobs = [("loss_potential", "loss potential"), ("peak_lr", "CPT peak LR"), ("steps", "CPT steps"),
                 ("replay", "replay ratio"), ("transfer", "transfer step")]
        knobs = [(k, t) for k, t in knobs if len({r["plan"][k] for r in sweep}) > 1 or k in ("loss_potential",
                                                                                            "peak_lr")]
        fig, axes = plt.subplots(1, len(knobs), figsize=(3.2 * len(knobs), 3.2), squeeze=False)
        for ax, (k, title) in zip(axes[0], knobs):
            ax.plot(l1, [r["plan"][k] if r["plan"][k] is not None else np.nan for r in sweep], "o-")
            ax.set_xlabel("lambda1 (weight of the general loss)")
            ax.set_title(f"optimal {title}", fontsize=9)
            ax.grid(alpha=0.25)
        fig.tight_layout()
        figs["optima.png"] = fig
    return figs
