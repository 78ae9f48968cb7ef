"""The plan space: every CPT configuration the planner may recommend, declared in one YAML file.

::

    pt:
      schedule: {kind: warmup, steps: 100, schedule: {kind: constant, peak: 3.0e-4}}   # the PT as (to be) run
      # or several PT runs to choose from (e.g. annealed to different final LRs: their loss potentials):
      # schedules: {const: {...}, wsd: {kind: wsd, peak: 3.0e-4, steps: 1200, decay_steps: 240}}
      transfer: [600, 1200]          # candidate PT checkpoints: the first CPT step (default: after the PT)
      steps: 1200                    # the PT's length, where transfer is left out
    cpt:
      family: [constant, cosine, wsd]
      peak_lr: {min: 1.0e-4, max: 4.0e-4, num: 7, scale: log}
      rewarmup_steps: [0, 50]
      rewarmup_from: [zero]          # or pt_final: re-warm from the PT's LR at the transfer
      floor: [0.0, 0.1]              # final LR as a fraction of the peak (cosine, wsd)
      decay_fraction: [0.2]          # wsd: the cooldown's share of the CPT steps
      decay_shape: [linear]          # wsd: linear, cosine, 1-sqrt, 1-square
      steps: [600, 1200]
      replay: [0.25]                 # replay ratio (needs fits of Eq. 8)
      model_size: [6.4e6]            # non-embedding parameters (needs fits of Eq. 7)
    objective:
      lambda1: [0.2, 0.5, 0.8]       # Eq. 5: lambda1 * L_general + (1 - lambda1) * L_domain, at the end of CPT
      # ood: {general: 0.867, domain: 0.152}   # Eq. 6 instead: an out-of-domain set
    constraints:
      max_general_increase: 0.05     # nats above the general loss at the transfer (or relative: 0.02)
      max_general_increase_relative: 0.02
      target_domain_loss: 3.1        # keep only plans that reach it; prefer the fewest CPT steps (tokens)
      tokens_per_step: 65536
      max_cpt_tokens: 1.0e8          # token budget of the CPT phase
      domain_tokens: 5.0e7           # domain tokens available (replay dilutes: (1 - replay) of each step)
      max_domain_epochs: 1.0
      no_extrapolation: [replay]     # keep only plans whose replay ratio the fits have seen (also: peak_lr,
                                     # steps (the CPT forward area), transfer (the total area), model_size)
      allow_extrapolation: []        # peak_lr is kept inside the fits' peaks by default; [peak_lr] lifts that

Each knob is a value, a list, or a range ``{min, max, num, scale}``.  Unknown keys, empty lists and
impossible combinations are :class:`cptlaw.errors.SpecError` naming the key.  Only parametric schedule
families are searched: a free-form schedule optimised under these laws collapses to "peak, then zero at
once" (laws.md §1.7, pitfall 4), so none is offered.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import SpecError, validation_message
from ..limits import MAX_CANDIDATES, MAX_STEPS, hint
from ..schedules import CPT_FAMILIES, DECAY_SHAPES, Continual, Schedule, Warmup, cpt_family, from_spec, to_spec
from ..schedules.shapes import transfer_after_end
from ..io import load_yaml

FAMILIES = CPT_FAMILIES
# the law inputs (Law.INPUTS) that measure how far a knob takes a plan from the fits' data
EXTRAPOLATION_INPUTS = {"replay": ("r_pt",), "peak_lr": ("lr_peak_cpt", "lr_peak"),
                        "steps": ("S1cpt", "S1cpt_sqrt", "tcpt"), "transfer": ("S1", "S2pt", "S1_transfer"),
                        "model_size": ("N",)}
# knobs kept inside the range the fits saw unless constraints.allow_extrapolation names them: a fit does not
# transfer across peak LRs (docs/accuracy-peak-lr.md: 1-5 % off at 1.5-2x its peaks, far more beyond, and the laws
# always favour the higher peak), so the planner never recommends a peak LR the fits did not see
GUARDED = ("peak_lr",)
FREE_FORM = ("free", "free-form", "freeform", "array", "custom")
FREE_FORM_WHY = ("the planner searches parametric schedule families only (cpt.family: constant, cosine or wsd, "
                 "with their knobs). A free-form LR schedule optimised under these laws collapses to 'peak LR, "
                 "then zero within a step or two' (the annealing term rewards any drop at once; laws.md §1.7, "
                 "pitfall 4): an answer no one should train. To score a schedule of your own, use cptlaw predict "
                 "--schedule")


class Range(BaseModel):
    """``num`` values from ``min`` to ``max`` (ends included), evenly spaced on a linear or log scale."""

    model_config = ConfigDict(extra="forbid")
    min: float
    max: float
    num: int
    scale: Literal["linear", "log"] = "linear"

    def values(self, where: str) -> list[float]:
        if not 1 <= self.num <= MAX_CANDIDATES:
            raise SpecError(f"{where}: num must be in [1, {MAX_CANDIDATES:,}] ({hint('MAX_CANDIDATES')}), "
                            f"got {self.num:,}")
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.max < self.min:
            raise SpecError(f"{where}: need finite min <= max, got min={self.min}, max={self.max}")
        if self.scale == "log":
            if self.min <= 0:
                raise SpecError(f"{where}: a log range needs min > 0, got {self.min}")
            return np.geomspace(self.min, self.max, self.num).tolist()
        return np.linspace(self.min, self.max, self.num).tolist()


Knob = Any  # a value, a list of values or a Range mapping; checked by _knob


def _knob(value: Knob, where: str, kind: type, lo: float | None = None, hi: float | None = None,
          choices: tuple[str, ...] | None = None) -> list:
    """The candidate values of one knob, checked: non-empty, typed, in [lo, hi] or among ``choices``."""
    if isinstance(value, dict):
        try:
            values = Range.model_validate(value).values(where)
        except ValidationError as exc:
            raise SpecError(f"{where}: {validation_message(exc, limit=1)}") from None
    elif isinstance(value, list):
        values = value
    else:
        values = [value]
    if not values:
        raise SpecError(f"{where}: the list is empty; give at least one value")
    out = []
    for v in values:
        if choices is not None:
            if v not in choices:
                raise SpecError(f"{where}: {v!r} is not one of {', '.join(choices)}")
            out.append(v)
            continue
        if isinstance(v, str):  # YAML 1.1 reads 1e-4 (no dot) as a string; the schedule specs coerce it too
            try:
                v = float(v)
            except ValueError:
                raise SpecError(f"{where}: {v!r} is not a number") from None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SpecError(f"{where}: {v!r} is not a finite number")
        if kind is int:
            if v != int(v):
                raise SpecError(f"{where}: {v!r} is not a whole number of steps")
            v = int(v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise SpecError(f"{where}: {v!r} lies outside [{lo}, {hi}]")
        out.append(kind(v))
    return list(dict.fromkeys(out))  # duplicates once, order kept


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PTSpec(_Section):
    schedule: dict | None = None
    schedules: dict[str, dict] | None = None
    transfer: Knob = None
    steps: int | None = None


class CPTSpec(_Section):
    family: Knob = "cosine"
    peak_lr: Knob
    rewarmup_steps: Knob = 0
    rewarmup_from: Knob = "zero"
    floor: Knob = 0.0
    decay_fraction: Knob = 0.2
    decay_shape: Knob = "linear"
    steps: Knob
    replay: Knob = None
    model_size: Knob = None


class Objective(_Section):
    lambda1: Knob = 0.5
    ood: dict[str, float] | None = None

    @field_validator("ood")
    @classmethod
    def _ood(cls, v):
        if v is not None and set(v) != {"general", "domain"}:
            raise ValueError("ood needs exactly the keys 'general' and 'domain' (Eq. 6 coefficients)")
        if v is not None and (not all(math.isfinite(x) for x in v.values()) or not any(v.values())):
            raise ValueError(f"ood: the Eq. 6 coefficients must be finite and not both 0, got {v}")
        return v


class Constraints(_Section):
    max_general_increase: float | None = None
    max_general_increase_relative: float | None = None
    target_domain_loss: float | None = None
    tokens_per_step: float | None = None
    max_cpt_tokens: float | None = None
    domain_tokens: float | None = None
    max_domain_epochs: float = 1.0
    no_extrapolation: list[str] = []  # knobs whose law inputs must stay in the range the fits saw
    allow_extrapolation: list[str] = []  # knobs of GUARDED that may leave that range (off by default)


class PilotSpec(BaseModel):
    """Where the recommended plan would be trained by ``cptlaw pilot run``: the PT run to branch from, the
    domain, and any other run-config keys (model, batch_size, out, ...), copied into the written config."""

    model_config = ConfigDict(extra="allow")
    init_from: str | dict[str, str]  # the PT run's name, or one per PT schedule name (pt.schedules)
    domain: str
    replay_ratio: float | None = None  # the runs' replay when cpt.replay is not searched
    replay_data: dict[str, float] | None = None


class SpaceSpec(_Section):
    pt: PTSpec
    cpt: CPTSpec
    objective: Objective = Objective()
    constraints: Constraints = Constraints()
    pilot: PilotSpec | None = None


@dataclass(frozen=True)
class Candidate:
    """One CPT plan: a PT checkpoint (PT run ``pt`` after ``transfer`` steps) and a parametric CPT schedule,
    plus replay and model size."""

    pt: str
    transfer: int
    family: str
    peak_lr: float
    rewarmup_steps: int
    rewarmup_from: str
    floor: float
    decay_fraction: float
    decay_shape: str
    steps: int
    replay: float | None
    model_size: float | None

    def cpt_schedule(self, peak: float | None = None) -> Schedule:
        """The CPT phase on its own clock (re-warmup excluded: :class:`Continual` adds it)."""
        peak = self.peak_lr if peak is None else peak
        body = self.steps - self.rewarmup_steps
        return cpt_family(self.family, peak=peak, steps=body, floor=self.floor,
                          decay_steps=int(round(self.decay_fraction * body)), decay_shape=self.decay_shape)

    def schedule(self, pt: Schedule, peak: float | None = None) -> Continual:
        return Continual(pt, self.cpt_schedule(peak), self.transfer, self.rewarmup_steps, self.rewarmup_from)

    def cpt_clock_schedule(self, pt: Schedule) -> Schedule:
        """The CPT phase with its re-warmup, on the CPT clock (step 0 = first CPT update), as the pilot
        trainer's ``cpt.schedule`` takes it."""
        if not self.rewarmup_steps:
            return self.cpt_schedule()
        init = 0.0 if self.rewarmup_from == "zero" else float(pt(self.transfer - 1))
        return Warmup(self.cpt_schedule(), self.rewarmup_steps, init=init)


@dataclass
class Space:
    """A checked plan space: the PT schedule, the knobs' values, the objective and the constraints."""

    pts: dict[str, Schedule]
    pt_steps: int
    knobs: dict[str, list]
    lambda1: list[float]
    ood: dict[str, float] | None
    constraints: Constraints
    source: str = ""
    pilot: dict | None = None

    def pt(self, cand: Candidate) -> Schedule:
        """The PT schedule a candidate starts from."""
        return self.pts[cand.pt]

    def loss_potential(self, cand: Candidate) -> float:
        """eta_pt_final / eta_pt_peak at the candidate's checkpoint (laws.md §3.4): 1 = unannealed."""
        lr = self.pts[cand.pt](np.arange(cand.transfer))
        return float(lr[-1] / lr.max())

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.knobs.values())

    def candidates(self):
        """Every candidate, knob by knob in the order of :class:`Candidate`'s fields (irrelevant knobs, e.g.
        the floor of a constant schedule, take their first value only, so no plan is listed twice)."""
        keys = list(self.knobs)
        for combo in itertools.product(*(self.knobs[k] for k in keys)):
            c = dict(zip(keys, combo))
            if c["family"] != "wsd" and (c["decay_fraction"] != self.knobs["decay_fraction"][0]
                                         or c["decay_shape"] != self.knobs["decay_shape"][0]):
                continue
            if c["family"] == "constant" and c["floor"] != self.knobs["floor"][0]:
                continue
            if c["rewarmup_steps"] == 0 and c["rewarmup_from"] != self.knobs["rewarmup_from"][0]:
                continue
            yield Candidate(**c)

    def plan_document(self, cand: Candidate, name: str = "recommended") -> dict:
        """The schedule file of one candidate, as ``cptlaw predict --schedule`` and ``cptlaw pilot run`` read it."""
        doc: dict[str, Any] = {"name": name, "schedule": to_spec(cand.schedule(self.pt(cand)))}
        if cand.replay is not None:
            doc["replay_ratio"] = cand.replay
        if cand.model_size is not None:
            doc["model_size"] = cand.model_size
        if self.constraints.tokens_per_step:
            doc["tokens_per_step"] = self.constraints.tokens_per_step
        return doc

    def pilot_document(self, cand: Candidate, name: str = "recommended") -> dict | None:
        """The ``cptlaw pilot run`` config of one candidate, when the space has a ``pilot`` section."""
        if self.pilot is None:
            return None
        extra = {k: v for k, v in self.pilot.items() if k not in ("init_from", "domain", "replay_data",
                                                                   "replay_ratio")}
        init = self.pilot["init_from"]
        if isinstance(init, dict):
            if cand.pt not in init:
                raise SpecError(f"{self.source}: pilot.init_from names no run for the PT schedule {cand.pt!r}")
            init = init[cand.pt]
        cpt = {"init_from": init, "transfer": cand.transfer, "domain": self.pilot["domain"],
               "replay_ratio": cand.replay if cand.replay is not None else self.pilot["replay_ratio"], "schedule": to_spec(cand.cpt_clock_schedule(self.pt(cand))),
               "steps": cand.steps}
        if self.pilot.get("replay_data"):
            cpt["replay_data"] = self.pilot["replay_data"]
        return {"name": name, **extra, "cpt": cpt}


def parse_space(data: Any, source: str = "plan space") -> Space:
    """Check a plan-space document (already loaded) and expand its knobs."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a plan space must be a mapping with the keys pt, cpt, objective, constraints")
    cpt_data = data.get("cpt")
    if isinstance(cpt_data, dict) and ("schedule" in cpt_data or cpt_data.get("family") in FREE_FORM):
        raise SpecError(f"{source}: cpt: {FREE_FORM_WHY}")
    try:
        spec = SpaceSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{source}: {validation_message(exc, limit=1)}") from None
    if (spec.pt.schedule is None) == (spec.pt.schedules is None):
        raise SpecError(f"{source}: pt: give schedule (the PT run) or schedules (named PT runs to choose from)")
    if spec.pt.schedules is not None and not spec.pt.schedules:
        raise SpecError(f"{source}: pt.schedules: the mapping is empty; name at least one PT schedule")
    named = {"pt": spec.pt.schedule} if spec.pt.schedule is not None else spec.pt.schedules
    key = "pt.schedule" if spec.pt.schedule is not None else "pt.schedules."
    pts = {n: from_spec(v, f"{source}: {key}{'' if spec.pt.schedule is not None else n}") for n, v in named.items()}
    cpt = spec.cpt
    transfers = None if spec.pt.transfer is None else _knob(spec.pt.transfer, f"{source}: pt.transfer", int, 1,
                                                           MAX_STEPS)
    pt_steps = spec.pt.steps
    if pt_steps is None:
        if transfers is None:
            raise SpecError(f"{source}: pt: give transfer (the candidate PT checkpoints) or steps (the PT's length)")
        pt_steps = max(transfers)
    if not 1 <= pt_steps <= MAX_STEPS:
        raise SpecError(f"{source}: pt.steps: {pt_steps} lies outside [1, {MAX_STEPS}] ({hint('MAX_STEPS')})")
    transfers = transfers or [pt_steps]
    for n, sched in pts.items():
        problem = transfer_after_end(sched, max(transfers))
        if problem:
            raise SpecError(f"{source}: pt.transfer (PT schedule {n!r}): {problem}")
    if max(transfers) > pt_steps:
        raise SpecError(f"{source}: pt.transfer: {max(transfers)} lies after the end of the PT (pt.steps = {pt_steps})")
    w = f"{source}: cpt."
    knobs = {
        "pt": list(pts),
        "transfer": transfers,
        "family": _knob(cpt.family, w + "family", str, choices=FAMILIES),
        "peak_lr": _knob(cpt.peak_lr, w + "peak_lr", float, 1e-12, 10.0),
        "rewarmup_steps": _knob(cpt.rewarmup_steps, w + "rewarmup_steps", int, 0, MAX_STEPS),
        "rewarmup_from": _knob(cpt.rewarmup_from, w + "rewarmup_from", str, choices=("zero", "pt_final")),
        "floor": _knob(cpt.floor, w + "floor", float, 0.0, 1.0),
        "decay_fraction": _knob(cpt.decay_fraction, w + "decay_fraction", float, 0.0, 1.0),
        "decay_shape": _knob(cpt.decay_shape, w + "decay_shape", str, choices=DECAY_SHAPES[:4]),
        "steps": _knob(cpt.steps, w + "steps", int, 1, MAX_STEPS),
        "replay": [None] if cpt.replay is None else _knob(cpt.replay, w + "replay", float, 0.0, 1.0),
        "model_size": [None] if cpt.model_size is None else _knob(cpt.model_size, w + "model_size", float, 1.0),
    }
    if min(knobs["steps"]) <= max(knobs["rewarmup_steps"]):
        raise SpecError(f"{w}rewarmup_steps: a re-warmup of {max(knobs['rewarmup_steps'])} steps does not fit in "
                        f"a CPT of {min(knobs['steps'])} steps (cpt.steps)")
    if max(transfers) + max(knobs["steps"]) > MAX_STEPS:
        raise SpecError(f"{source}: pt.transfer + cpt.steps exceeds {MAX_STEPS} steps ({hint('MAX_STEPS')})")
    obj = spec.objective
    if obj.ood is not None and "lambda1" in obj.model_fields_set:
        raise SpecError(f"{source}: objective: give lambda1 (Eq. 5) or ood (Eq. 6), not both")
    lambda1 = _knob(obj.lambda1, f"{source}: objective.lambda1", float, 0.0, 1.0)
    c = spec.constraints
    for key in ("max_general_increase", "max_general_increase_relative", "tokens_per_step", "max_cpt_tokens",
                "domain_tokens", "max_domain_epochs", "target_domain_loss"):
        v = getattr(c, key)
        if v is not None and not (math.isfinite(v) and v > 0):
            raise SpecError(f"{source}: constraints.{key}: must be a positive finite number, got {v}")
    for knob in c.no_extrapolation:
        if knob not in EXTRAPOLATION_INPUTS:
            raise SpecError(f"{source}: constraints.no_extrapolation: {knob!r} is not one of "
                            f"{', '.join(EXTRAPOLATION_INPUTS)}")
    for knob in c.allow_extrapolation:
        if knob not in GUARDED:
            raise SpecError(f"{source}: constraints.allow_extrapolation: {knob!r} is not one of {', '.join(GUARDED)} "
                            f"(the other knobs may extrapolate unless no_extrapolation names them)")
        if knob in c.no_extrapolation:
            raise SpecError(f"{source}: constraints: {knob!r} is in both no_extrapolation and allow_extrapolation")
    c = c.model_copy(update={"no_extrapolation": [*c.no_extrapolation, *(k for k in GUARDED if k not in
                                                  c.no_extrapolation and k not in c.allow_extrapolation)]})
    if (c.max_cpt_tokens or c.domain_tokens) and not c.tokens_per_step:
        raise SpecError(f"{source}: constraints: a token budget needs tokens_per_step")
    pilot = None if spec.pilot is None else spec.pilot.model_dump(exclude_none=True)
    if pilot and isinstance(pilot["init_from"], dict) and set(pilot["init_from"]) != set(pts):
        raise SpecError(f"{source}: pilot.init_from: name one PT run for each PT schedule ({', '.join(pts)})")
    if pilot and cpt.replay is None and pilot.get("replay_ratio") is None:
        raise SpecError(f"{source}: pilot.replay_ratio: the pilot trainer needs the replay ratio; give it here "
                        "(the one the fits' runs used) or search it with cpt.replay")
    space = Space(pts, pt_steps, knobs, lambda1, obj.ood, c, source, pilot)
    if space.size > MAX_CANDIDATES:
        raise SpecError(f"{source}: the space has {space.size:,} candidates, more than {MAX_CANDIDATES:,}; "
                        f"narrow a range ({hint('MAX_CANDIDATES')})")
    return space


def load_space(path: str | Path) -> Space:
    """Read and check a plan-space YAML/JSON file (duplicate keys refused, safe loader)."""
    return parse_space(load_yaml(path), str(path))
