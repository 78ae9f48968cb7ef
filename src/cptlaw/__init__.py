"""cptlaw: scaling laws of continual pre-training (CPT) -- fit pilot loss curves, predict, plan.

Data flows one way: read logs -> curves (``cptlaw.data``) -> fit a law (``cptlaw.laws``, ``cptlaw.fit``)
-> predict / evaluate (``cptlaw.evaluate``) -> plot (``cptlaw.plots``).  The CLI (``cptlaw.cli``) is a
thin layer over this API.
"""

__version__ = "0.1.0"
