"""MLflow: a local tracking store, read with MLflow's own client (``pip install "cptlaw[mlflow]"``).

A file store (an ``mlruns/`` folder, or one experiment folder inside it) or an SQLite store (``*.db``; that
needs the full ``mlflow`` package).  Every run of the store is a log, named by its run name (or its id when it
has none).  Each metric is read with ``MlflowClient.get_metric_history``, which returns every logged point:
MLflow does not sample.  Points are kept in logging order (by timestamp), so that when a resumed job logs a step
again, the later write wins (:func:`~cptlaw.ingest.log.supersede`).

Conventions: MLflow stores the ``step`` each caller passed.  For HF ``transformers`` runs (MLflowCallback, which
logs the ``TrainingArguments`` as params) the step is ``global_step``, as in ``trainer_state.json``
(``step_base = 1``, see :mod:`cptlaw.ingest.hf`); otherwise the step is taken as the update index
(``step_base = 0``), which a ``--lr-shift`` or a schedule check corrects.  Params named ``model_size``,
``tokens_per_step`` or ``replay_ratio`` become the run's metadata.

MLflow 3 keeps the file store in maintenance mode and refuses to open one unless ``MLFLOW_ALLOW_FILE_STORE`` is
set; cptlaw sets it for its own (read-only) use of the client, so that existing ``mlruns/`` folders stay readable.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import CptlawError, DataError
from .log import Log, Series

META = ("model_size", "tokens_per_step", "replay_ratio")
HF_PARAMS = {"lr_scheduler_type", "per_device_train_batch_size"}  # TrainingArguments, logged by MLflowCallback


def _client(uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise CptlawError('reading MLflow stores needs mlflow: pip install "cptlaw[mlflow]"') from None
    if uri.startswith("sqlite:") and importlib.util.find_spec("sqlalchemy") is None:
        raise CptlawError("reading an SQLite MLflow store needs the full mlflow package (pip install mlflow); "
                          "mlflow-skinny, cptlaw's extra, reads file stores (mlruns/ folders)")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def store(path: Path) -> str:
    """The tracking URI of a store folder (``mlruns/``, or a folder holding one) or an SQLite ``.db`` file."""
    if path.is_file():
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise DataError(f"{path}: not an MLflow store: a file must be an SQLite database (mlflow.db); "
                                f"a file store is a folder (mlruns/)")
        return f"sqlite:///{path.resolve()}"
    if (path / "mlruns").is_dir():
        path = path / "mlruns"
    metas = [p / "meta.yaml" for p in path.iterdir() if (p / "meta.yaml").is_file()]
    # a store's children are experiments; an experiment's children are runs (their meta.yaml has a run_id)
    if metas and not (path / "meta.yaml").is_file() and not any("run_id:" in m.read_text() for m in metas):
        return path.resolve().as_uri()
    if (path / "meta.yaml").is_file():
        raise DataError(f"{path}: one MLflow experiment or run folder; give the mlruns/ folder that holds it")
    raise DataError(f"{path}: not an MLflow file store (no experiment folders with a meta.yaml)")


def read(path: str | Path) -> list[Log]:
    path = Path(path)
    uri = store(path)
    try:
        client = _client(uri)
        found = [(exp.name, _log(client, run, path)) for exp in client.search_experiments()
                 for run in client.search_runs([exp.experiment_id])]
    except CptlawError:
        raise
    except Exception as exc:  # MlflowException, yaml and OS errors from a damaged store
        raise DataError(f"{path}: cannot read the MLflow store: {str(exc).splitlines()[0][:300]}") from None
    names = [log.name for _, log in found]
    for experiment, log in found:  # two runs of one name in different experiments: qualify them
        if names.count(log.name) > 1:
            log.name = f"{experiment}/{log.name}"
    return [log for _, log in found]


def _log(client, run, path: Path) -> Log:
    info, data = run.info, run.data
    name = info.run_name or info.run_id
    where = f"{path}: run {name} ({info.run_id})"
    scalars = {}
    for key in data.metrics:
        hist = sorted(client.get_metric_history(info.run_id, key), key=lambda m: m.timestamp)
        scalars[key] = Series([m.step for m in hist], [m.value for m in hist], f"{where}: metric {key}")
    meta = {}
    for k in META:
        if k in data.params:
            try:
                meta[k] = float(data.params[k])
            except ValueError:
                raise DataError(f"{where}: param {k} = {data.params[k]!r} is not a number") from None
    base = 1 if HF_PARAMS <= set(data.params) else 0
    return Log(name, where, scalars, step_base=base, meta=meta)
