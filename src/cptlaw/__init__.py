"""cptlaw: scaling laws of continual pre-training (CPT) -- fit pilot loss curves, predict, plan.

Data flows one way: read logs -> curves (``cptlaw.data``) -> fit a law (``cptlaw.laws``, ``cptlaw.fit``)
-> predict / evaluate (``cptlaw.predict``, ``cptlaw.evaluate``) -> plot (``cptlaw.plots``).  The CLI
(``cptlaw.cli``) is a thin layer over this API.
"""

from ._version import __version__
from .data import Run, RunSet, read_runs, write_runs
from .evaluate import evaluate
from .fit import FitResult
from .laws import AnnealingLaw, CPTLaw, DCPTLaw, MultiPowerLaw, load
from .predict import predict_runs

__all__ = ["__version__", "Run", "RunSet", "read_runs", "write_runs", "evaluate", "FitResult", "AnnealingLaw",
           "CPTLaw", "DCPTLaw", "MultiPowerLaw", "load", "predict_runs"]
