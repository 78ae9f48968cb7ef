"""A W&B run on a server, through W&B's public API (``pip install "cptlaw[wandb]"``, and ``wandb login``).

The source is written ``wandb:ENTITY/PROJECT/RUN_ID``.  Rows come from ``Run.scan_history()``, which returns every
logged row; never from ``Run.history()``, which returns 500 sampled rows (W&B's maintainer in wandb#1783).  No
``keys`` are passed: with keys, ``scan_history`` returns only the rows that hold all of them, and the loss and
the LR are logged in different rows.  Rows are turned into points as the run-file reader does
(:class:`cptlaw.ingest.wandb.History`).  The API does not say which step metric a run declared, so a row's
``_step`` is the step unless the rows carry one of the usual step metrics (HF's ``train/global_step``,
Lightning's ``trainer/global_step``), which is then used for every tag, as those integrations declare it.

A run's local ``run-<id>.wandb`` file holds the same history and needs no network
(:mod:`cptlaw.ingest.wandb`).
"""

from __future__ import annotations

from ..errors import CptlawError, DataError
from .log import Log
from .wandb import History, make_log

PREFIX = "wandb:"
STEP_METRICS = ("train/global_step", "trainer/global_step")  # HF WandbCallback, Lightning WandbLogger
PAGE_SIZE = 10_000  # rows per request (scan_history's default is 1,000)


def _api():
    try:
        import wandb
    except ImportError:
        raise CptlawError('reading W&B runs needs wandb: pip install "cptlaw[wandb]"') from None
    return wandb.Api()


def read(ref: str, api=None) -> list[Log]:
    """The run ``ENTITY/PROJECT/RUN_ID`` (with or without the ``wandb:`` prefix).  ``api``: a ``wandb.Api``
    (or an object with its ``run(path)``); by default a new one."""
    path = ref[len(PREFIX):] if ref.startswith(PREFIX) else ref
    if path.count("/") != 2 or not all(path.split("/")):
        raise CptlawError(f"{ref}: a W&B run is named wandb:ENTITY/PROJECT/RUN_ID")
    try:
        run = (api or _api()).run(path)
        rows = list(run.scan_history(page_size=PAGE_SIZE))
        config = dict(run.config)
        name = run.name or run.id
    except CptlawError:
        raise
    except Exception as exc:  # wandb's UsageError, CommError, ValueError: not logged in, no such run, no network
        raise DataError(f"{ref}: cannot read the W&B run: {str(exc).splitlines()[0][:300]}") from None
    return [log_of(rows, config, name, ref)]


def log_of(rows: list[dict], config: dict, name: str, where: str) -> Log:
    """A :class:`Log` from ``scan_history`` rows (dicts with ``_step``) and the run's config."""
    history = History()
    step_metric = next((m for m in STEP_METRICS if any(m in r for r in rows)), None)
    if step_metric:
        history.define("", "*", step_metric)
    for i, row in enumerate(rows):
        if "_step" not in row:
            raise DataError(f"{where}: history row {i} has no _step")
        history.add(int(row["_step"]), {k: float(v) for k, v in row.items()
                                         if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return make_log(name, where, history.points, config)
