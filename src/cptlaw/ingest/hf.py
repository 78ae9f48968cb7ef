"""HF ``transformers.Trainer``: ``trainer_state.json`` (its ``log_history``), in a run or checkpoint folder.

The file is plain JSON (ecosystem.md §1.1), read with :mod:`json`; no library is needed.  Every checkpoint's
file holds the whole history up to it, so in a run folder the state with the highest ``global_step`` is
read (the top-level one written by ``save_state()``, or the latest ``checkpoint-N``).

Conventions: ``step`` is ``global_step``, the number of optimizer updates done, so evaluations at step s
see the model after update s and the scheduler's LR k is applied at update k + 1 (``step_base = 1``).  The
``learning_rate`` logged at step s is the LR applied at update s (``lr_shift = 0``): measured on a real
Trainer job with transformers 5.24 (the test fixture ``hf_run``, against the optimizer's LR recorded by
:mod:`cptlaw.ingest.hf_callback`).  Older versions may log the next step's LR; against a schedule spec the
check notices and says so.  The LR is logged every ``logging_steps`` only, so it is usually sparse and
the run's schedule is needed (``--schedule``).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import DataError, SpecError
from ..io import read_json
from ..schedules.hf import describe, hf_schedule, is_hf_config
from .log import Log, Points, Series

NAME = "trainer_state.json"
SKIP = {"step", "epoch"}


def _load(file: Path):
    return read_json(file, DataError)


def find(path: Path) -> tuple[Path, object]:
    """The trainer_state.json to read for a file or a run / checkpoint folder, and its content: the top-level
    state unless a ``checkpoint-N`` has more steps (N is its global_step, so no checkpoint is opened but the
    one read)."""
    if path.is_file():
        return path, _load(path)
    ckpts = {int(p.parent.name.split("-", 1)[1]): p for p in path.glob(f"checkpoint-*/{NAME}")
             if p.parent.name.split("-", 1)[1].isdigit()}
    top = path / NAME
    if top.is_file():
        state = _load(top)
        step = state.get("global_step") if isinstance(state, dict) else None
        if not ckpts or (isinstance(step, int) and step >= max(ckpts)):
            return top, state
    if not ckpts:
        raise DataError(f"{path}: no {NAME} here or in a checkpoint-* folder")
    file = ckpts[max(ckpts)]
    return file, _load(file)


def read(path: str | Path) -> list[Log]:
    path = Path(path)
    file, state = find(path)
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise DataError(f"{file}: no log_history list (is this a Trainer's {NAME}?)")
    data = Points()
    last = -1
    for i, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise DataError(f"{file}: log_history[{i}]: not an object")
        step = entry.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise DataError(f"{file}: log_history[{i}]: 'step' must be a non-negative integer, got {step!r}")
        if step < last:  # a resumed Trainer rewrites the whole history: one file never goes back
            raise DataError(f"{file}: log_history[{i}]: step {step} after step {last}: the steps of one "
                            f"trainer_state.json never go back (is it two runs' histories pasted together?)")
        last = step
        for key, value in entry.items():
            if key in SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            data.add(key, step, float(value) if math.isfinite(value) else math.inf)
    run_dir = file.parent.parent if file.parent.name.startswith("checkpoint-") else file.parent
    notes = []
    if file.parent != path and path.is_dir():
        notes.append(f"{path}: read {file.relative_to(path)} (the state with the most steps)")
    if "learning_rate" not in data:
        notes.append(f"{file}: log_history has no learning_rate (logging was off, or it logged only evaluations)")
    meta = {}
    tokens, gstep = state.get("num_input_tokens_seen"), state.get("global_step")
    if isinstance(tokens, (int, float)) and tokens > 0 and isinstance(gstep, int) and gstep > 0:
        meta["tokens_per_step"] = float(tokens) / gstep
        notes.append(f"{file}: tokens_per_step = num_input_tokens_seen / global_step = {meta['tokens_per_step']:g}")
    return [Log(run_dir.resolve().name, str(file), data.series(str(file)), step_base=1, meta=meta, notes=notes)]


META = ("model_size", "tokens_per_step", "replay_ratio")  # a tracker run's config/params read as the run's metadata


def tracked_log(name: str, where: str, scalars: dict[str, Series], config: dict, kind: str = "config",
                **fields) -> Log:
    """The log of a tracker's run (W&B: its config; MLflow: its params, as text) with what its config says:
    the metadata :data:`META`, and for an HF Trainer run (its ``TrainingArguments``) HF's step convention
    (``global_step``, ``step_base`` 1) and the LR schedule rebuilt from those arguments
    (:mod:`cptlaw.schedules.hf`; used where the LR is not logged at every step, with a note)."""
    # (W&B's API gives each entry as {"value": v, "desc": ...})
    config = {k: v["value"] if isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"} else v
              for k, v in config.items()}
    meta = {}
    for k in META:
        if k in config:
            try:
                meta[k] = float(config[k])
            except (TypeError, ValueError):
                raise DataError(f"{where}: {kind} {k} = {config[k]!r} is not a number") from None
    hf = is_hf_config(config)
    schedule, note = None, ""
    if hf:
        try:
            schedule = hf_schedule(config)
            note = (f"{where}: the LR schedule is rebuilt from the run's HF TrainingArguments ({describe(config)}); "
                    "the logged LR points are checked against it")
        except SpecError as exc:
            fields["notes"] = list(fields.get("notes", [])) + [
                f"{where}: the LR schedule cannot be rebuilt from the run's TrainingArguments: {exc}"]
    return Log(name, where, scalars, step_base=1 if hf else 0, meta=meta, schedule=schedule, schedule_note=note,
               **fields)
