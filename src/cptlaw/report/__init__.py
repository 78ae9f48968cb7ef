"""``cptlaw report``: one self-contained offline HTML page of fits, their data, held-out scores and a plan.

The page is rendered by Jinja2 from ``template.html.j2`` with autoescaping on, so every string that comes from
a user (run names, paths, column names, warnings quoting them) is escaped; figures are PNGs inlined as data
URIs, and the style sheet is inline, so the file opens anywhere with no network and no script.

Sections: the data (each run: steps, transfer, targets, metadata); per fit, its equation with the fitted
numbers, its parameters with bounds, standard errors and bootstrap intervals when the fit has them, its
diagnostics and warnings, observed against predicted curves with residuals, the training-fit scores, the
held-out scores (runs named with ``heldout``, scored on their CPT rows for the CPT law) kept apart and labelled
as such, and its conventions, data hash and versions; the plan (its recommendations and Pareto front), when a
``plan.json`` is given.
"""

from __future__ import annotations

import base64
import io
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._version import __version__
from ..data import RunSet
from ..io import atomic_write_text
from ..errors import CptlawError
from ..evaluate import evaluate, heldout_cpt_only
from ..fit.report import parameter_uncertainty
from ..plots import fit_figure
from ..canvas import pyplot

TEMPLATE = "template.html.j2"


def _png(fig) -> str:
    """A matplotlib figure as a data URI (and closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _env():
    try:
        import jinja2
    except ImportError:
        raise CptlawError("cptlaw report needs jinja2: pip install jinja2") from None
    return jinja2.Environment(loader=jinja2.PackageLoader("cptlaw", "report"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _runs_table(runs: RunSet) -> list[dict]:
    rows = []
    for r in runs:
        rows.append({"name": r.name, "steps": f"{int(r.steps[0])}–{int(r.steps[-1])}",
                     "transfer": "—" if r.transfer_step is None else r.transfer_step,
                     "targets": ", ".join(f"{t} ({r.observed(t.split(':', 1)[1])[0].size})" for t in r.targets),
                     "model_size": "—" if r.model_size is None else f"{r.model_size:.4g}",
                     "replay": "—" if r.replay_ratio is None else f"{r.replay_ratio:g}",
                     "source": r.source})
    return rows


def _metrics_rows(per_run: dict) -> list[dict]:
    def pct(v):
        return "—" if v is None or not np.isfinite(v) else f"{100 * v:.3f}%"

    return [{"run": name, "r2": "—" if m.get("r2") is None else f"{m['r2']:.4f}", "pred_e": pct(m["pred_e"]),
             "worst_e": pct(m["worst_e"]), "n": m["n"]} for name, m in per_run.items()]


def _fit_section(law, source: str, runs: RunSet, heldout: list[str] | None) -> dict:
    fit = law.result_
    params = []
    for name, p in fit.parameters.items():
        se, ci = parameter_uncertainty(fit, name)
        params.append({"name": name, "value": f"{p.value:.6g}", "doc": p.doc, "sign": p.sign,
                       "bounds": f"[{'−∞' if p.lower is None else f'{p.lower:g}'}, {'∞' if p.upper is None else f'{p.upper:g}'}]",
                       "stderr": "—" if se is None else f"± {se:.3g}",
                       "interval": "—" if ci is None else f"{100 * ci[0]:.0f}%: [{ci[1]:.6g}, {ci[2]:.6g}]"})
    fitted_runs = [n for n in fit.runs if n in runs]
    held = [n for n in (heldout or []) if n in runs and n not in fit.runs]
    missing = [n for n in (heldout or []) if n not in runs]
    if missing:
        raise CptlawError(f"--heldout: no run named {', '.join(missing)} in the data")
    figure = None
    shown = fitted_runs + held
    if shown and fit.law_name not in ("dcpt-cross",):
        try:
            figure = _png(fit_figure(law, runs, shown))
        except CptlawError as exc:  # a figure the data cannot make: say so in the page, keep the rest
            figure = None
            fit.diagnostics.warnings.append(f"no figure: {exc}")
    held_scores = None
    if held:
        report = evaluate(law, runs, held, cpt_only=heldout_cpt_only(law))
        held_scores = {"rows": _metrics_rows(report["runs"]),
                       "overall": _metrics_rows({"mean of runs": report["overall"]})[0],
                       "pooled": _metrics_rows({"pooled rows": report["pooled"]})[0], "cpt_only": heldout_cpt_only(law)}
    train = {k: v.model_dump() for k, v in fit.metrics.items()}
    return {
        "source": source, "law": fit.law_name, "citation": fit.citation, "target": fit.target,
        "equation": law.equation(), "params": params, "warnings": fit.warnings,
        "objective": f"{fit.objective:.6g}", "delta": fit.delta, "n_points": fit.n_points, "runs": list(fit.runs),
        "train": _metrics_rows(train), "train_overall": _metrics_rows({"mean of runs": fit.overall.model_dump()})[0],
        "train_pooled": None if fit.pooled is None else _metrics_rows({"pooled rows": fit.pooled.model_dump()})[0],
        "held": held_scores, "figure": figure, "options": {k: repr(v) for k, v in fit.options.items()
                                                           if k not in ("general", "domain", "k")},
        "data_hash": fit.data_hash, "versions": {"cptlaw": fit.cptlaw_version, **fit.versions},
        "lam_selection": fit.diagnostics.lam_selection,
    }


def _plan_section(doc: dict, source: str) -> dict:
    plt = pyplot()
    recs = []
    for rec in doc.get("recommendations", []):
        if not rec.get("feasible"):
            recs.append({"objective": rec["objective"], "feasible": False})
            continue
        p = rec["plan"]
        recs.append({"objective": rec["objective"], "feasible": True,
                     "plan": (f"from {p['pt']}@{p['transfer']}, {p['family']} CPT, peak LR {p['peak_lr']:.3g}, "
                              f"re-warmup {p['rewarmup_steps']}, {p['steps']} steps"
                              + (f", replay {p['replay']:g}" if p.get("replay") is not None else "")),
                     "general": f"{p['general']:.4f} ({p['general_change']:+.4f})",
                     "domain": f"{p['domain']:.4f} ({p['domain_change']:+.4f})",
                     "pattern": rec.get("dynamics", {}).get("pattern_text", ""),
                     "extrapolation": [f"{label}: {e['input']} = {e['value']:.4g} outside [{e['seen'][0]:.4g}, "
                                       f"{e['seen'][1]:.4g}]" for label, items in rec.get("extrapolation", {}).items()
                                       for e in items]})
    figure = None
    front = doc.get("pareto", [])
    if front:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        g = [r["general"] for r in front]
        d = [r["domain"] for r in front]
        ax.plot(g, d, "o-", color="k", ms=4, lw=1, label="Pareto front (feasible plans)")
        for k, rec in enumerate(r for r in doc["recommendations"] if r.get("feasible")):
            ax.scatter([rec["plan"]["general"]], [rec["plan"]["domain"]], marker="*", s=150, color=f"C{k + 1}",
                       ec="k", zorder=5, label=f"recommended, {rec['objective']}")
        ax.set_xlabel("predicted final general loss (nats)")
        ax.set_ylabel("predicted final domain loss (nats)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside the axes: never over data
        ax.grid(alpha=0.3)
        figure = _png(fig)
    return {"source": source, "n_candidates": doc.get("n_candidates"), "n_feasible": doc.get("n_feasible"),
            "removed_by": {k: v for k, v in doc.get("removed_by", {}).items() if v}, "recommendations": recs,
            "figure": figure, "targets": {k: v.get("target") for k, v in doc.get("fits", {}).items()}}


def render(fits: list[tuple[str, object]], runs: RunSet, heldout: list[str] | None = None,
           plan: tuple[str, dict] | None = None, title: str = "cptlaw report") -> str:
    """The page as a string.  ``fits``: (source, fitted law) pairs; ``plan``: (source, plan.json document)."""
    if plan is not None:
        targets = {v.get("target") for v in plan[1].get("fits", {}).values()}
        mine = {law.result_.target for _, law in fits}
        if targets and not targets & mine:
            raise CptlawError(f"--plan {plan[0]}: its fits are of {', '.join(sorted(t for t in targets if t))}; "
                              f"none of the reported fits is ({', '.join(sorted(mine))})")
    context = {
        "title": title, "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__, "python": platform.python_version(), "data_source": runs.source,
        "runs": _runs_table(runs), "fits": [_fit_section(f, src, runs, heldout) for src, f in fits],
        "plan": None if plan is None else _plan_section(plan[1], plan[0]),
    }
    return _env().get_template(TEMPLATE).render(**context)


def write_report(path: str | Path, html: str, force: bool = False) -> Path:
    return atomic_write_text(path, html, force=force)
