"""cptlaw: scaling laws of continual pre-training (CPT) -- fit pilot loss curves, predict, plan.

Data flows one way: read logs (``cptlaw.ingest``) -> curves (``cptlaw.data``) -> fit a law (``cptlaw.laws`` on
``cptlaw.fit``; its form chosen by cross-validation: ``cptlaw.select``) -> predict / evaluate / plan
(``cptlaw.predict``, ``cptlaw.evaluate``, ``cptlaw.plan``; which pilots to train: ``cptlaw.pilots``) -> plot
/ report (``cptlaw.plots``, ``cptlaw.report``).  The command line (``cptlaw.cli``) is a thin layer over this API.

The names below are imported on first use (PEP 562), so ``import cptlaw.cli`` (and ``cptlaw --help``) does not
load numpy and scipy.
"""

from importlib import import_module

from ._version import __version__

_API = {"Run": "data", "RunSet": "data", "read_runs": "data", "write_runs": "data", "evaluate": "evaluate",
        "FitResult": "fit", "AnnealingLaw": "laws", "CPTLaw": "laws", "DCPTLaw": "laws", "MultiPowerLaw": "laws",
        "load": "laws", "predict_runs": "predict"}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'cptlaw' has no attribute {name!r}")
