"""A ``transformers.TrainerCallback`` that writes cptlaw's native format as the Trainer runs.

    from cptlaw.ingest.hf_callback import CptlawCallback
    trainer = Trainer(..., callbacks=[CptlawCallback("runs.csv", run="cpt_cosine", model_size=1.6e6)])

It records the LR of every optimizer step, read from the optimizer in ``on_step_begin`` (before the update,
so it is the LR *applied* at update ``global_step + 1``; the Trainer's own ``learning_rate`` log is the next
step's), and every evaluation set's loss from ``on_evaluate`` (``eval_loss`` as ``loss:eval``,
``eval_<set>_loss`` as ``loss:<set>``) at ``global_step``.  The file is rewritten atomically after each
evaluation and at the end of training.
"""

from __future__ import annotations

from transformers import TrainerCallback

from .recorder import Recorder
from .tags import default_column


class CptlawCallback(TrainerCallback):
    def __init__(self, path, run: str, **meta):
        self.recorder = Recorder(path, run, **meta)

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        if optimizer is not None and state.is_world_process_zero:
            self.recorder.log_lr(state.global_step + 1, optimizer.param_groups[0]["lr"])

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not state.is_world_process_zero:
            return
        for key, value in (metrics or {}).items():
            col = default_column(key)
            if col and col.startswith("loss:"):
                self.recorder.log_loss(state.global_step, col[5:], value)
        self.recorder.write()

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.recorder.write()
