"""Ingest speed: 10^6-step TensorBoard and W&B logs, read by cptlaw.ingest beside each library's own reader.

The log is written once with torch.utils.tensorboard.SummaryWriter (LR at every step, two evaluation sets
every 100 steps) into a temporary folder.  Timed, side by side in one run, best of ``--repeat``:

* ``EventAccumulator``: tensorboard's reader with ``size_guidance={'scalars': 0}`` (every point), Reload()
  and Scalars() for each tag, i.e. the library alone, yielding Python objects;
* ``cptlaw.ingest.read``: the whole chain to a native RunSet (record framing + TensorBoard's protobuf
  parser, mapping, restart check, dense-LR check, run assembly).

The W&B run file is written once by ``wandb`` in offline mode (the same LR and losses, ``run.log(..., step=s)``),
then timed side by side:

* ``wandb leet inspect --json``: W&B's own reader of run files (its Go core, wandb >= 0.31), every record
  printed as JSON and parsed with ``json.loads``, i.e. the library alone, yielding Python objects;
* ``cptlaw.ingest.read``: the whole chain (framing + W&B's protobuf ``Record``, step metrics, checks, run).

Run: python -m benchmarks bench_ingest [--steps 1000000] [--repeat 3] [--no-wandb]
"""

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from cptlaw import ingest

from .harness import describe, parser


def write_log(folder: Path, steps: int) -> None:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(folder), max_queue=100_000, flush_secs=3600)
    lr = np.r_[np.linspace(0, 3e-4, 1000), np.full(steps - 1000, 3e-4)]
    for s in range(steps):
        w.add_scalar("lr", lr[s], s)
        if s % 100 == 99:
            w.add_scalar("eval/general_loss", 3.0 + 1.0 / (1 + s / 1e4), s)
            w.add_scalar("eval/german_loss", 2.0 + 1.0 / (1 + s / 1e4), s)
    w.close()


def write_wandb(folder: Path, steps: int) -> Path:

    import wandb

    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    run = wandb.init(project="bench", dir=str(folder), settings=wandb.Settings(x_disable_stats=True))
    lr = np.r_[np.linspace(0, 3e-4, 1000), np.full(steps - 1000, 3e-4)]
    for s in range(steps):
        row = {"lr": float(lr[s])}
        if s % 100 == 99:
            row["eval/general_loss"] = 3.0 + 1.0 / (1 + s / 1e4)
            row["eval/german_loss"] = 2.0 + 1.0 / (1 + s / 1e4)
        run.log(row, step=s)
    run.finish()
    return next(folder.rglob("run-*.wandb"))


def leet(file: Path) -> int:

    out = subprocess.run(["wandb", "leet", "inspect", "--json", str(file)], check=True, capture_output=True,
                         text=True).stdout
    return sum(len(r["history"]["item"]) for r in map(json.loads, out.splitlines()) if r.get("type") == "history")


def cptlaw_wandb(file: Path) -> int:
    return len(ingest.read(file, kind="wandb", transfer=None).runs.names)


def accumulator(folder: Path) -> int:
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    return sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"])


def cptlaw_read(folder: Path) -> int:
    run = ingest.read(folder, kind="tensorboard", transfer=None).runs.names
    return len(run)


def best(fn, arg, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = parser("bench_ingest", __doc__)
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-wandb", action="store_true", help="TensorBoard only")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tb"
        t0 = time.perf_counter()
        write_log(folder, args.steps)
        wrote = time.perf_counter() - t0
        n = accumulator(folder)
        t_acc = best(accumulator, folder, args.repeat)
        t_cpt = best(cptlaw_read, folder, args.repeat)
        if not args.no_wandb:
            t0 = time.perf_counter()
            file = write_wandb(Path(tmp) / "wb", args.steps)
            wrote_wb = time.perf_counter() - t0
            n_wb = leet(file)
            t_leet = best(leet, file, args.repeat)
            t_wb = best(cptlaw_wandb, file, args.repeat)
            size = file.stat().st_size
    print(f"machine: {describe()}")
    print(f"TensorBoard log: {args.steps:,} steps, {n:,} scalars (written by SummaryWriter in {wrote:.1f} s)")
    print(f"| reader | seconds (best of {args.repeat}) | ratio |")
    print("|---|---|---|")
    print(f"| tensorboard EventAccumulator, size_guidance 0 | {t_acc:.2f} | 1.0x |")
    print(f"| cptlaw.ingest.read -> native RunSet | {t_cpt:.2f} | {t_acc / t_cpt:.1f}x faster |")
    if not args.no_wandb:
        print(f"\nW&B run file: {args.steps:,} steps, {n_wb:,} history items, {size / 1e6:.0f} MB (written by wandb "
              f"offline in {wrote_wb:.1f} s)")
        print(f"| reader | seconds (best of {args.repeat}) | ratio |")
        print("|---|---|---|")
        print(f"| wandb leet inspect --json + json.loads | {t_leet:.2f} | 1.0x |")
        print(f"| cptlaw.ingest.read -> native RunSet | {t_wb:.2f} | {t_leet / t_wb:.1f}x faster |")

