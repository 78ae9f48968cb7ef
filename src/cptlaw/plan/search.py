"""Choosing a plan: predicted final losses of every candidate, the constraints, Eq. 5 / Eq. 6 and the Pareto front.

Wang, Tissue et al. 2025, §5 Eq. 5: minimise ``lambda1 * L_general + lambda2 * L_domain`` at the end of CPT,
``lambda1 + lambda2 = 1`` (the same argmin as the weighted *changes* since the transfer, since the losses at
the transfer do not depend on the CPT plan; laws.md §3.4).  §5.2 Eq. 6: an out-of-domain set's loss is
``lambda'1 * L_general + lambda'2 * L_domain`` with fitted coefficients of any sign, so optimising it is the
same search with those weights.  The constraints (a cap on the general-loss increase over its value at the
transfer, a target domain loss reached in the fewest CPT steps, token budgets) follow D-CPT usage 1 and the
issue's planning questions.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..data import Run
from ..errors import SpecError
from ..predict import extrapolation_flags
from .features import AREA_KNOBS, candidate_design
from .space import EXTRAPOLATION_INPUTS, Candidate, Space


def loss_at_transfer(law, space: Space, cand: Candidate) -> float:
    """A fitted law's loss at the checkpoint a candidate's CPT starts from (the last PT step before its
    transfer)."""
    meta = {} if cand.model_size is None else {"model_size": cand.model_size}  # Eq. 7 needs N on PT rows too
    run = Run.from_schedule("pt", space.pt(cand), cand.transfer, **meta)
    d = law.design([run], at={"pt": np.array([cand.transfer - 1])})
    return float(law.value(law.theta(), d)[0])


def predict_candidates(general, domain, space: Space, cands: list[Candidate]) -> dict:
    """Per candidate: predicted final general and domain loss, their values at the transfer, and the inputs
    outside what each fit saw (``extrapolated``, e.g. ``general:S1cpt;domain:lr_peak_cpt``).  Both fits must
    use the same conventions (law options), so the candidates' inputs are computed once."""
    laws = {"general": general, "domain": domain}
    def conventions(law):  # Eq. 8 is "general" on one set and "domain" on the other: only its presence counts;
        # a law's form (e.g. the CPT law's shift clock) may differ between the two sets: each gets its own design
        opts = {k: v for k, v in law.options().items() if k not in law.FORM_OPTIONS}
        return {**opts, "replay": bool(opts.get("replay"))}

    if conventions(laws["general"]) != conventions(laws["domain"]):
        raise SpecError("the general and domain fits use different conventions (law options); refit one of them "
                        f"to match: {conventions(laws['general'])} vs {conventions(laws['domain'])}")
    designs = {"general": candidate_design(laws["general"], space, cands)}
    same = laws["general"].options() == laws["domain"].options()
    designs["domain"] = designs["general"] if same else candidate_design(laws["domain"], space, cands)
    out: dict = {}
    flags = [[] for _ in cands]
    for label, law in laws.items():
        d = designs[label]
        with np.errstate(all="ignore"):
            out[label] = law.value(law.theta(), d)
        at: dict = {}  # per checkpoint (and model size, for Eq. 7)
        for c in cands:
            if (c.pt, c.transfer, c.model_size) not in at:
                at[c.pt, c.transfer, c.model_size] = loss_at_transfer(law, space, c)
        out[f"{label}_at_transfer"] = np.array([at[c.pt, c.transfer, c.model_size] for c in cands])
        for i, f in enumerate(extrapolation_flags(law, d)):
            flags[i] += [f"{label}:{x}" for x in f.split(";") if x]
    out["extrapolated"] = [";".join(f) for f in flags]
    out["valid"] = np.isfinite(out["general"]) & np.isfinite(out["domain"]) & (out["general"] > 0) & (out["domain"] > 0)
    return out


def feasible(space: Space, cands: list[Candidate], pred: dict) -> tuple[np.ndarray, dict[str, int]]:
    """Which candidates meet every constraint, and how many each constraint removed."""
    c = space.constraints
    ok = pred["valid"].copy()
    removed = {"invalid prediction": int((~ok).sum())}
    rise = pred["general"] - pred["general_at_transfer"]
    steps = np.array([x.steps for x in cands], float)
    replay = np.array([x.replay or 0.0 for x in cands])
    tests = {}
    if c.max_general_increase is not None:
        tests["max_general_increase"] = rise <= c.max_general_increase
    if c.max_general_increase_relative is not None:
        tests["max_general_increase_relative"] = rise / pred["general_at_transfer"] <= c.max_general_increase_relative
    if c.target_domain_loss is not None:
        tests["target_domain_loss"] = pred["domain"] <= c.target_domain_loss
    if c.max_cpt_tokens is not None:
        tests["max_cpt_tokens"] = steps * c.tokens_per_step <= c.max_cpt_tokens
    if c.domain_tokens is not None:
        tests["domain_tokens"] = steps * c.tokens_per_step * (1.0 - replay) <= c.domain_tokens * c.max_domain_epochs
    for knob in c.no_extrapolation:
        inputs = EXTRAPOLATION_INPUTS[knob]
        tests[f"no_extrapolation:{knob}"] = np.array(
            [not any(f.split(":", 1)[1] in inputs for f in flags.split(";") if f) for flags in pred["extrapolated"]])
    for name, t in tests.items():
        removed[name] = int((ok & ~t).sum())
        ok &= t
    return ok, removed


def weights(space: Space) -> list[tuple[str, float, float]]:
    """(label, weight of the general loss, weight of the domain loss) per objective asked for."""
    if space.ood is not None:
        return [("ood", space.ood["general"], space.ood["domain"])]
    return [(f"lambda1={l1:g}", l1, 1.0 - l1) for l1 in space.lambda1]


def pareto_front(general: np.ndarray, domain: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the candidates whose (general, domain) final losses no other candidate beats in both,
    sorted by general loss."""
    idx = np.flatnonzero(np.ones(general.size, bool) if mask is None else mask)
    order = idx[np.lexsort((domain[idx], general[idx]))]
    front, best = [], np.inf
    for i in order:  # by rising general loss: on the front when its domain loss beats every one before
        if domain[i] < best:
            front.append(int(i))
            best = domain[i]
    return np.array(front, dtype=np.int64)


def choose(space: Space, cands: list[Candidate], pred: dict, w_general: float, w_domain: float,
           ok: np.ndarray | None = None) -> int | None:
    """The best feasible candidate (``ok``: :func:`feasible`'s mask, computed when not given): the lowest
    weighted final loss; with a target domain loss, the fewest CPT steps that reach it first (ties by the
    weighted loss).  None when no candidate is feasible."""
    ok = feasible(space, cands, pred)[0] if ok is None else ok
    if not ok.any():
        return None
    score = w_general * pred["general"] + w_domain * pred["domain"]
    idx = np.flatnonzero(ok)
    if space.constraints.target_domain_loss is not None:
        steps = np.array([cands[i].steps for i in idx])
        idx = idx[steps == steps.min()]
    return int(idx[np.argmin(score[idx])])


# the ordered (numeric) knobs that coarse-to-fine thins and refines
NUMERIC = ("transfer", "peak_lr", "rewarmup_steps", "floor", "decay_fraction", "steps", "replay", "model_size")
MAX_GROUPS = 4000  # above: coarse-to-fine (about 2 ms of area computations per group at 10^4 steps)


def n_groups(space: Space) -> int:
    return math.prod(len(space.knobs[k]) for k in AREA_KNOBS)


def _concat(preds: list[dict]) -> dict:
    out = {k: np.concatenate([p[k] for p in preds]) for k in preds[0] if k != "extrapolated"}
    out["extrapolated"] = [f for p in preds for f in p["extrapolated"]]
    return out


def coarse_to_fine(general, domain, space: Space, points: int = 5, max_rounds: int = 12):
    """Search a large space without enumerating it: every numeric knob with more than ``points`` values is
    thinned to ``points`` evenly spaced ones (ends kept); then, round after round, each objective's best
    feasible plan so far is refined on a window of ``points`` values around it whose spacing shrinks until
    it reaches the knob's own.  Categorical knobs (PT run, family, re-warmup start, decay shape) stay whole.
    A local search: it assumes each knob's optimum region is seen on the coarse grid.  Returns the evaluated
    candidates and their predictions (the front and the top lists are over those)."""
    full = space.knobs
    idx = {k: np.arange(len(v)) for k, v in full.items()}
    spacing = {k: max(1, math.ceil((len(v) - 1) / (points - 1))) for k, v in full.items()}
    cands: list[Candidate] = []
    seen: set[Candidate] = set()
    preds = []

    def evaluate(knob_idx: dict[str, np.ndarray]):
        sub = replace(space, knobs={k: [full[k][i] for i in knob_idx[k]] for k in full})
        new = [c for c in sub.candidates() if c not in seen]
        if new:
            seen.update(new)
            cands.extend(new)
            preds.append(predict_candidates(general, domain, sub, new))
        return len(new)

    evaluate({k: np.unique(np.linspace(0, len(full[k]) - 1, points).round().astype(int)) if k in NUMERIC else i
              for k, i in idx.items()})
    for _ in range(max_rounds):
        pred = _concat(preds)
        ok, _ = feasible(space, cands, pred)
        bests = {choose(space, cands, pred, wg, wd, ok) for _, wg, wd in weights(space)} - {None}
        spacing = {k: max(1, s // 2) for k, s in spacing.items()}
        added = 0
        for b in bests:
            around = {}
            for k, i in idx.items():
                if k not in NUMERIC:
                    around[k] = i
                    continue
                c = full[k].index(getattr(cands[b], k))
                lo, hi = max(0, c - spacing[k] * (points // 2)), min(len(full[k]) - 1, c + spacing[k] * (points // 2))
                around[k] = np.unique(np.arange(lo, hi + 1, spacing[k]).tolist() + [c])
            added += evaluate(around)
        if not added and all(s == 1 for s in spacing.values()):
            break
    return cands, _concat(preds)


def plan(general, domain, space: Space, exhaustive: bool | None = None) -> dict:
    """The whole answer for a plan space: per objective the recommended candidate, the Pareto front, and the
    constraints' effect.  ``general`` and ``domain`` are fitted laws (:func:`cptlaw.laws.load`) of the
    general (PT-distribution) and the domain validation loss, with the same area conventions.  Every
    candidate is evaluated unless the space needs more than :data:`MAX_GROUPS` area computations
    (``exhaustive=None``), in which case :func:`coarse_to_fine` searches it."""
    exhaustive = n_groups(space) <= MAX_GROUPS if exhaustive is None else exhaustive
    if exhaustive:
        cands = list(space.candidates())
        pred = predict_candidates(general, domain, space, cands)
    else:
        cands, pred = coarse_to_fine(general, domain, space)
    ok, removed = feasible(space, cands, pred)
    choices = [{"objective": label, "w_general": wg, "w_domain": wd, "best": choose(space, cands, pred, wg, wd, ok)}
               for label, wg, wd in weights(space)]
    return {"candidates": cands, "predictions": pred, "feasible": ok, "removed": removed, "exhaustive": exhaustive,
            "pareto": pareto_front(pred["general"], pred["domain"], ok), "choices": choices}
