"""The harness every benchmark shares: the machine a result came from, a timer, and the docs-page writer.

A benchmark module has a docstring (what it measures; its first line is what ``python -m benchmarks --list``
shows) and a ``main(argv)``.  One that makes a ``docs/*.md`` page takes ``--out`` from ``page_parser``, names the
command that regenerates it with ``command``, and writes it with ``write_page``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy

from cptlaw.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"  # data too large to bundle (../shared); benchmarks skip it when absent


def describe() -> str:
    """The CPU, cores, memory and library versions, printed with every result."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}")


def command(name: str, *args: str) -> str:
    """The command line that reruns benchmark ``name`` with ``args``, as its output quotes it."""
    return " ".join(("python -m benchmarks", name) + args)


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser for benchmark ``name`` whose help is the module docstring."""
    return argparse.ArgumentParser(prog=f"python -m benchmarks {name}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def page_parser(name: str, doc: str | None, page: str) -> argparse.ArgumentParser:
    """``parser`` with ``--out``, the docs page the benchmark writes (default ``docs/<page>``)."""
    ap = parser(name, doc)
    ap.add_argument("--out", default=str(DOCS / page), help=f"the page to write (default docs/{page})")
    return ap


def timed(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the wall-clock seconds it took."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def write_page(out: str | Path, text: str, echo: bool = True) -> None:
    """Write a docs page atomically (a reader never sees half a page; an interrupted run leaves the old one),
    and print it unless ``echo`` is false (a benchmark that printed its rows as they came)."""
    atomic_write_text(out, text, force=True)
    if echo:
        print(text)
