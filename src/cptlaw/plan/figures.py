"""The planner's figures: the Pareto front of every candidate's predicted final losses, the recommended plans'
predicted CPT curves, and the optimal knobs against lambda1 (the paper's Fig. 8)."""

from __future__ import annotations

import numpy as np

from ..canvas import pyplot
from .dynamics import predicted_curve
from .space import Candidate


def plan_figures(doc: dict, res: dict, space, general_law, domain_law, max_points: int = 20000) -> dict:
    """The planner's figures: ``pareto.png`` (every candidate's predicted final general vs domain loss, the
    front, the recommendations marked), ``curves.png`` (the recommended plans' predicted CPT curves and LR) and,
    for a sweep of lambda1, ``optima.png`` (the optimal knobs against lambda1, as the paper's Fig. 8)."""
    plt = pyplot()
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
