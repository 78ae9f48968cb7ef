"""Doc regressions: the numbers in README.md, docs/*.md and BENCHMARKS.md are what the code computes now.

Everything in this folder is marked ``docs``: ``python -m pytest -m "not docs"`` is the fast developer loop, and
``python -m pytest`` (CI, the README's command) runs these too."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # a conftest hook sees every collected item, not only this folder's
    for item in items:
        if Path(item.path).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.docs)
