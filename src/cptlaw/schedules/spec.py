"""Declarative schedule specs: plain dicts (YAML/JSON-friendly) <-> Schedule objects.

A spec is ``{"kind": <name>, <field>: <value>, ...}``; nested schedules are nested specs. Example (YAML)::

    kind: continual
    transfer: 20000
    rewarmup_steps: 500
    pt:  {kind: warmup, steps: 500, schedule: {kind: constant, lr: 2.0e-4}}
    cpt: {kind: cosine, peak: 2.0e-4, steps: 10000, floor: 0.0}

Unknown kinds and keys raise :class:`~cptlaw.errors.SpecError` naming the offending key and the valid ones.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic

from ..errors import SpecError
from ..io import load_yaml
from ..limits import MAX_NESTING, MAX_STEPS, hint
from .shapes import (Constant, Continual, Cosine, Cyclic, FromArray, Join, Linear, MultiStep, Schedule,
                     Warmup, WSD)

KINDS: dict[str, type[Schedule]] = {
    cls.kind: cls for cls in (Constant, Linear, Cosine, WSD, MultiStep, Cyclic, Warmup, Join, FromArray, Continual)
}
_NESTED = {"schedule", "pt", "cpt"}


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


# The typed schema of the scalar fields: LRs are finite and >= 0; step counts are integers in [min, MAX_STEPS].
LR_FIELDS = {"lr", "start", "end", "peak", "floor", "init", "factors", "values"}
STEP_MIN = {"steps": 1, "decay_steps": 0, "period": 1, "transfer": 1, "rewarmup_steps": 0, "milestones": 0,
            "boundaries": 0}
STEP_MIN_BY_KIND = {("warmup", "steps"): 0, ("array", "start"): 0}
TEXT_FIELDS = {"shape", "rewarmup_from"}
BOOL_FIELDS = {"endpoint"}


@lru_cache(maxsize=None)
def _adapter(kind: str, key: str):
    if key in TEXT_FIELDS:
        return pydantic.TypeAdapter(Annotated[str, pydantic.Strict()])
    lo = STEP_MIN_BY_KIND.get((kind, key), STEP_MIN.get(key))
    if lo is not None:
        return pydantic.TypeAdapter(Annotated[int, pydantic.Field(ge=lo, le=MAX_STEPS)])
    if key in LR_FIELDS:
        return pydantic.TypeAdapter(Annotated[float, pydantic.Field(ge=0.0, allow_inf_nan=False)])
    return None


def _scalar(kind: str, key: str, value: Any, where: str):
    """One scalar checked against the schema: '2e-4' (YAML 1.1 reads it as text) becomes 2e-4, '2e4' steps
    become 20000; booleans, negative or fractional step counts and non-finite LRs are errors."""
    if key in BOOL_FIELDS:
        if not isinstance(value, bool):  # ("false" as text is truthy: refused, not read as True)
            raise SpecError(f"{where}.{key}: expected true or false, got {value!r}")
        return value
    adapter = _adapter(kind, key)
    if adapter is None:
        return value
    if isinstance(value, bool):
        raise SpecError(f"{where}.{key}: expected a number, got the boolean {value}")
    if key not in TEXT_FIELDS and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise SpecError(f"{where}.{key}: expected a number, got {value!r}") from None
    if key in STEP_MIN or (kind, key) in STEP_MIN_BY_KIND:
        if isinstance(value, float) and math.isfinite(value) and value != int(value):
            raise SpecError(f"{where}.{key}: a step count must be a whole number, got {value}")
        if isinstance(value, float) and math.isfinite(value):
            value = int(value)
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise SpecError(f"{where}.{key}: {msg.lower()}, got {value!r}") from None


LIST_KEYS = ("milestones", "boundaries", "factors", "values")  # the spec keys that take a list


def _typed(kind: str, key: str, value: Any, where: str):
    if isinstance(value, (list, tuple)):
        if key not in LIST_KEYS:
            raise SpecError(f"{where}.{key}: expected one value, got a list")
        return [_scalar(kind, key, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if key in LIST_KEYS:
        raise SpecError(f"{where}.{key}: expected a list, got {type(value).__name__}")
    return _scalar(kind, key, value, where)


def from_spec(spec: Any, where: str = "schedule", _depth: int = 0) -> Schedule:
    """Build a :class:`Schedule` from a spec dict (or return it unchanged if it already is one)."""
    if isinstance(spec, Schedule):
        return spec
    if _depth > MAX_NESTING:
        raise SpecError(f"{where}: schedule specs nested deeper than {MAX_NESTING} levels")
    if not isinstance(spec, dict):
        raise SpecError(f"{where}: a schedule spec must be a mapping with a 'kind' key, got {type(spec).__name__}")
    if "kind" not in spec:
        raise SpecError(f"{where}: missing key 'kind' (one of {', '.join(sorted(KINDS))})")
    kind = spec["kind"]
    if kind not in KINDS:
        raise SpecError(f"{where}: unknown schedule kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    cls = KINDS[kind]
    fields = _fields(cls)
    kwargs: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "kind":
            continue
        if key not in fields:
            raise SpecError(f"{where}: unknown key {key!r} for kind {kind!r}; valid keys: {', '.join(fields)}")
        if key in _NESTED:
            value = from_spec(value, f"{where}.{key}", _depth + 1)
        elif key == "schedules":
            if not isinstance(value, list):
                raise SpecError(f"{where}.schedules: must be a list of schedule specs")
            value = tuple(from_spec(v, f"{where}.schedules[{i}]", _depth + 1) for i, v in enumerate(value))
        else:
            value = _typed(kind, key, value, where)
            if isinstance(value, list):
                value = tuple(value)
        kwargs[key] = value
    missing = [n for n, f in fields.items()
               if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise SpecError(f"{where}: kind {kind!r} is missing required key(s): {', '.join(missing)}")
    try:
        return cls(**kwargs)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: invalid value for kind {kind!r}: {exc}") from None


def to_spec(schedule: Schedule) -> dict:
    """The spec dict of a schedule; ``from_spec(to_spec(s)) == s``."""
    out: dict[str, Any] = {"kind": schedule.kind}
    for f in dataclasses.fields(schedule):
        value = getattr(schedule, f.name)
        if isinstance(value, Schedule):
            value = to_spec(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], Schedule):
            value = [to_spec(v) for v in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def load_spec_file(path: str | Path) -> dict:
    """Read a YAML or JSON file holding a mapping (see :func:`load_yaml`)."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    return data


def steps_to_show(schedule: Schedule, steps: int | None, where: str) -> int:
    """``steps``, or the schedule's length; bounded by MAX_STEPS before anything is drawn or summed."""
    steps = schedule.length if steps is None else steps
    if steps is None:
        raise SpecError(f"{where}: the schedule never ends (its last part is constant, multi-step or cyclic); "
                        "give the number of steps")
    if not 1 <= steps <= MAX_STEPS:
        raise SpecError(f"{where}: {steps:,} steps: give 1 to {MAX_STEPS:,} ({hint('MAX_STEPS')})")
    return int(steps)


def summary_lines(schedule: Schedule, steps: int) -> list[str]:
    """What a schedule does over ``steps`` steps, for a person to check before fitting: its LR at its landmarks
    (start, peak, transfer, its end, the last step) and its forward area S1 (the sum of the LRs)."""
    lr = schedule.dense(steps)
    marks: dict[int, list[str]] = {}
    for s, label in ((0, "first step"), (int(np.argmax(lr)), "peak"), (steps - 1, "last step"),
                     (schedule.transfer_step, "transfer (first CPT step)"),
                     (schedule.length, "the schedule's end (its last value from here on)")):
        if s is not None and 0 <= s < steps:
            marks.setdefault(int(s), []).append(label)
    lines = [f"{steps:,} steps; LR from {lr.min():.4g} to {lr.max():.4g}; S1 (sum of the LRs) = {lr.sum():.6g}"]
    for s in sorted(marks):
        lines.append(f"  step {s:>9,}: lr {lr[s]:.6g}  {', '.join(marks[s])}")
    return lines
