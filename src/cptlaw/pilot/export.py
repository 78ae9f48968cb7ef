"""Pack a finished sweep into a compact native dataset: evaluation rows only, plus a schedule side file.

The trainer writes the dense LR at every step; the exported ``runs.csv`` keeps only the evaluation rows and
``runs.schedules.yaml`` gives each run's exact PT->CPT schedule (``kind: continual``), which reproduces the
dense LR bit for bit (checked here before anything is written).  Both files are cptlaw's native format v1.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import yaml

from ..data import read_runs
from ..io import atomic_write_text
from ..errors import CptlawError
from ..schedules import from_spec, to_spec
from ..schedules.shapes import Continual
from .sweep import SweepConfig, expand


def run_schedule(cfg: dict, pt_by_name: dict[str, dict]):
    if "pt" in cfg:
        return from_spec(cfg["pt"]["schedule"])
    c = cfg["cpt"]
    return Continual(from_spec(pt_by_name[c["init_from"]]["pt"]["schedule"]), from_spec(c["schedule"]), c["transfer"])


def export(sweep: SweepConfig | str | Path, dest: str | Path, force: bool = False) -> dict:
    """Write ``dest/runs.csv``, ``dest/runs.schedules.yaml`` and ``dest/provenance.json`` from a sweep's
    finished runs (its ``out`` folder is taken relative to the current directory)."""
    if not isinstance(sweep, SweepConfig):
        sweep = SweepConfig.load(sweep)
    out = Path(sweep.out)
    pt_runs, cpt_runs = expand(sweep)
    pt_by_name = {c["name"]: c for c in pt_runs}
    rows, specs, done, logged_lr = [], {}, {}, {}
    columns: list[str] = []  # the union, in first-seen order: runs may be evaluated on different sets
    for cfg in pt_runs + cpt_runs:
        name = cfg["name"]
        marker = out / f"{name}.done.json"
        if not marker.exists():
            continue  # unfinished runs are left out (and listed in the summary)
        done[name] = json.loads(marker.read_text())
        dense = read_runs(out / f"{name}.csv")[name]
        sched = run_schedule(cfg, pt_by_name)
        if not np.array_equal(sched(dense.steps), dense.lr):
            raise CptlawError(f"run {name}: its schedule spec does not reproduce the logged LR")
        specs[name] = to_spec(sched)
        logged_lr[name] = dense.lr
        with open(out / f"{name}.csv", newline="") as fh:
            reader = csv.DictReader(fh)
            columns += [c for c in reader.fieldnames if c not in columns and c != "lr"]
            losses = [c for c in reader.fieldnames if c.startswith("loss:")]
            rows += [r for r in reader if any(r[c] for c in losses)]
    if not rows:
        raise CptlawError(f"no finished runs in {out}")
    # native column order: run, step, phase, the losses, then the metadata columns
    meta = [c for c in columns if not c.startswith("loss:") and c not in ("run", "step", "phase")]
    columns = ["run", "step", "phase"] + [c for c in columns if c.startswith("loss:")] + meta
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    dest = Path(dest)
    atomic_write_text(dest / "runs.csv", buf.getvalue(), force=force)
    atomic_write_text(dest / "runs.schedules.yaml", yaml.safe_dump(specs, sort_keys=False), force=force)
    check = read_runs(dest / "runs.csv")  # round trip: same runs, same LR
    for name, lr in logged_lr.items():
        if not np.array_equal(check[name].lr, lr):
            raise CptlawError(f"run {name}: exported LR differs")
    missing = [c["name"] for c in pt_runs + cpt_runs if c["name"] not in done]
    summary = {"runs": list(specs), "missing": missing,
               "wall_time_s": sum(d["wall_time_s"] for d in done.values()),
               "tokens": sum(d["tokens"] for d in done.values()),
               "done": {k: {kk: v[kk] for kk in ("wall_time_s", "tokens", "tokens_per_s", "non_embedding_params",
                                                "threads", "torch", "cptlaw_version", "device") if kk in v}
                        for k, v in done.items()},
               "corpora_manifest": next(iter(done.values())).get("corpora_manifest")}
    atomic_write_text(dest / "provenance.json", json.dumps(summary, indent=2) + "\n", force=force)
    return summary
