"""``python -m benchmarks NAME [args]`` runs benchmark NAME (its ``--help`` says what it does and takes);
``python -m benchmarks --list`` lists the benchmarks with the first line of each one's docstring."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

import benchmarks

NOT_BENCHMARKS = {"harness"}  # shared modules; private ones start with "_"


def names() -> list[str]:
    """Every benchmark module of the package, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                  if not m.name.startswith("_") and m.name not in NOT_BENCHMARKS)


def summary(name: str) -> str:
    """The first line of a benchmark's docstring, read without importing it (some need torch or a GPU)."""
    path = Path(importlib.util.find_spec(f"benchmarks.{name}").origin)
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "--list":
        for name in names():
            print(f"{name:<18s} {summary(name)}")
        return 0
    if argv[0] not in names():
        print(f"unknown benchmark {argv[0]!r}; available: {', '.join(names())}", file=sys.stderr)
        return 2
    importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
