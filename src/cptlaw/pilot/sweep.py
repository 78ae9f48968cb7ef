"""Pilot sweeps: a grid of model sizes x domains x PT schedules x transfer points x CPT schedules x replay ratios.

A sweep file names its models, PT schedules and CPT schedules, and lists CPT sub-grids; each sub-grid is
crossed with every model and domain, and the union is run (PT runs first, since CPT runs branch from their
checkpoints).  Finished runs (``<name>.done.json`` present) are skipped; interrupted runs resume from their
last checkpoint.  Runs go sequentially or in N worker processes; on one GPU, small models are launch-bound, so
several runs in parallel processes share it well (``--jobs``).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional

import yaml

from pydantic import BaseModel, ConfigDict, Field

from ..progress import bar
from ..errors import CptlawError
from ..io import load_yaml


class PTGrid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int
    transfers: list[int]
    schedules: dict[str, dict]
    data: dict[str, float] = Field(default_factory=lambda: {"general": 1.0})


class CPTGrid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int
    domains: list[str]
    schedules: dict[str, dict]
    grids: list[dict[str, list]]
    replay_data: dict[str, float] = Field(default_factory=lambda: {"general": 1.0})


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    out: str
    corpora: Optional[str] = None
    common: dict = Field(default_factory=dict)
    models: dict[str, dict]
    pt: PTGrid
    cpt: Optional[CPTGrid] = None

    @classmethod
    def load(cls, path: str | Path) -> "SweepConfig":
        try:
            return cls.model_validate(load_yaml(path))
        except OSError as exc:
            raise CptlawError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except (yaml.YAMLError, ValueError) as exc:
            raise CptlawError(f"{path}: invalid sweep config: {exc}") from None


RECIPES = ("german-mix", "domains")


def recipe_path(config: str | Path) -> Path:
    """A sweep file, or the bundled recipe of that name (``cptlaw/pilot/recipes/<name>.yaml``)."""
    path = Path(config)
    if not path.is_file() and str(config) in RECIPES:
        return Path(__file__).parent / "recipes" / f"{config}.yaml"
    return path


def _rname(replay: float) -> str:
    return f"r{int(round(replay * 100)):02d}"


def _with(val: list[str], extra: list[str]) -> list[str]:
    return val + [d for d in extra if d not in val]


def expand(sweep: SweepConfig) -> tuple[list[dict], list[dict]]:
    """(PT run configs, CPT run configs) as RunConfig dicts, deduplicated, in a stable order."""
    base = {"out": sweep.out, "corpora": sweep.corpora, **sweep.common}
    # Every run is evaluated on common.val; a CPT run also on its domain, and a PT run on every CPT domain of
    # the sweep, so that each trajectory has the domain loss from step 0.
    val = list(sweep.common.get("val", ["general"]))
    cpt_runs: dict[str, dict] = {}
    keep: dict[str, set[int]] = {}
    grid_keys = {"pt", "transfer", "schedule", "replay"}
    for g in (sweep.cpt.grids if sweep.cpt else []):
        if set(g) != grid_keys:
            raise CptlawError(f"sweep {sweep.name}: each cpt grid needs exactly the keys {sorted(grid_keys)}; got {sorted(g)}")
        for model, domain, pt, transfer, sched, replay in itertools.product(
                sweep.models, sweep.cpt.domains, g["pt"], g["transfer"], g["schedule"], g["replay"]):
            if pt not in sweep.pt.schedules or sched not in sweep.cpt.schedules:
                raise CptlawError(f"sweep {sweep.name}: unknown PT schedule {pt!r} or CPT schedule {sched!r}")
            if transfer not in sweep.pt.transfers:
                raise CptlawError(f"sweep {sweep.name}: transfer {transfer} is not one of pt.transfers")
            pt_name = f"{model}_pt_{pt}"
            keep.setdefault(pt_name, set()).add(int(transfer))
            name = f"{model}_{domain}_{pt}{transfer}_{sched}_{_rname(replay)}"
            cpt_runs[name] = {**base, "name": name, "model": sweep.models[model], "val": _with(val, [domain]),
                              "cpt": {"init_from": pt_name, "transfer": int(transfer), "domain": domain,
                                      "replay_ratio": float(replay), "replay_data": sweep.cpt.replay_data,
                                      "schedule": sweep.cpt.schedules[sched], "steps": sweep.cpt.steps}}
    pt_runs = []
    for model, pt in itertools.product(sweep.models, sweep.pt.schedules):
        name = f"{model}_pt_{pt}"
        pt_runs.append({**base, "name": name, "model": sweep.models[model],
                        "val": _with(val, sweep.cpt.domains if sweep.cpt else []),
                        "keep_checkpoints": sorted(keep.get(name, set())),
                        "pt": {"data": sweep.pt.data, "schedule": sweep.pt.schedules[pt], "steps": sweep.pt.steps}})
    return pt_runs, list(cpt_runs.values())


def _run_one(cfg_dict: dict, threads: int) -> str:
    from .train import RunConfig, run  # torch: a sweep's plan (expand, export) needs none

    cfg = RunConfig.model_validate({**cfg_dict, "threads": threads})
    if cfg.done_path.exists():
        return f"skip {cfg.name} (done)"
    info = run(cfg, log=lambda *_: None)
    return f"done {cfg.name}: {info.get('wall_time_s', 0):.0f} s"


def run_sweep(sweep: SweepConfig, jobs: int = 1, log=print, only: list[str] | None = None) -> list[str]:
    """Run every run of the sweep that is not finished yet; PT wave first, then CPT."""
    pt_runs, cpt_runs = expand(sweep)
    threads = max(1, (os.cpu_count() or 1) // max(jobs, 1))
    results = []
    for wave in (pt_runs, cpt_runs):
        todo = [c for c in wave if only is None or c["name"] in only]
        if jobs <= 1:
            for c in bar(todo, desc="pilot sweep", unit="run"):
                msg = _run_one(c, threads)
                log(msg)
                results.append(msg)
        else:
            # spawn, not fork: each worker opens its own CUDA context (a forked one cannot)
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                for msg in bar(pool.map(_run_one, todo, itertools.repeat(threads)), total=len(todo), desc="pilot sweep",
                               unit="run"):
                    log(msg)
                    results.append(msg)
    return results
