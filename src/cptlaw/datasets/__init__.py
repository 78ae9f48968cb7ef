"""Datasets that ship with cptlaw, loadable by name.

* ``pilot-v1``: real PT->CPT loss curves of small LLaMA-style models trained by ``cptlaw pilot`` (general,
  code, legal and biomedical validation sets; see ``pilot-v1/README.md``).
* ``mpl-luo2025``: the Multi-Power-Law loss curves (Luo et al. 2025; MIT licence, see
  ``mpl-luo2025/LICENSE`` and ``PROVENANCE.md``): 25M/100M/400M models x 9 LR schedules, loss every 128 steps.
  The dense per-step LR is rebuilt from each schedule's definition and checked against the logged ``lr``.
* ``pilot-gpu-german``: real PT->CPT curves of cptlaw's pilot model at 1.6M, 6.4M and 21M non-embedding
  parameters, trained on an H100 (CPT on German, 4 replay ratios, 6 CPT schedules, transfers on a constant
  and an annealed PT; evaluated on 40,960-token sets every 25 steps; see ``pilot-gpu-german/PROVENANCE.md``).
* ``pilot-gpu-german-mix``: the same sweep at 1.6M and 6.4M parameters with a realistic PT (5 % German in every
  PT batch), so that the domain loss falls during PT as Eq. 4 assumes (``pilot-gpu-german-mix/PROVENANCE.md``).
* ``pilot-gpu-domains``: CPT on code, legal, bio and German from one realistic PT, at 4 domain shares, for the
  D-CPT and Cross-Domain D-CPT laws (``pilot-gpu-domains/PROVENANCE.md``).
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

from ..data import Run, RunSet, read_runs
from ..errors import DataError
from ..schedules import WSD, Constant, Cosine, Join, Schedule, Warmup
from .splits import MPL_SPLIT

MPL_PEAK, MPL_END, MPL_WARMUP = 3e-4, 3e-5, 2160
MPL_SIZES = (25, 100, 400)


def mpl_schedule(name: str) -> Schedule:
    """The per-step schedule of an MPL run, as the upstream loader defines it (PROVENANCE.md): linear warmup
    ``linspace(0, 3e-4, 2160)`` over steps 0..2159, then the named shape on the remaining steps."""
    post = None
    if name.startswith("constant_"):
        post = Constant(MPL_PEAK)
    elif name.startswith("cosine_"):
        total = int(name.split("_")[1])
        post = Cosine(MPL_PEAK, total - MPL_WARMUP, MPL_END)
    elif name.startswith(("wsd_", "wsdld_")):
        _, begin, total = name.split("_")
        shape = "exp" if name.startswith("wsd_") else "linear"
        post = WSD(MPL_PEAK, int(total) - MPL_WARMUP, int(total) - int(begin), MPL_END, shape)
    elif name.startswith("wsdcon_"):
        lr_b = int(name.split("_")[1]) * 1e-5
        post = Join((Constant(MPL_PEAK), Constant(lr_b)), (8000 - MPL_WARMUP,))
    if post is None:
        raise DataError(f"unknown MPL run {name!r}")
    return Warmup(post, MPL_WARMUP, init=0.0, endpoint=True)


DATASETS = ("mpl-luo2025", "pilot-v1", "pilot-gpu-german", "pilot-gpu-german-mix", "pilot-gpu-domains")
_NATIVE = {"pilot-v1": "runs.csv", "pilot-gpu-german": "german.csv", "pilot-gpu-german-mix": "runs.csv",
           "pilot-gpu-domains": "runs.csv"}


def load(name: str, **kwargs) -> RunSet:
    """Load a bundled dataset by name: ``mpl-luo2025`` (keyword ``size`` = 25, 100 or 400), or one of the real
    PT->CPT sets from cptlaw's own pilot trainer: ``pilot-v1``, ``pilot-gpu-german``, ``pilot-gpu-german-mix``,
    ``pilot-gpu-domains`` (see their README/PROVENANCE)."""
    if name == "mpl-luo2025":
        return load_mpl(**kwargs)
    if name in _NATIVE:
        with resources.as_file(resources.files(__package__) / name / _NATIVE[name]) as path:
            if not path.exists():
                raise DataError(f"the {name} dataset is not bundled in this build")
            return read_runs(path)
    raise DataError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")


def load_mpl(size: int = 400, runs: tuple[str, ...] | None = None) -> RunSet:
    """The MPL curves of one model size as native runs with ``loss:train`` (the repo's logged loss)."""
    if size not in MPL_SIZES:
        raise DataError(f"MPL sizes are {MPL_SIZES}, got {size}")
    folder = resources.files(__package__) / "mpl-luo2025" / f"csv_{size}"
    out = []
    for run_name in runs or (MPL_SPLIT.fit + MPL_SPLIT.held_out):
        with (folder / f"{run_name}.csv").open(encoding="utf-8") as fh:
            rows = [(int(float(r["step"])), float(r["lr"]), float(r["loss"])) for r in csv.DictReader(fh)]
        steps, logged_lr, loss = (np.array(c) for c in zip(*rows))
        if steps[-1] == 24000:  # upstream drops the final row of the 24K runs
            keep = steps < 24000
            steps, logged_lr, loss = steps[keep], logged_lr[keep], loss[keep]
        sched = mpl_schedule(run_name)
        dense = np.arange(0, steps[-1] + 1)
        run = Run(run_name, dense, sched(dense), losses={"loss:train": (steps, loss)},
                  source=f"mpl-luo2025/csv_{size}/{run_name}.csv")
        run.logged_lr = (steps, logged_lr)  # kept for the reconstruction check
        out.append(run)
    return RunSet(out, source=f"mpl-luo2025/csv_{size}")
