"""A PyTorch Lightning ``Callback`` that writes cptlaw's native format as the Trainer runs.

    from cptlaw.ingest.lightning_callback import CptlawLightningCallback
    trainer = lightning.Trainer(..., callbacks=[CptlawLightningCallback("runs.csv", run="cpt_cosine",
                                                                        model_size=1.6e6)])

It records the LR of every optimizer step, read from the first optimizer in ``on_train_batch_start`` (before the
update, so it is the LR *applied* at update ``global_step + 1``; with gradient accumulation the micro-batches of
one update read the same value), and every validation loss that the module logs (``self.log("val/<set>_loss",
...)``, ``val_loss``, ...; the names of :mod:`cptlaw.ingest.tags`) from ``trainer.callback_metrics`` in
``on_validation_end``, at ``global_step``.  The sanity-check validation is skipped.  The file is rewritten
atomically after each validation and at the end of training, by rank 0 only.
"""

from __future__ import annotations

from lightning.pytorch import Callback

from .recorder import Recorder
from .tags import default_column


class CptlawLightningCallback(Callback):
    def __init__(self, path, run: str, **meta):
        self.recorder = Recorder(path, run, **meta)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.is_global_zero and trainer.optimizers:
            self.recorder.log_lr(trainer.global_step + 1, trainer.optimizers[0].param_groups[0]["lr"])

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        for key, value in trainer.callback_metrics.items():
            col = default_column(key)
            if col and col.startswith("loss:"):
                self.recorder.log_loss(trainer.global_step, col[5:], float(value))
        self.recorder.write()

    def on_train_end(self, trainer, pl_module):
        if trainer.is_global_zero:
            self.recorder.write()
