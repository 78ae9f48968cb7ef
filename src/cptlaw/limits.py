"""Bounds on sizes derived from user input, checked before anything is allocated.

Each limit can be raised (or lowered) with the environment variable of its name, e.g.
``CPTLAW_MAX_STEPS=200000000 cptlaw fit ...``; :func:`hint` says so in every error that quotes a limit."""

from __future__ import annotations

import math
import os
import warnings


def _limit(name: str, default: int) -> int:
    """CPTLAW_<name> as a whole number >= 1, else ``default``; a value that is not one is ignored with a warning
    (an import must not fail, nor exit, over the environment)."""
    text = os.environ.get(f"CPTLAW_{name}", "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        warnings.warn(f"the environment variable CPTLAW_{name}={text!r} is not a whole number >= 1; the default "
                      f"{default:,} applies", stacklevel=2)
        return default
    return int(value)


def hint(name: str) -> str:
    """How to raise the limit ``name`` (e.g. "MAX_STEPS"), for an error message."""
    return f"the limit CPTLAW_{name}; set that environment variable to raise it"


MAX_STEPS = _limit("MAX_STEPS", 50_000_000)  # steps of one run's dense LR (400 MB as float64); real runs: ~10^6
MAX_STARTS = _limit("MAX_STARTS", 100_000)  # multi-start points of one fit (each is screened: ~1 ms)
MAX_BOOTSTRAP = _limit("MAX_BOOTSTRAP", 10_000)  # bootstrap refits of one fit (each is a local solve: ~0.03-1 s)
MAX_CANDIDATES = _limit("MAX_CANDIDATES", 10_000_000)  # candidates of one plan space (and values of one range)
MAX_YAML_NODES = _limit("MAX_YAML_NODES", 1_000_000)
MAX_EVERY_SECONDS = 86400.0  # watch --every: a day at most (inf or 1e300 would overflow the sleep)  # YAML nodes after aliases are expanded (a real spec: < 10^3)
MAX_PARAMETER = 1e100  # |a fitted parameter|: laws' amplitudes reach ~1e6; 1e308 is an edit, and overflows
MAX_NESTING = 32  # depth of a schedule spec (a real one is 3-4 deep)
MAX_LR = 10.0  # a learning rate above this is a typo or an overflow (the planner's peak LR is bounded alike)
MAX_LOSS = 30.0  # nats: above ln(10^13); a larger "loss" is a perplexity or a typo
