"""MLflow: a local tracking store, an SQLite database (``mlflow.db``, MLflow 3's default) or a file store.

* **SQLite** (``*.db``, or a folder holding ``mlflow.db``) is read with Python's :mod:`sqlite3`, opened
  read-only (``mode=ro``): no ``mlflow`` install is needed, nothing is written to the store (MLflow's client
  would create its tables in any SQLite file it is pointed at, and migrate an older schema in place), and a
  store written by any MLflow version reads as long as its ``experiments``, ``runs``, ``metrics`` and ``params``
  tables keep the columns they have had since MLflow 1 (a store that lacks them gets a clear message naming
  its schema revision).  Active runs of active experiments are read, as MLflow's default view shows them.
* **File stores** (an ``mlruns/`` folder) are read with MLflow's own client (``pip install "cptlaw[mlflow]"``).
  MLflow 3 keeps them in maintenance mode and refuses to open one unless ``MLFLOW_ALLOW_FILE_STORE`` is set;
  cptlaw sets it, and ``MLFLOW_DISABLE_TELEMETRY``, for its own read-only use of the client (MLflow otherwise
  writes a telemetry file under ``$HOME`` on every read).

Every run of the store is a log, named by its run name (or its id when it has none); every logged point is read
(MLflow does not sample).  Points are kept in logging order (by timestamp), so that when a resumed job logs a
step again, the later write wins (:func:`~cptlaw.ingest.log.supersede`).

Conventions: MLflow stores the ``step`` each caller passed.  For HF ``transformers`` runs (MLflowCallback, which
logs the ``TrainingArguments`` as params) the step is ``global_step``, as in ``trainer_state.json``
(``step_base = 1``, see :mod:`cptlaw.ingest.hf`); otherwise the step is taken as the update index
(``step_base = 0``), which a ``--lr-shift`` or a schedule check corrects.  Params named ``model_size``,
``tokens_per_step`` or ``replay_ratio`` become the run's metadata.
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from ..errors import CptlawError, DataError
from .hf import tracked_log
from .log import Log, Series



def _client(uri: str):
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # (read before mlflow is imported)
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise CptlawError('reading an MLflow file store (mlruns/) needs mlflow: pip install "cptlaw[mlflow]" '
                          "(an SQLite store, mlflow.db, needs nothing)") from None
    return MlflowClient(tracking_uri=uri)


def store(path: Path) -> str:
    """The tracking URI of a store folder (``mlruns/``, or a folder holding one) or an SQLite ``.db`` file."""
    if path.is_file():
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise DataError(f"{path}: not an MLflow store: a file must be an SQLite database (mlflow.db); "
                                f"a file store is a folder (mlruns/)")
        return f"sqlite:///{path.resolve()}"
    if (path / "mlflow.db").is_file() and not (path / "mlruns").is_dir():
        return store(path / "mlflow.db")
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
    if uri.startswith("sqlite:///"):
        return _qualified(_read_sqlite(Path(uri.removeprefix("sqlite:///")), path))
    try:
        client = _client(uri)
        found = [(exp.name, _log(client, run, path)) for exp in client.search_experiments()
                 for run in client.search_runs([exp.experiment_id])]
    except CptlawError:
        raise
    except Exception as exc:  # MlflowException, yaml and OS errors from a damaged store
        raise DataError(f"{path}: cannot read the MLflow store: {str(exc).splitlines()[0][:300]}") from None
    return _qualified(found)


def _qualified(found: list[tuple[str, Log]]) -> list[Log]:
    names = [log.name for _, log in found]
    for experiment, log in found:  # two runs of one name in different experiments: qualify them
        if names.count(log.name) > 1:
            log.name = f"{experiment}/{log.name}"
    return [log for _, log in found]


def _log(client, run, path: Path) -> Log:
    info, data = run.info, run.data
    name = info.run_name or info.run_id
    where = f"{path}: run {name} ({info.run_id})"
    history = {}
    for key in data.metrics:
        hist = sorted(client.get_metric_history(info.run_id, key), key=lambda m: m.timestamp)
        history[key] = ([m.step for m in hist], [m.value for m in hist])
    return _make_log(name, where, history, data.params)


def _make_log(name: str, where: str, history: dict, params: dict) -> Log:
    """A log from each metric's (steps, values) in logging order and the run's params."""
    scalars = {key: Series(steps, values, f"{where}: metric {key}") for key, (steps, values) in history.items()}
    return tracked_log(name, where, scalars, params, kind="param")


SQL_TABLES = ("experiments", "runs", "metrics", "params")


def _read_sqlite(db: Path, shown: Path) -> list[tuple[str, Log]]:
    """Every active run of an SQLite MLflow store, opened read-only with :mod:`sqlite3` (no mlflow needed)."""
    try:
        con = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DataError(f"{shown}: cannot open the SQLite store read-only: {exc}") from None
    revision = None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in SQL_TABLES if t not in tables]
        if missing:
            raise DataError(f"{shown}: an SQLite database, but not an MLflow tracking store (no "
                            f"{', '.join(missing)} table); it was left untouched")
        if "alembic_version" in tables:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        runs = con.execute(
            "SELECT r.run_uuid, r.name, e.name FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
            "WHERE r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active' "
            "ORDER BY e.experiment_id, r.start_time, r.run_uuid").fetchall()
        found = []
        for run_id, run_name, experiment in runs:
            name = run_name or run_id
            history: dict[str, tuple[list, list]] = {}
            # logging order: by timestamp, then in the order written (rowid), as MLflow's client returns them
            for key, value, step, is_nan in con.execute(
                    "SELECT key, value, step, is_nan FROM metrics WHERE run_uuid = ? ORDER BY key, timestamp, rowid",
                    (run_id,)):
                steps, values = history.setdefault(key, ([], []))
                steps.append(int(step))
                values.append(math.nan if is_nan else float(value))
            params = dict(con.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall())
            found.append((experiment, _make_log(name, f"{shown}: run {name} ({run_id})", history, params)))
        return found
    except sqlite3.DatabaseError as exc:  # a column this reader needs is gone, or the file is damaged
        raise DataError(f"{shown}: cannot read this MLflow store (schema revision {revision or 'unknown'}): "
                        f"{exc}; it was left untouched") from None
    finally:
        con.close()
