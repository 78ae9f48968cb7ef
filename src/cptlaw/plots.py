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


def fit_figure(fit, runs: RunSet, names: list[str] | None = None, title: str | None = None, points: int = 400,
               interval: float = 0.9):
    """A 3-panel figure: loss (dots observed; solid = runs used in the fit, dashed = predicted runs; shaded:
    the ``interval`` prediction band when the fit has a bootstrap), the LR schedule, and relative residuals
    (L̂ - L) / L; the fit's diagnostic warnings are printed under the loss panel.  Returns the Figure."""
    from .errors import DataError
    from .fit.bootstrap import prediction_interval

    plt = _pyplot()
    law = fit.law()
    target = fit.target
    fitted = set(fit.runs)
    fig, (ax_loss, ax_lr, ax_res) = plt.subplots(3, 1, figsize=(9, 9), sharex=True,
                                                 gridspec_kw={"height_ratios": [3, 1.2, 1.2]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    shown: list[float] = []
    for i, run in enumerate(runs.select(names)):
        c = colors[i % len(colors)]
        kind = "fitted" if run.name in fitted else "predicted"
        idx, obs = run.observed(target)
        first = int(idx.min()) if idx.size else 0  # the law is not meant for the warmup before the first eval
        grid = np.unique(np.linspace(first, run.steps.size - 1, points).round().astype(np.int64))
        idx_all = np.unique(np.concatenate([grid, idx]))
        pred = law.predict(run, run.steps[idx_all])
        ok = np.isfinite(pred)
        ax_loss.plot(run.steps[idx_all][ok], pred[ok], color=c, lw=1.6, ls="-" if kind == "fitted" else "--",
                     label=f"{run.name} ({kind})")
        if fit.uncertainty.get("samples"):
            try:
                design = law.design([run], at={run.name: idx_all})
            except DataError:
                design = None
            if design is not None:
                lo, hi = prediction_interval(law, fit.uncertainty, design, interval)
                ax_loss.fill_between(design.steps, lo, hi, color=c, alpha=0.15, lw=0)
        if idx.size:
            ax_loss.scatter(run.steps[idx], obs, s=6, color=c, alpha=0.45, lw=0)
            res = (law.predict(run, run.steps[idx]) - obs) / obs
            ax_res.plot(run.steps[idx], 100 * res, color=c, lw=0.9, ls="-" if kind == "fitted" else "--")
        ax_lr.plot(run.steps, run.lr, color=c, lw=1.0)
        shown.extend(obs if idx.size else pred[ok])
        if run.transfer_step is not None:
            for ax in (ax_loss, ax_lr):
                ax.axvline(run.transfer_step, color=c, lw=0.6, ls=":", alpha=0.7)
    if shown:  # frame the observed losses, not the model's blow-up at tiny S1
        lo, hi = np.nanpercentile(shown, [0, 99.5])
        pad = 0.08 * (hi - lo + 1e-9)
        ax_loss.set_ylim(lo - pad, hi + pad)
    ax_loss.set_ylabel(f"{target} (nats)")
    notes = fit.warnings[:4] + ([f"... and {len(fit.warnings) - 4} more"] if len(fit.warnings) > 4 else [])
    if fit.uncertainty.get("samples"):
        notes.insert(0, f"shaded: {100 * interval:.0f}% prediction intervals ({fit.uncertainty['method']} bootstrap, "
                        f"n={fit.uncertainty['n']})")
    if notes:
        ax_loss.text(0.01, 0.02, "\n".join(notes), transform=ax_loss.transAxes, fontsize=6.5, va="bottom",
                     ha="left", bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.85))
    ax_loss.legend(fontsize=7, ncol=2, loc="upper right")
    r2 = fit.overall.r2
    ax_loss.set_title(title or f"{fit.law_name} law on {target}: fit R²={r2:.4f}, "
                               f"PredE={100 * fit.overall.pred_e:.3f}% (dots: observed)", fontsize=10)
    ax_lr.set_ylabel("learning rate")
    ax_res.axhline(0, color="k", lw=0.6)
    ax_res.set_ylabel("residual (%)")
    ax_res.set_xlabel("step")
    for ax in (ax_loss, ax_lr, ax_res):
        ax.grid(alpha=0.25)
    fig.tight_layout()
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
