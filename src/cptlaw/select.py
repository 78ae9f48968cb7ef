"""Let the data choose the CPT law's form: cross-validation on the user's own runs (``cptlaw select``).

Candidates are :class:`~cptlaw.laws.CPTLaw` forms (:data:`FORMS`: Eq. 4 and the options cptlaw adds, alone and
combined).  Each is fitted on every run, then scored by cross-validation over the CPT runs:

* **leave one CPT run out**: fit on the PT runs and the other CPT runs, predict the one left out;
* **leave one transfer point out**, when the CPT runs start from two or more transfer points: fit without every
  run from one transfer point, predict them (a fold that equals a leave-one-run-out fold is not repeated).

A held-out run is scored on its CPT rows (:func:`cptlaw.evaluate.cpt_rows`, the one held-out rule): its PredE (mean
relative error), WorstE (largest) and ``early`` error (mean over the first :data:`EARLY_SHARE` of its CPT steps,
where a re-warmup misses most).  A form's CV score is the mean over every (fold, held-out run) pair, each run
weighing the same; its WorstE is the largest.  The table also gives the form's in-sample fit: pooled R² over all
rows (the paper's metric) and the mean of per-run R².

Choice (:func:`choose`): the parsimony rule.  Among the forms whose CV PredE is within ``tolerance`` (default
10%) of the best, or within one standard error of the best (the one-standard-error rule of Hastie, Tibshirani &
Friedman 2009, §7.10), the one with the fewest parameters wins; ties go to the lower CV PredE.

A fading form is not fitted when no CPT run starts from an annealed PT: its credit term is then zero on every CPT
row, so it predicts exactly as its lasting twin, whose fit and scores it takes (``same_as`` in the table).

Fold fits: every fold is a full multi-start fit (``refit="full"``, no information from the left-out runs) or,
much faster, local solves warm-started from the all-runs fit of the same form (``refit="warm"``, as the
bootstrap's refits, :mod:`cptlaw.fit.bootstrap`).  ``docs/accuracy-forms.md`` compares the two.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .data import RunSet, target_column
from .errors import CptlawError, DataError
from .evaluate import cpt_rows
from .fit.bootstrap import warm_refit
from .fit.metrics import metrics
from .fit.problem import Problem
from .laws import CPTLaw, from_result, make_law
from .laws.cpt import EQ4_FORM

EARLY_SHARE = 0.1  # the early part of a CPT run: its first 10% of CPT steps

# the candidate forms: name -> CPTLaw options, every form option explicit (Eq. 4 and what cptlaw adds; laws/cpt.py
# says why each)
_EQ4 = EQ4_FORM
FORMS: dict[str, dict] = {
    "eq4": dict(_EQ4),
    "sqrt": {**_EQ4, "shift": "sqrt"},
    "fading": {**_EQ4, "pt_credit": "fading"},
    "w": {**_EQ4, "pt_weight": True},
    "sqrt+fading": {**_EQ4, "shift": "sqrt", "pt_credit": "fading"},
    "sqrt+w": {**_EQ4, "shift": "sqrt", "pt_weight": True},
    "fading+w": {**_EQ4, "pt_credit": "fading", "pt_weight": True},
    "sqrt+fading+w": {"shift": "sqrt", "pt_credit": "fading", "pt_weight": True},
}

# when the runs cannot tell forms apart, the one preferred (choose; select puts the default form of the loss's
# role first)
PREFERENCE: tuple[str, ...] = tuple(FORMS)


POWER = "+power"  # a form's name with the replay factor r_cpt^a2 (CPTLaw replay_factor="power"; Eq. 8's otherwise)


def form_name(options: dict) -> str:
    """The name in :data:`FORMS` of a CPTLaw form, from its options (e.g. a law's ``get_params()``); with
    ``replay_factor="power"`` (and ``replay`` set) the name ends in ``+power``."""
    key = {k: options.get(k, v) for k, v in _EQ4.items()}
    power = POWER if options.get("replay") and options.get("replay_factor") == "power" else ""
    for name, opts in FORMS.items():
        if opts == key:
            return name + power
    raise CptlawError(f"not a form of FORMS: {key}")


def form_options(name: str) -> dict:
    """The CPTLaw options of a form name (:func:`form_name`'s inverse)."""
    base, power = (name[:-len(POWER)], True) if name.endswith(POWER) else (name, False)
    if base not in FORMS:
        raise CptlawError(f"unknown form {name!r}; choose among {', '.join(FORMS)} (with replay, each also with "
                          f"{POWER})")
    return {**FORMS[base], "replay_factor": "power" if power else "exp"}  # (Eq. 8's "exp" has no effect without replay)


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: the runs left out (the rest is fitted) and why."""

    held_out: tuple[str, ...]
    kind: str  # "run", "transfer <step>" (one transfer point out) or "replay <ratio>" (one replay ratio out)


def folds(runs: RunSet, names: list[str], cpt_only_runs: bool = False, by_replay: bool = False) -> list[Fold]:
    """The folds over the CPT runs among ``names`` (PT-only runs are always fitted; with ``cpt_only_runs``, the
    open-source mode's CPT-only runs, every run is a CPT run).  A transfer point is a PT history and a step: runs
    that branch from the same PT run at the same step.  With ``by_replay`` (a law with a replay factor) and three
    or more replay ratios among the CPT runs, every ratio is also left out in turn, and no fold leaves fewer than
    two ratios in the fit (the factor would not be identified).  Every fold leaves at least one CPT run in the
    fit."""
    cpt = [n for n in names if cpt_only_runs or runs[n].transfer is not None]
    if len(cpt) < 2:
        raise DataError(f"cross-validation needs at least 2 CPT runs (runs with a transfer); the selected runs have "
                        f"{len(cpt)}{': ' + ', '.join(cpt) if cpt else ''}")
    out = [Fold((n,), "run") for n in cpt]
    if by_replay:
        by_ratio: dict[float, list[str]] = {}
        for n in cpt:
            by_ratio.setdefault(float(runs[n].replay_ratio), []).append(n)
        if len(by_ratio) >= 3:
            out += [Fold(tuple(g), f"replay {r:g}") for r, g in sorted(by_ratio.items()) if len(g) > 1]
    if not cpt_only_runs:
        by_transfer: dict[tuple[int, bytes], list[str]] = {}
        for n in cpt:
            run = runs[n]
            prefix = np.ascontiguousarray(run.lr[:run.transfer], dtype=np.float64).tobytes()
            by_transfer.setdefault((int(run.transfer_step), prefix), []).append(n)
        if len(by_transfer) >= 2:
            for (step, _), group in sorted(by_transfer.items(), key=lambda kv: (kv[0][0], kv[1][0])):
                if 1 < len(group) < len(cpt):
                    out.append(Fold(tuple(group), f"transfer {step}"))
    if by_replay:  # a fit must keep two replay ratios, or its replay factor is not identified and predicts nonsense
        out = [f for f in out if len({float(runs[n].replay_ratio) for n in cpt if n not in f.held_out}) >= 2]
    return out


def heldout_errors(law, run, target: str) -> dict:
    """A fitted law's errors on one run's CPT rows (every row of a CPT-only run): PredE, WorstE and the early error
    (first EARLY_SHARE of its CPT steps); n rows."""
    idx, y = run.observed(target)
    start = run.transfer_step if run.transfer_step is not None else int(run.steps[0])  # (a CPT-only run: all CPT)
    keep = cpt_rows(run.steps[idx], start)
    idx, y = idx[keep], y[keep]
    if idx.size == 0:
        raise DataError(f"run {run.name!r} has no CPT rows of {target!r} to score")
    pred = law.predict(run, run.steps[idx])
    span = max(int(run.steps[-1] - start) + 1, 1)
    early = (run.steps[idx] - start) < EARLY_SHARE * span
    m = metrics(y, pred)
    return {"pred_e": m["pred_e"], "worst_e": m["worst_e"],
            "early_e": metrics(y[early], pred[early])["pred_e"] if early.any() else None, "n": m["n"]}


@dataclass
class FormScore:
    """One form's row of the selection table."""

    form: str
    options: dict
    n_params: int
    cv_pred_e: float
    cv_se: float
    cv_worst_e: float
    cv_early_e: float | None
    pooled_r2: float
    mean_run_r2: float
    objective: float
    folds: list[dict] = field(default_factory=list)
    same_as: str | None = None  # a form these runs cannot tell from another even in principle (not refitted)

    def row(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def cross_validate(law: CPTLaw, runs: RunSet, target: str, names: list[str], fold_list: list[Fold], *,
                   refit: str = "warm", fit_options: dict | None = None) -> FormScore:
    """Score one form by cross-validation; ``law`` is that form fitted on ``names`` (its ``result_`` gives the
    in-sample scores and, with ``refit="warm"``, the warm start)."""
    fit_options = dict(fit_options or {})
    scores = []
    for fold in fold_list:
        train = [n for n in names if n not in fold.held_out]
        try:
            held_law = _fold_fit(law, runs, target, train, refit, fit_options)
            for n in fold.held_out:
                scores.append({"fold": fold.kind, "run": n, **heldout_errors(held_law, runs[n], target)})
        except DataError as exc:  # e.g. the fold's fit predicts a non-loss on the run left out: the form fails it
            for n in fold.held_out:
                scores.append({"fold": fold.kind, "run": n, "pred_e": math.inf, "worst_e": math.inf, "early_e": None,
                               "n": 0, "error": str(exc)})
    pe = np.array([s["pred_e"] for s in scores])
    early = [s["early_e"] for s in scores if s["early_e"] is not None]
    pooled = law.result_.pooled.r2 if law.result_.pooled is not None else float("nan")
    return FormScore(form=form_name(law.options()), options=law.options(), n_params=len(law.params_),
                     cv_pred_e=float(pe.mean()),
                     cv_se=float(pe.std(ddof=1) / math.sqrt(pe.size)) if pe.size > 1 and np.all(np.isfinite(pe)) else 0.0,
                     cv_worst_e=float(max(s["worst_e"] for s in scores)),
                     cv_early_e=float(np.mean(early)) if early else None, pooled_r2=float(pooled),
                     mean_run_r2=float(law.result_.overall.r2) if law.result_.overall.r2 is not None else float("nan"),
                     objective=float(law.result_.objective), folds=scores)


def _fold_fit(law: CPTLaw, runs: RunSet, target: str, train: list[str], refit: str, fit_options: dict) -> CPTLaw:
    """The form fitted on ``train``: a fresh multi-start fit, or local solves from the all-runs fit."""
    # the form the all-runs fit used, every form option resolved (a fresh law would not resolve them without a fit)
    options = {**law.get_params(), **{k: v for k, v in law.options().items() if k in law.FORM_OPTIONS}}
    if options.get("lam") == "fit":  # the fold keeps the λ the all-runs fit chose
        options["lam"] = law.lam_
    fresh = CPTLaw(**options)
    if refit == "full":
        return fresh.fit(runs, target, names=train, **fit_options)
    if refit != "warm":
        raise CptlawError(f"refit must be 'warm' or 'full', got {refit!r}")
    design = fresh.design(list(runs.select(train).with_target(target)), target)
    params = fresh.parameters(design.y, design)
    problem = Problem(fresh, design, params)
    lower = np.array([p.lower for p in params])
    upper = np.array([p.upper for p in params])
    theta0 = np.clip(law.theta(), lower, upper)  # inside this fold's bounds (E's follow the clock's range)
    theta, _ = warm_refit(fresh, params, design, problem.x_of(theta0), fit_options.get("delta", law.result_.delta),
                          fit_options.get("max_nfev", 100))
    fresh.params_ = dict(zip(fresh.param_names, (float(v) for v in theta)))
    return fresh


@dataclass
class Selection:
    """The outcome of :func:`select`: the table (one :class:`FormScore` per form, in the order tried), the chosen
    form's name and its fit on every run (``law``), the rule, and every form's fit on every run (``laws``)."""

    table: list[FormScore]
    chosen: str
    law: CPTLaw
    rule: str
    folds: list[Fold]
    elapsed_s: float
    laws: dict[str, CPTLaw] = field(default_factory=dict)

    def record(self) -> dict:
        """What the saved fit keeps (``diagnostics.selection``)."""
        return {"rule": self.rule, "chosen": self.chosen, "refit": None,
                "folds": [{"held_out": list(f.held_out), "kind": f.kind} for f in self.folds],
                "table": [{k: v for k, v in s.row().items() if k != "folds"} for s in self.table],
                "elapsed_s": self.elapsed_s}


def preference(law: CPTLaw, runs: RunSet, target: str) -> tuple[str, ...]:
    """The order in which forms the runs cannot tell apart are preferred: cptlaw's default form for the loss's
    role (:meth:`CPTLaw.role_of`) first, then the forms that differ from it in fewer options."""
    default = law.default_form(law.role_of(runs, target))
    order = sorted(FORMS, key=lambda f: sum(FORMS[f][k] != default[k] for k in default))
    # with replay: cptlaw's default replay factor (the power one) first, then Eq. 8's
    return (tuple(f + POWER for f in order) + tuple(order)) if law.replay else tuple(order)


def choose(table: list[FormScore], tolerance: float = 0.1, prefer: tuple[str, ...] | None = None) -> tuple[str, str]:
    """The parsimony rule (module docstring): (chosen form, the rule in words).  Forms whose CV PredE is the same
    to 1e-6 are ones the runs cannot tell apart (e.g. the fading PT credit when no CPT starts from an annealed PT:
    it then predicts every fold alike); among those, ``prefer``'s order decides (default :data:`PREFERENCE`)."""
    prefer = tuple(prefer or PREFERENCE)
    rank = {f: i for i, f in enumerate(prefer)}
    if not table or not any(math.isfinite(s.cv_pred_e) for s in table):
        raise CptlawError("no form could predict every run left out (each failed a fold): the runs are too few or "
                          "too unlike each other for cross-validation")
    best = min(table, key=lambda s: s.cv_pred_e)
    limit = max(best.cv_pred_e * (1 + tolerance), best.cv_pred_e + best.cv_se)
    near = [s for s in table if s.cv_pred_e <= limit]
    fewest = min(s.n_params for s in near)
    near = [s for s in near if s.n_params == fewest]
    low = min(s.cv_pred_e for s in near)
    tied = [s for s in near if s.cv_pred_e <= low * (1 + 1e-6) + 1e-15]
    pick = min(tied, key=lambda s: (rank.get(s.form, len(rank)), s.cv_pred_e))
    rule = (f"fewest parameters among the forms within {100 * tolerance:.0f}% or one standard error of the best "
            f"CV PredE ({100 * best.cv_pred_e:.3f}% by {best.form}; limit {100 * limit:.3f}%)"
            + (f"; {len(tied)} forms the runs cannot tell apart, preferred in the order {', '.join(prefer)}"
               if len(tied) > 1 else ""))
    return pick.form, rule


def select(runs: RunSet, target: str, *, names: list[str] | None = None, forms: list[str] | None = None,
           base_options: dict | None = None, refit: str = "warm", tolerance: float = 0.1,
           fit_options: dict | None = None, n_jobs: int | None = None) -> Selection:
    """Cross-validate the CPT law's forms on ``runs`` (the runs ``names``) and choose one (module docstring).
    ``base_options`` are CPTLaw options every form shares (e.g. ``lam``, ``size``, ``replay``); ``fit_options``
    go to every fit (n_starts, seed, ...).  The chosen law is fitted on every run and carries the table in
    ``result_.diagnostics.selection``.  ``n_jobs`` processes score the forms in parallel (default: one per CPU
    core; 1: in this process); the results do not depend on it."""
    t0 = time.perf_counter()
    target = target_column(target)
    chosen_runs = runs.select(names).with_target(target)
    if not len(chosen_runs):  # the law's own message: which loss columns there are
        CPTLaw(**EQ4_FORM).design(list(runs.select(names)), target)
    names = list(chosen_runs.names)
    base = dict(base_options or {})
    known_pt = base.get("pt", "known") == "known"
    # the replay factor is part of each form (a name ending in +power); a base replay_factor narrows the default
    # candidates to that factor
    factor = base.pop("replay_factor", None)
    if factor is not None and not base.get("replay"):
        raise CptlawError("replay_factor needs replay ('general' or 'domain')")
    suffixes = {None: ("", POWER), "exp": ("",), "power": (POWER,)}[factor] if base.get("replay") else ("",)
    forms = list(forms or [f + p for p in suffixes for f in FORMS
                           if known_pt or not (FORMS[f]["pt_credit"] == "fading" or FORMS[f]["pt_weight"])])
    opts = {f: form_options(f) for f in forms}  # (an unknown name: a clear error)
    if not base.get("replay") and any(f.endswith(POWER) for f in forms):
        raise CptlawError(f"forms ending in {POWER} set the replay factor: they need replay ('general' or 'domain')")
    if not known_pt:
        bad = [f for f in forms if opts[f]["pt_credit"] == "fading" or opts[f]["pt_weight"]]
        if bad:
            raise CptlawError(f"form(s) {', '.join(bad)}: the PT credit and the PT weight need a known PT "
                              f"(pt='unknown' has neither)")
    make_law("cpt", **base)  # options that do not go together: a clear error before any fit
    fold_list = folds(chosen_runs, names, cpt_only_runs=not known_pt, by_replay=bool(base.get("replay")))
    clash = sorted(set(base) & set(_EQ4))
    if clash:
        raise CptlawError(f"{', '.join(clash)}: set by each form, not by the base options")
    twins = _fading_twins(forms, base, chosen_runs, target)
    tasks = [(form, base, chosen_runs, target, names, fold_list, refit, fit_options) for form in forms
             if form not in twins]
    jobs = min(len(tasks), n_jobs or os.cpu_count() or 1)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        # each form on its own process (fork: no re-import); results identical to one process, form by form
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            done = list(pool.map(_score_form, tasks))
    else:
        done = [_score_form(t) for t in tasks]
    scores = {form: score for (form, *_), (_, score) in zip(tasks, done)}
    laws = {form: law for (form, *_), (law, _) in zip(tasks, done)}
    for form, twin in twins.items():  # the same fit under the fading form's name (see _fading_twins)
        laws[form] = from_result(laws[twin].result_.model_copy(
            update={"options": {**laws[twin].result_.options, "pt_credit": "fading"}}, deep=True))
        scores[form] = dataclasses.replace(scores[twin], form=form, options=laws[form].options(), same_as=twin)
    table = [scores[form] for form in forms]
    pick, rule = choose(table, tolerance, prefer=preference(CPTLaw(**base), chosen_runs, target))
    sel = Selection(table, pick, laws[pick], rule, fold_list, time.perf_counter() - t0, laws)
    record = sel.record()
    record["refit"] = refit
    sel.law = laws[pick] = laws[pick].annotated(selection=record)  # the chosen fit's file keeps the table
    return sel


def _fading_twins(forms: list[str], base: dict, runs: RunSet, target: str) -> dict[str, str]:
    """Fading forms that predict exactly as their lasting twins on these runs, {fading form: twin}: where the law
    says the fading credit cannot matter (:meth:`CPTLaw.fading_matters`: no CPT from an annealed PT), the two forms
    have the same objective on every fit and fold, so the twin's fit is the fading form's too and is not computed
    twice."""
    # (whether S2pt is zero does not depend on lambda: a fixed one stands in for lam="fit", chosen only by a fit)
    base = {**base, "lam": 0.999 if base.get("lam") == "fit" else base.get("lam", 0.999)}
    twins = {}
    for form in forms:
        options = form_options(form)
        if options["pt_credit"] == "fading":
            twin = form_name({**base, **options, "pt_credit": "lasting"})
            law = CPTLaw(**base, **options)
            if twin in forms and not law.fading_matters(law.design(list(runs), target)):
                twins[form] = twin
    return twins


def _score_form(task) -> tuple[CPTLaw, FormScore]:
    """One form: fitted on every run, then cross-validated (a task of :func:`select`, run in a worker process)."""
    form, base, runs, target, names, fold_list, refit, fit_options = task
    law = CPTLaw(**base, **form_options(form)).fit(runs, target, **(fit_options or {}))
    return law, cross_validate(law, runs, target, names, fold_list, refit=refit, fit_options=fit_options)


def selection_lines(sel: Selection) -> list[str]:
    """The selection table as text: form, parameters, CV PredE (mean ± SE, worst, early), in-sample R²."""
    w = max([16] + [len(s.form) for s in sel.table])
    lines = [f"cross-validation over {len(sel.folds)} fold(s) of the CPT runs "
             f"({', '.join(f.kind + ': ' + '+'.join(f.held_out) for f in sel.folds)}); held-out CPT rows only",
             f"  {'form':<{w}s} {'params':>6s} {'CV PredE%':>10s} {'±SE':>7s} {'CV WorstE%':>10s} {'CV early%':>9s} "
             f"{'pooled R²':>9s} {'run R²':>8s}"]
    for s in sel.table:
        early = "-" if s.cv_early_e is None else f"{100 * s.cv_early_e:9.3f}"
        mark = ("  <- chosen" if s.form == sel.chosen else "") + (f"  (= {s.same_as}: no CPT from an annealed PT)"
                                                                   if s.same_as else "")
        lines.append(f"  {s.form:<{w}s} {s.n_params:6d} {100 * s.cv_pred_e:10.3f} {100 * s.cv_se:7.3f} "
                     f"{100 * s.cv_worst_e:10.3f} {early:>9s} {s.pooled_r2:9.5f} {s.mean_run_r2:8.5f}{mark}")
    lines.append(f"  rule: {sel.rule}")
    return lines
