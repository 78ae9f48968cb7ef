"""Write cptlaw's native format from inside a training loop: the core of the logging callbacks.

A :class:`Recorder` takes the LR *applied* at each optimizer step and each evaluation set's loss, and
rewrites the native CSV atomically whenever asked (after each evaluation, and at the end), so that a crash
loses nothing that was written, and a reader never sees half a file.  The framework adapters are
:mod:`cptlaw.ingest.hf_callback` (``transformers.TrainerCallback``) and
:mod:`cptlaw.ingest.lightning_callback` (``lightning.pytorch.Callback``); they only decide *when* to call it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import Run, RunSet, write_runs


class Recorder:
    """Per-step LR and per-evaluation losses of one run -> a native CSV.

    ``transfer_step``: the first CPT step (a CPT run that logs its PT prefix too), or None.  ``model_size``
    (non-embedding parameters), ``tokens_per_step`` and ``replay_ratio`` go into the file as metadata."""

    def __init__(self, path: str | Path, run: str, *, transfer_step: int | None = None,
                 model_size: float | None = None, tokens_per_step: float | None = None,
                 replay_ratio: float | None = None):
        self.path = Path(path)
        self.run = run
        self.transfer_step = transfer_step
        self.meta = {"model_size": model_size, "tokens_per_step": tokens_per_step, "replay_ratio": replay_ratio}
        self.lr: dict[int, float] = {}
        self.losses: dict[str, dict[int, float]] = {}

    def log_lr(self, step: int, lr: float) -> None:
        self.lr[int(step)] = float(lr)  # a step seen again (a resume) is rewritten: the later value wins

    def log_loss(self, step: int, name: str, loss: float) -> None:
        self.losses.setdefault(name, {})[int(step)] = float(loss)

    def to_run(self) -> Run | None:
        if not self.lr:
            return None
        steps = np.array(sorted(self.lr), dtype=np.int64)
        if steps.size != steps[-1] - steps[0] + 1:  # a step without LR (should not happen): stop before it
            steps = steps[: int(np.argmax(np.diff(steps) != 1)) + 1]
        losses = {}
        for name, points in self.losses.items():
            s = np.array(sorted(p for p in points if steps[0] <= p <= steps[-1]), dtype=np.int64)
            if s.size:
                losses[f"loss:{name}"] = (s - steps[0], np.array([points[int(p)] for p in s]))
        t = self.transfer_step
        transfer = int(t - steps[0]) if t is not None and steps[0] < t <= steps[-1] else None
        return Run(self.run, steps, np.array([self.lr[int(s)] for s in steps]), transfer=transfer, losses=losses,
                   **self.meta)

    def write(self) -> Path | None:
        run = self.to_run()
        if run is None:
            return None
        return write_runs(RunSet([run]), self.path, force=True)  # our own file, rewritten as the run goes
