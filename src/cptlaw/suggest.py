"""Experiment design: the extra pilot run that would best pin down a fit's poorly identified parameters.

When parameter sets that explain the data about equally well disagree (the multi-start's local solutions
within 1% of the best objective, and the bootstrap refits when there are any), the most informative next run
is the one whose predicted curve differs most between them: whatever its observed curve turns out to be, it
rules out most of them ("query by committee", Seung, Opper & Sompolinsky 1992; a maximum-disagreement
design).  The score of a candidate is the mean, over 40 evaluation points of its CPT phase (its whole run for a
pre-training law), of the spread (max - min) of the predicted log-loss across the parameter sets: a relative
disagreement, e.g. 0.02 = the fits disagree by about 2% there.

Candidates are built from what the fitted runs already contain, so that each can be trained as it is: CPT
phases branching from a fitted PT run at a transfer step the data used, with the constant, cosine, WSD and
re-warmed cosine shapes at 0.5x, 1x and 1.5x the peak LR seen; or, for the pre-training laws, constant, cosine
and WSD schedules of the length seen and twice that.  Each comes with the matching ``pt:`` or ``cpt:`` block of a
``cptlaw pilot run`` config (the rest of the config, such as the model and the domain, is the user's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Run, RunSet
from .errors import DataError
from .fit.problem import Problem
from .schedules import CPT_FAMILIES, Warmup, cpt_family, detect_warmup, to_spec

SHAPES = ("constant", "cosine", "wsd", "rewarm_cosine")
MIN_SPREAD = 1e-4  # a disagreement below 0.01% of the loss is below any evaluation noise
PEAKS = (0.5, 1.0, 1.5)


@dataclass
class Candidate:
    name: str
    description: str
    run: Run
    first: int  # index of the first step scored (the transfer for a CPT candidate)
    config: dict


def _cpt_schedule(shape: str, peak: float, steps: int):
    """A candidate's CPT schedule: a CPT family to a tenth of the peak, or a re-warmed cosine."""
    if shape in CPT_FAMILIES:
        return cpt_family(shape, peak=peak, steps=steps, floor=0.1, decay_steps=max(1, steps // 5))
    warm = max(1, steps // 10)
    return Warmup(cpt_family("cosine", peak=peak, steps=steps - warm, floor=0.1), warm)


def candidates(law, runs: RunSet) -> list[Candidate]:
    """Runs one could train next, from the fitted runs' PT bases, transfer points, lengths and peak LR."""
    fitted = [runs[n] for n in law.result_.runs if n in runs]
    if not fitted:
        raise DataError("none of the fit's runs is in the data given")
    peak = float(max(np.max(r.lr) for r in fitted))
    out = []
    cpt_runs = [r for r in fitted if r.is_cpt]
    if cpt_runs:
        bases = [r for r in fitted if not r.is_cpt] or cpt_runs
        transfers = sorted({r.transfer for r in cpt_runs})
        length = max(r.steps.size - r.transfer for r in cpt_runs)
        for base in bases:
            for t in transfers:
                if t > (base.transfer if base.is_cpt else base.steps.size):
                    continue
                for shape in SHAPES:
                    for k in PEAKS:
                        sched = _cpt_schedule(shape, k * peak, length)
                        lr = np.concatenate([base.lr[:t], sched(np.arange(length))])
                        name = f"{base.name}@{t}_{shape}_x{k:g}"
                        run = Run(name, np.arange(lr.size), lr, transfer=t, model_size=base.model_size,
                                  tokens_per_step=base.tokens_per_step, replay_ratio=base.replay_ratio)
                        desc = (f"CPT from {base.name} at step {t}: {shape.replace('_', ' ')}, peak {k * peak:.3g} "
                                f"({k:g}x), {length} steps")
                        out.append(Candidate(name, desc, run, t, {"cpt": {"init_from": base.name, "transfer": int(t),
                                                                          "schedule": to_spec(sched),
                                                                          "steps": int(length)}}))
        return out
    warm = detect_warmup(fitted[0].lr)
    longest = max(r.steps.size for r in fitted)
    for horizon in (longest, 2 * longest):
        body = horizon - warm
        for shape in ("constant", "cosine", "wsd"):
            for k in PEAKS:
                sched = Warmup(_cpt_schedule(shape, k * peak, body), warm) if warm else _cpt_schedule(shape, k * peak, body)
                run = Run.from_schedule(f"{shape}_{horizon}_x{k:g}", sched, horizon)
                desc = f"pre-training: {shape}, peak {k * peak:.3g} ({k:g}x), {horizon} steps (warmup {warm})"
                out.append(Candidate(run.name, desc, run, warm, {"pt": {"schedule": to_spec(sched),
                                                                      "steps": int(horizon)}}))
    return out


def parameter_sets(law, runs: RunSet | None = None, rel_tol: float = 0.01) -> np.ndarray:
    """The committee of near-equivalent fits: the near-best local solutions; the fit moved both ways along
    each unidentified direction, as far as its objective on the fitted runs stays within ``rel_tol`` of the
    best (steps of its standard error, at most 100%, halved until they do; clipped to the bounds; needs
    ``runs``); and up to 50 bootstrap refits if any."""
    fit = law.result_
    names = list(fit.params)
    objective = None
    if runs is not None:
        design = law.design(list(runs.select(fit.runs)), fit.target)
        problem = Problem(law, design, law.parameters(design.y, design))

        def objective(theta):
            with np.errstate(all="ignore"):
                return problem.objective(problem.x_of(theta), fit.delta)
    best = np.array([fit.params[n] for n in names])
    sets = [np.asarray(t, float) for t in fit.starts.get("near_best_params", [])]
    lo = np.array([-np.inf if fit.parameters[n].lower is None else fit.parameters[n].lower for n in names])
    hi = np.array([np.inf if fit.parameters[n].upper is None else fit.parameters[n].upper for n in names])
    for u in fit.diagnostics.unidentified:
        t = min(u["relative_se"] or 1.0, 1.0)
        d = np.array([u.get("direction", {}).get(n, 0.0) for n in names])
        log = np.array([fit.parameters[n].log for n in names])
        for sign in (1.0, -1.0):
            for step in t * 0.5 ** np.arange(8):
                moved = np.clip(np.where(log, best * np.exp(sign * step * d / np.where(best != 0, best, 1.0)),
                                         best + sign * step * d), lo, hi)
                if objective is None or objective(moved) <= fit.objective * (1 + rel_tol) + 1e-15:
                    sets.append(moved)
                    break
    sets += [np.asarray(t, float) for t in (fit.uncertainty.samples if fit.uncertainty else [])[:50]]
    return np.asarray(sets, dtype=float).reshape(len(sets), len(names))


def suggest_runs(law, runs: RunSet, top: int = 3, points: int = 40) -> list[dict]:
    """The ``top`` candidates whose predicted curves differ most across the fitted law's near-equivalent
    parameter sets (see the module docstring); empty when there are fewer than two such sets."""
    sets = parameter_sets(law, runs)
    if len(sets) < 2:
        return []
    fit = law.result_
    scored = []
    fitted = [runs[n].lr for n in fit.runs if n in runs]
    for cand in candidates(law, runs):
        if any(lr.size == cand.run.lr.size and np.allclose(lr, cand.run.lr, rtol=1e-9, atol=0) for lr in fitted):
            continue  # a run the fit already has
        idx = np.unique(np.linspace(cand.first, cand.run.steps.size - 1, points).round().astype(np.int64))
        try:
            design = law.design([cand.run], at={cand.run.name: idx})
        except DataError:
            continue
        with np.errstate(all="ignore"):
            pred = np.array([law.value(th, design) for th in sets])
            logp = np.log(np.where(pred > 0, pred, np.nan))
        ok = np.all(np.isfinite(logp), axis=0)
        if not ok.any():
            continue
        spread = np.max(logp[:, ok], axis=0) - np.min(logp[:, ok], axis=0)
        scored.append({"name": cand.name, "description": cand.description, "spread": float(np.mean(spread)),
                       "max_spread": float(np.max(spread)), "config": cand.config})
    scored = [s for s in scored if s["spread"] >= MIN_SPREAD]  # no run tells such fits apart: nothing to suggest
    scored.sort(key=lambda s: -s["spread"])
    return scored[:top]


def suggest_if_unidentified(law, runs: RunSet):
    """The fitted loss-curve ``law`` with its suggested next runs recorded (``diagnostics.suggested_runs``,
    :meth:`Law.annotated`: a copy) where its fit left parameters unidentified or degenerate; the law itself
    otherwise (and always for D-CPT fits).  The suggestions: ``result_.diagnostics.suggested_runs or []``."""
    fit = law.result_
    if not law.USES_LR or not (fit.degenerate or fit.diagnostics.unidentified):
        return law
    return law.annotated(suggested_runs=suggest_runs(law, runs))
