"""Loss curves in memory (:class:`Run`, :class:`RunSet`) and the native file format v1 (read, validate, write)."""

from .curves import META_COLUMNS, Run, RunSet, target_column
from .native import FORMAT_VERSION, load_schedules, read_runs, runs_to_csv, write_runs

__all__ = ["META_COLUMNS", "Run", "RunSet", "target_column", "FORMAT_VERSION",
           "load_schedules", "read_runs", "runs_to_csv", "write_runs"]
