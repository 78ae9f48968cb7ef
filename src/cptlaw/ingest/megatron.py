"""Megatron-LM / NeMo / Megatron-DeepSpeed text logs (stdout), parsed with :mod:`re` (no library exists).

Lines read (ecosystem.md §1.4; Megatron-LM ``megatron/training/training.py``)::

     [2025-08-01 07:19:37] iteration        1/    5000 | consumed samples: 128 | ... | learning rate: 6.976744E-08 | ... | lm loss: 1.043863E+01 | ...
     validation loss at iteration 168000 | lm loss value: 2.342049E+00 | lm loss PPL: 1.040253E+01 |
     validation loss at iteration 2000 on validation set | lm loss value: ... |
     validation-<set> loss at iteration 2000 | lm loss value: ... |

Tolerated: no timestamp, torchrun's ``[default0]:`` prefixes, ANSI colour codes, any other ``key: value``
fields.  ``test set`` lines are skipped.  Keys become tags as written (``learning rate``, ``lm loss``);
validation losses become ``lm loss validation`` / ``lm loss validation-<set>``.

Conventions: ``iteration`` i is logged after update i (``step_base = 1``), with the LR read from the
optimizer after the scheduler stepped, i.e. the LR of update i + 1 (``lr_shift = 1``).  This is our reading
of ``train()``, which reads ``param_group['lr']`` after ``train_step`` returns; it is not checked against a
real Megatron run.  Against a schedule spec the check accepts one step either way and says which matched.  The LR is logged every ``--log-interval`` iterations,
so a schedule spec is usually needed.  The training ``lm loss`` is a mean over the log interval.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataError
from .log import Log, Points

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ITERATION = re.compile(r"\biter(?:ation)?\s+(\d+)\s*/\s*(\d+)\s*\|(.*)$")
VALIDATION = re.compile(r"\b(validation(?:-(?P<set>[^\s|]+))?) loss at iteration\s+(?P<it>\d+)"
                        r"(?P<on>\s+on [^|]*?)?\s*\|(?P<rest>.*)$")
FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _\-/().]*?)\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)\s*$")


def looks_like(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    return bool(re.search(r"iteration\s+\d+\s*/\s*\d+\s*\|", head) or re.search(r"loss at iteration\s+\d+", head))


def _fields(text: str) -> dict[str, float]:
    out = {}
    for part in text.split("|"):
        m = FIELD.match(part)
        if m:
            out[m.group(1).strip()] = float(m.group(2))
    return out


def read(path: str | Path) -> list[Log]:
    path = Path(path)
    data = Points()
    found = False
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    for lineno, raw in enumerate(lines, start=1):
        line = ANSI.sub("", raw)
        m = VALIDATION.search(line)
        if m:
            found = True
            if m.group("on") and "test" in m.group("on"):
                continue
            fields = _fields(m.group("rest"))
            value = fields.get("lm loss value")
            if value is None:
                raise DataError(f"{path}:{lineno}: a validation line without 'lm loss value'")
            tag = "lm loss validation" + (f"-{m.group('set')}" if m.group("set") else "")
            data.add(tag, int(m.group("it")), value)
            continue
        m = ITERATION.search(line)
        if m:
            found = True
            it = int(m.group(1))
            for key, value in _fields(m.group(3)).items():
                data.add(key, it, value)
    if not found:
        raise DataError(f"{path}: no Megatron 'iteration N/ M |' or 'validation loss at iteration' lines")
    return [Log(path.stem, str(path), data.series(str(path)), lr_shift=1, step_base=1)]
