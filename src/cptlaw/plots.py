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
