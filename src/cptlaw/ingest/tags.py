"""Which logged tags are the LR and which are validation losses, as the common trainers name them.

Sources (ecosystem.md §1): HF Trainer ``log_history`` keys (``learning_rate``, ``eval_loss``,
``eval_<set>_loss``) and their TensorBoard/W&B form after ``rewrite_logs`` (``train/learning_rate``,
``eval/loss``, ``eval/<set>_loss``); Megatron-LM (``learning-rate``, ``lm loss validation``,
``lm loss validation-<set>``); nanoGPT (``lr``, ``val/loss``); OLMo / OLMo-core
(``optim/learning_rate_group0``, ``optim/LR (group 0)``, ``eval/<set>/CrossEntropyLoss``, ``eval/<set>/CE loss``);
torchtitan (``lr/<optimizer>``, ``validation_metrics/loss``); litgpt (``learning_rate``, ``val_loss``); and
cptlaw's own callbacks (``lr``, ``loss:<set>``).

Training losses are never read by default: HF and Megatron log a mean over the logging window (HF rounds it
to 1e-4), not the loss at the step.  Map one explicitly (``--map loss:train=loss``) if it is all there is.
"""

from __future__ import annotations

import re

# LR tags, best first (a log with several, e.g. one per parameter group, uses the first that is present)
LR_TAGS = ("lr", "learning_rate", "train/learning_rate", "train/lr", "learning-rate", "learning rate",
           "optim/learning_rate_group0", "optim/LR (group 0)", "trainer/lr")
_LR_PATTERNS = (re.compile(r"^lr/[^/]+$"), re.compile(r"^lr-[A-Za-z]+$"))  # torchtitan; Lightning LearningRateMonitor

_LOSS_PATTERNS = (
    (re.compile(r"^loss:(?P<set>.+)$"), None),                                 # cptlaw native / callbacks
    (re.compile(r"^eval_loss$"), "eval"),                                       # HF log_history
    (re.compile(r"^eval_(?P<set>.+)_loss$"), None),
    (re.compile(r"^eval/loss$"), "eval"),                                       # HF via TensorBoard / W&B
    (re.compile(r"^eval/(?P<set>[^/]+)_loss$"), None),
    (re.compile(r"^eval/(?P<set>[^/]+)/(CrossEntropyLoss|CE loss)$"), None),    # OLMo, OLMo-core
    (re.compile(r"^lm loss validation$"), "validation"),                       # Megatron-LM
    (re.compile(r"^lm loss validation-(?P<set>.+)$"), None),
    (re.compile(r"^(val/loss|val_loss|validation_metrics/loss|val loss)$"), "val"),  # nanoGPT, litgpt, torchtitan
    (re.compile(r"^val/(?P<set>[^/]+)_loss$"), None),                           # Lightning self.log, per set
    (re.compile(r"^val_(?P<set>.+)_loss$"), None),
)


def lr_rank(tag: str) -> int:
    """Priority of an LR tag (lower is better); large for anything else."""
    if tag in LR_TAGS:
        return LR_TAGS.index(tag)
    if any(p.match(tag) for p in _LR_PATTERNS):
        return len(LR_TAGS)
    return 10_000


def default_column(tag: str) -> str | None:
    """The cptlaw column a known tag reads as: 'lr', 'loss:<set>', or None (not read)."""
    if lr_rank(tag) < 10_000:
        return "lr"
    for pattern, name in _LOSS_PATTERNS:
        m = pattern.match(tag)
        if m:
            return f"loss:{name or m.group('set')}"
    return None
