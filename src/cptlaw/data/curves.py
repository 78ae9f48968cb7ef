"""In-memory loss curves: one :class:`Run` per training trajectory (PT prefix + optional CPT part)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ..errors import DataError
from ..schedules import Schedule

META_COLUMNS = ("model_size", "tokens_per_step", "replay_ratio")


def target_column(target: str) -> str:
    """Normalise a validation-set name: ``general`` and ``loss:general`` both mean column ``loss:general``."""
    return target if target.startswith("loss:") else f"loss:{target}"


@dataclass
class Run:
    """One trajectory with a dense per-step LR.

    ``steps`` are consecutive integers (the run's own step numbers); ``lr[i]`` is the LR applied at
    ``steps[i]``.  ``transfer`` is the index of the first CPT step (``None`` for a PT-only run).  ``losses``
    maps a column name such as ``loss:general`` to ``(index, value)`` arrays, ``index`` pointing into
    ``steps``.  ``model_size`` counts non-embedding parameters; ``replay_ratio`` is the share of PT data in
    CPT batches (0..1).
    """

    name: str
    steps: np.ndarray
    lr: np.ndarray
    transfer: int | None = None
    losses: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    model_size: float | None = None
    tokens_per_step: float | None = None
    replay_ratio: float | None = None
    source: str = ""

    def __post_init__(self):
        self.steps = np.asarray(self.steps, dtype=np.int64)
        self.lr = np.asarray(self.lr, dtype=np.float64)
        if self.steps.shape != self.lr.shape or self.steps.ndim != 1 or self.steps.size == 0:
            raise ValueError(f"run {self.name!r}: steps and lr must be 1-D arrays of equal, non-zero length")

    @classmethod
    def from_schedule(cls, name: str, schedule: Schedule, n_steps: int, start: int = 0, **kwargs) -> "Run":
        """A run (with no observed losses) whose LR follows ``schedule`` for ``n_steps`` steps from ``start``."""
        steps = np.arange(start, start + n_steps)
        transfer = schedule.transfer_step
        if transfer is not None:
            transfer = transfer - start if 0 < transfer - start < n_steps else None
        return cls(name, steps, schedule(steps), transfer=transfer, **kwargs)

    @property
    def transfer_step(self) -> int | None:
        return None if self.transfer is None else int(self.steps[self.transfer])

    @property
    def is_cpt(self) -> bool:
        return self.transfer is not None

    @property
    def targets(self) -> list[str]:
        return sorted(self.losses)

    def observed(self, target: str) -> tuple[np.ndarray, np.ndarray]:
        """(index, loss) of the evaluations of one validation set; empty arrays if it was never evaluated."""
        return self.losses.get(target_column(target), (np.zeros(0, np.int64), np.zeros(0)))

    def index_of(self, steps: Iterable[int]) -> np.ndarray:
        """Indices into ``self.steps`` of the given step numbers (which must lie in the run)."""
        idx = np.asarray(steps, dtype=np.int64) - int(self.steps[0])
        if np.any(idx < 0) or np.any(idx >= self.steps.size):
            raise DataError(f"run {self.name!r} covers steps {self.steps[0]}..{self.steps[-1]}; "
                            f"asked for steps outside it")
        return idx

    def digest(self, target: str | None = None) -> bytes:
        """Bytes identifying the data a fit used: steps, LR, phase split, metadata and the target losses."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        h.update(self.steps.tobytes())
        h.update(self.lr.tobytes())
        h.update(repr((self.transfer, self.model_size, self.tokens_per_step, self.replay_ratio)).encode())
        for key in ([target_column(target)] if target else self.targets):
            idx, val = self.observed(key)
            h.update(key.encode() + idx.tobytes() + np.asarray(val, np.float64).tobytes())
        return h.digest()


class RunSet:
    """An ordered collection of runs, addressed by name."""

    def __init__(self, runs: Iterable[Run] = (), source: str = ""):
        self._runs: dict[str, Run] = {}
        self.source = source
        for run in runs:
            if run.name in self._runs:
                raise DataError(f"duplicate run name {run.name!r}")
            self._runs[run.name] = run

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs.values())

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, name: str) -> Run:
        try:
            return self._runs[name]
        except KeyError:
            raise DataError(f"no run named {name!r}; runs: {', '.join(self._runs) or '(none)'}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._runs

    @property
    def names(self) -> list[str]:
        return list(self._runs)

    def select(self, names: Iterable[str] | None) -> "RunSet":
        """The runs named (in the given order); all runs for ``None``."""
        if names is None:
            return self
        return RunSet([self[n] for n in names], source=self.source)

    def with_target(self, target: str) -> "RunSet":
        """Only the runs where ``target`` was evaluated at least once."""
        return RunSet([r for r in self if r.observed(target)[0].size], source=self.source)

    def data_hash(self, target: str | None = None) -> str:
        h = hashlib.sha256()
        for run in self:
            h.update(run.digest(target))
        return "sha256:" + h.hexdigest()
