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
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from .shapes import (Constant, Continual, Cosine, Cyclic, FromArray, Join, Linear, MultiStep, Schedule,
                     Warmup, WSD)

KINDS: dict[str, type[Schedule]] = {
    cls.kind: cls for cls in (Constant, Linear, Cosine, WSD, MultiStep, Cyclic, Warmup, Join, FromArray, Continual)
}
_NESTED = {"schedule", "pt", "cpt"}


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def from_spec(spec: Any, where: str = "schedule") -> Schedule:
    """Build a :class:`Schedule` from a spec dict (or return it unchanged if it already is one)."""
    if isinstance(spec, Schedule):
        return spec
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
            value = from_spec(value, f"{where}.{key}")
        elif key == "schedules":
            if not isinstance(value, list):
                raise SpecError(f"{where}.schedules: must be a list of schedule specs")
            value = tuple(from_spec(v, f"{where}.schedules[{i}]") for i, v in enumerate(value))
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
    """Read a YAML or JSON file (``yaml.safe_load`` reads both) holding a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    return data
