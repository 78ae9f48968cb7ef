"""Ingest speed: a 10^6-step TensorBoard log, read by cptlaw.ingest beside TensorBoard's own reader.

The log is written once with torch.utils.tensorboard.SummaryWriter (LR at every step, two evaluation sets
every 100 steps) into a temporary folder.  Timed, side by side in one run, best of ``--repeat``:

* ``EventAccumulator``: tensorboard's reader with ``size_guidance={'scalars': 0}`` (every point), Reload()
  and Scalars() for each tag, i.e. the library alone, yielding Python objects;
* ``cptlaw.ingest.read``: the whole chain to a native RunSet (record framing + TensorBoard's protobuf
  parser, mapping, restart check, dense-LR check, run assembly).

Run: python benchmarks/bench_ingest.py [--steps 1000000] [--repeat 3]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


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


def accumulator(folder: Path) -> int:
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    return sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"])


def cptlaw_read(folder: Path) -> int:
    from cptlaw import ingest

    run = ingest.read(folder, kind="tensorboard", transfer=None).runs.names
    return len(run)


def best(fn, arg, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from _machine import describe

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tb"
        t0 = time.perf_counter()
        write_log(folder, args.steps)
        wrote = time.perf_counter() - t0
        n = accumulator(folder)
        t_acc = best(accumulator, folder, args.repeat)
        t_cpt = best(cptlaw_read, folder, args.repeat)
    print(f"machine: {describe()}")
    print(f"log: {args.steps:,} steps, {n:,} scalars (written by SummaryWriter in {wrote:.1f} s)")
    print(f"| reader | seconds (best of {args.repeat}) | ratio |")
    print("|---|---|---|")
    print(f"| tensorboard EventAccumulator, size_guidance 0 | {t_acc:.2f} | 1.0x |")
    print(f"| cptlaw.ingest.read -> native RunSet | {t_cpt:.2f} | {t_acc / t_cpt:.1f}x faster |")


if __name__ == "__main__":
    main()
