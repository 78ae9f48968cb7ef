"""An HF ``transformers`` LR schedule rebuilt from its ``TrainingArguments``, so that no spec is written by hand.

A W&B or MLflow run of the HF ``Trainer`` logs its ``TrainingArguments`` (``WandbCallback``: the run's config;
``MLflowCallback``: its params), ``trainer_state.json`` does not; ``training_args.bin`` is a pickle and is never
read.  The arguments used: ``lr_scheduler_type``, ``learning_rate``, ``max_steps``, ``warmup_steps`` (transformers
5: a value below 1 is a share of ``max_steps``) or ``warmup_ratio`` (transformers 4), ``lr_scheduler_kwargs``.

The schedules are the LambdaLR factors of ``transformers.optimization`` (transformers 5.25), of the scheduler
step s (0 at the first update, as cptlaw's specs are indexed), with w warmup steps and T = ``max_steps``:

==========================  ======================================================================
``constant``                1
``constant_with_warmup``    s / w, then 1
``linear``                  s / w, then (T - s) / (T - w), down to 0 at T
``cosine``                  s / w, then 0.5 (1 + cos(pi (s - w) / (T - w))) (``num_cycles`` 0.5 only)
``cosine_with_min_lr``      the same from 1 down to ``min_lr`` / lr (``min_lr`` or ``min_lr_rate``)
``warmup_stable_decay``     from ``min_lr_ratio`` up over w, 1 for ``num_stable_steps``, then a linear,
                            cosine or 1-sqrt decay over ``num_decay_steps`` to ``min_lr_ratio``
==========================  ======================================================================

w = ``warmup_steps`` when it is 1 or more, else ceil(T * ``warmup_steps``) (transformers 5) or ceil(T *
``warmup_ratio``) (transformers 4).  Any other scheduler, a cosine with restarts or a polynomial of another power,
a warmup other than linear, or ``max_steps`` = -1 (a length in epochs, which the arguments cannot turn into
steps) is a :class:`~cptlaw.errors.SpecError` asking for a spec.
"""

from __future__ import annotations

import ast
import math
from typing import Any

from ..errors import SpecError
from ..limits import MAX_STEPS, hint
from .shapes import WSD, Constant, Cosine, Linear, Schedule, Warmup

SCHEDULERS = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_min_lr", "warmup_stable_decay")
# a run config (W&B) or params (MLflow) holding these is an HF Trainer's TrainingArguments (WandbCallback and
# MLflowCallback log them all); its steps are then global_step (cptlaw.ingest.hf)
HF_KEYS = ("lr_scheduler_type", "learning_rate", "per_device_train_batch_size")


def _number(args: dict, key: str, default: Any = None) -> float:
    value = args.get(key, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"TrainingArguments {key} = {value!r} is not a number") from None
    if not math.isfinite(value):
        raise SpecError(f"TrainingArguments {key} = {value!r} is not finite")
    return value


def _kwargs(args: dict) -> dict:
    kw = args.get("lr_scheduler_kwargs") or {}
    if isinstance(kw, str):  # MLflow logs every param as text: a Python literal (never evaluated as code)
        try:
            kw = ast.literal_eval(kw) if kw.strip() else {}
        except (ValueError, SyntaxError, RecursionError, MemoryError):
            raise SpecError(f"TrainingArguments lr_scheduler_kwargs = {kw!r} is not a mapping") from None
        kw = {} if kw is None else kw
    if not isinstance(kw, dict):
        raise SpecError(f"TrainingArguments lr_scheduler_kwargs = {kw!r} is not a mapping")
    return kw


def warmup_steps(args: dict, total: int) -> int:
    ws = _number(args, "warmup_steps", 0)
    ratio = _number(args, "warmup_ratio", 0)
    if ws < 0 or not 0 <= ratio <= 1:
        raise SpecError(f"TrainingArguments warmup_steps = {ws:g} and warmup_ratio = {ratio:g}: give steps >= 0 "
                        "and a ratio in [0, 1]")
    if ws >= 1:
        return int(ws)
    if ws > 0:
        return math.ceil(total * ws)
    return math.ceil(total * ratio) if ratio > 0 else 0


def hf_schedule(args: dict) -> Schedule:
    """The schedule of an HF Trainer run from its TrainingArguments (a mapping; values may be text, as MLflow
    logs them).  See the module docstring for what is supported; anything else is a SpecError."""
    try:
        return _hf_schedule(args)
    except SpecError:
        raise
    except (TypeError, ValueError) as exc:  # a value of the wrong type inside lr_scheduler_kwargs
        raise SpecError(f"TrainingArguments: {exc}") from None


def _hf_schedule(args: dict) -> Schedule:
    kind = str(args.get("lr_scheduler_type", "")).removeprefix("SchedulerType.").lower()
    if kind not in SCHEDULERS:
        raise SpecError(f"TrainingArguments lr_scheduler_type = {kind!r}: cptlaw builds {', '.join(SCHEDULERS)}; "
                        "give the schedule as a spec (--schedule)")
    lr = _number(args, "learning_rate")
    total = int(_number(args, "max_steps", -1))
    if total < 1:
        raise SpecError("TrainingArguments max_steps is not set (the run's length is in epochs); give the schedule "
                        "as a spec (--schedule), or its max_steps")
    if total > MAX_STEPS:
        raise SpecError(f"TrainingArguments max_steps = {total:,}: more than {MAX_STEPS:,} steps ({hint('MAX_STEPS')})")
    w = min(warmup_steps(args, total), total)
    kw = _kwargs(args)
    if kind == "constant":
        return Constant(lr)
    if kind == "constant_with_warmup":
        return Warmup(Constant(lr), w) if w else Constant(lr)
    if kind == "warmup_stable_decay":
        return _wsd(lr, total, w, kw)
    if kind == "linear":
        body: Schedule = Linear(lr, 0.0, total - w)
    else:
        if float(kw.get("num_cycles", 0.5)) != 0.5:
            raise SpecError(f"TrainingArguments lr_scheduler_kwargs num_cycles = {kw['num_cycles']}: cptlaw builds "
                            "the half cosine (0.5) only; give the schedule as a spec (--schedule)")
        floor = 0.0
        if kind == "cosine_with_min_lr":
            if kw.get("min_lr") is not None:
                floor = float(kw["min_lr"])
            elif kw.get("min_lr_rate") is not None:
                floor = float(kw["min_lr_rate"]) * lr
            else:
                raise SpecError("TrainingArguments cosine_with_min_lr needs min_lr or min_lr_rate in "
                                "lr_scheduler_kwargs")
        body = Cosine(lr, total - w, floor)
    return Warmup(body, w) if w else body


def _wsd(lr: float, total: int, w: int, kw: dict) -> Schedule:
    if kw.get("warmup_type", "linear") != "linear":
        raise SpecError(f"TrainingArguments warmup_type = {kw['warmup_type']!r}: cptlaw builds a linear warmup only; "
                        "give the schedule as a spec (--schedule)")
    if "num_decay_steps" not in kw:
        raise SpecError("TrainingArguments warmup_stable_decay needs num_decay_steps in lr_scheduler_kwargs")
    decay = int(kw["num_decay_steps"])
    stable = kw.get("num_stable_steps")
    stable = total - w - decay if stable is None else int(stable)
    ratio = float(kw.get("min_lr_ratio", 0.0))
    shape = kw.get("decay_type", "cosine")
    if shape not in ("linear", "cosine", "1-sqrt"):
        raise SpecError(f"TrainingArguments decay_type = {shape!r}: one of linear, cosine, 1-sqrt")
    if float(kw.get("num_cycles", 0.5)) != 0.5:
        raise SpecError("TrainingArguments num_cycles: cptlaw builds the half cosine (0.5) only")
    if stable < 0 or decay < 0:
        raise SpecError(f"TrainingArguments warmup_stable_decay: warmup {w} + decay {decay} steps exceed max_steps "
                        f"{total}")
    body = WSD(lr, stable + decay, decay, ratio * lr, shape)
    return Warmup(body, w, init=ratio * lr) if w else body


def is_hf_config(config: dict) -> bool:
    """Whether a run's config (or params) holds an HF Trainer's TrainingArguments."""
    return all(k in config for k in HF_KEYS)


def describe(config: dict) -> str:
    """The scheduler arguments of a TrainingArguments mapping, for a note."""
    keys = ("lr_scheduler_type", "learning_rate", "warmup_steps", "warmup_ratio", "max_steps", "lr_scheduler_kwargs")
    return ", ".join(f"{k}={config[k]}" for k in keys if config.get(k) not in (None, "", 0, 0.0, "None", {}))

