"""Headless matplotlib (the Agg backend, imported only when a figure is drawn) and atomic figure files: what
the fit figure (:mod:`cptlaw.plots`), the planner's figures (:mod:`cptlaw.plan.figures`) and the HTML report
share."""

from __future__ import annotations

from pathlib import Path

from .errors import CptlawError
from .io import atomic_path

FORMATS = (".png", ".svg", ".pdf")


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, force: bool = False) -> Path:
    """Save atomically as PNG, SVG or PDF (by extension); refuse to overwrite unless ``force``."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise CptlawError(f"{path}: figure format must be one of {', '.join(FORMATS)}")
    try:
        with atomic_path(path, force) as tmp:
            fig.savefig(tmp, dpi=130, metadata={"Software": "cptlaw"} if path.suffix.lower() == ".png" else None)
    finally:
        pyplot().close(fig)
    return path
