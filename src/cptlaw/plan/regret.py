"""Scoring the planner against a grid of real runs: what "replaces grid search" means, measured.

Given real CPT runs (a grid someone trained) and fits made on a few of them, the planner ranks every run of
the grid by its predicted Eq. 5 objective ``lambda1 * L_general + (1 - lambda1) * L_domain`` at the end of
CPT, and picks the best.  The **regret** is the pick's *real* objective minus the best real objective in
the grid, relative to the latter.  A random pick's expected regret (the mean over the grid) is the
baseline, and the compute saved is the CPT tokens of the grid runs the fits did not use, over the grid's.

The runs are matched to plan candidates by their dense LR: a run belongs to the grid only if a candidate of
the space gives its LR at every step (to 1e-12, relative: 0.1 * 3e-3 is not 3e-4 in floating point) and
its replay ratio, so the planner predicts what was run.
"""

from __future__ import annotations

import numpy as np

from ..data import RunSet
from ..errors import DataError
from .features import plan_run
from .search import feasible, predict_candidates
from .space import Candidate, Space


def match_runs(runs: RunSet, space: Space, names: list[str]) -> dict[str, Candidate]:
    """The candidate of ``space`` that each named CPT run follows exactly (DataError when one has none)."""
    cands = list(space.candidates())
    out = {}
    for name in names:
        run = runs[name]
        for c in cands:
            if c.transfer != run.transfer_step or c.transfer + c.steps != run.steps.size:
                continue
            if c.replay is not None and run.replay_ratio is not None and c.replay != run.replay_ratio:
                continue
            if np.allclose(plan_run(space, c).lr, run.lr, rtol=1e-12, atol=0.0):
                out[name] = c
                break
        else:
            raise DataError(f"run {name!r}: no candidate of the plan space follows its LR schedule exactly")
    return out


def final_loss(run, target: str) -> float:
    """The run's last evaluation of ``target`` (it must be at the run's last step)."""
    idx, loss = run.observed(target)
    if idx.size == 0 or idx[-1] != run.steps.size - 1:
        raise DataError(f"run {run.name!r}: no {target} evaluation at its last step")
    return float(loss[-1])


def regret_rows(general, domain, runs: RunSet, space: Space, grid: list[str], domain_target: str,
                lambda1s=(0.2, 0.5, 0.8)) -> list[dict]:
    """Per lambda1: the planner's pick among ``grid``, its real and predicted objective, the best real run,
    the regret and a random pick's expected regret (both relative to the best real objective)."""
    matched = match_runs(runs, space, grid)
    cands = [matched[n] for n in grid]
    pred = predict_candidates(general, domain, space, cands)
    ok, _ = feasible(space, cands, pred)  # the planner picks among the runs its constraints allow
    real_g = np.array([final_loss(runs[n], "loss:general") for n in grid])
    real_d = np.array([final_loss(runs[n], domain_target) for n in grid])
    fitted = set(general.result_.runs) | set(domain.result_.runs)
    tokens = np.array([c.steps for c in cands], float)
    saved = float(tokens[[n not in fitted for n in grid]].sum() / tokens.sum())
    rows = []
    for l1 in lambda1s:
        real = l1 * real_g + (1 - l1) * real_d
        score = np.where(ok, l1 * pred["general"] + (1 - l1) * pred["domain"], np.nan)
        pick, best = int(np.nanargmin(score)), int(np.argmin(real))
        rows.append({"lambda1": l1, "pick": grid[pick], "best": grid[best], "real_pick": float(real[pick]),
                     "real_best": float(real[best]), "predicted_pick": float(score[pick]),
                     "regret": float((real[pick] - real[best]) / real[best]),
                     "random_regret": float(np.mean((real - real[best]) / real[best])),
                     "pick_rank": int(np.sum(real < real[pick])) + 1, "grid": len(grid), "allowed": int(ok.sum()),
                     "pick_extrapolated": pred["extrapolated"][pick],
                     "fit_runs": sorted(fitted & set(grid)), "compute_saved": saved})
    return rows
