"""cptlaw: scaling laws of continual pre-training (CPT) -- fit pilot loss curves, predict, plan.

Data flows one way: read logs -> curves (``cptlaw.data``) -> fit a law (``cptlaw.laws``, ``cptlaw.fit``)
-> predict / evaluate (``cptlaw.predict``, ``cptlaw.evaluate``) -> plot (``cptlaw.plots``).  The CLI
(``cptlaw.cli``) is a thin layer over this API.
"""

__version__ = "0.1.0"

from .data import Run, RunSet, read_runs, write_runs  # noqa: E402
from .evaluate import evaluate  # noqa: E402
from .fit import FitResult  # noqa: E402
from .laws import AnnealingLaw, CPTLaw, DCPTLaw, MultiPowerLaw  # noqa: E402

__all__ = ["__version__", "Run", "RunSet", "read_runs", "write_runs", "evaluate", "FitResult", "AnnealingLaw",
           "CPTLaw", "DCPTLaw", "MultiPowerLaw"]
