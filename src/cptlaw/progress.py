"""Progress bars for long work (multi-start fits, bootstraps, big plan spaces, pilot sweeps), drawn by tqdm on
standard error when it is a terminal; nothing at all when it is not (a pipe, a file, CI), with ``--quiet``, or
with ``CPTLAW_QUIET=1``.  The bars never touch standard output, which carries results."""

from __future__ import annotations

import os
import sys

QUIET = False  # set by the CLI's --quiet


def enabled() -> bool:
    return (not QUIET and os.environ.get("CPTLAW_QUIET", "").lower() not in ("1", "true", "yes")
            and sys.stderr.isatty())


def bar(iterable=None, total: int | None = None, desc: str = "", unit: str = "it", min_total: int = 2):
    """``tqdm(iterable)`` on a terminal for at least ``min_total`` items, else the iterable itself (no bar)."""
    n = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
    if not enabled() or (n is not None and n < min_total):
        return iterable if iterable is not None else range(total or 0)
    from tqdm import tqdm

    return tqdm(iterable, total=n, desc=desc, unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.2)
