"""The ``cptlaw`` command line: a thin layer over the Python API, one module per command group.

``args`` (the parser), ``main`` (dispatch, exit codes), ``common`` (reading data, writing outputs), and the
handlers: ``fitting`` (fit), ``applying`` (predict, evaluate, plot), ``planning`` (plan, dcpt-plan), ``logs``
(ingest, watch), ``reporting`` (report), ``demo`` and ``pilot``.
"""

from .main import main

__all__ = ["main"]
