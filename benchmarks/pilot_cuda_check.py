"""The trainer's CUDA path against its CPU path: one PT run and one CPT run from it, on each device (issue 9).

Runs, all of one recipe (model s of pilot-gpu-german: 1.6M non-embedding parameters, batch 40 x 256; PT 200
updates on general; CPT from update 100 for 100 updates on german with 25 % replay and a 20-step re-warmup;
validation every 25 updates on 40,960-token sets of general, german and bio):

  cpu-fp32     the reference (the CPU path the tests cover)
  cpu-fp32-t2  the same on half the CPU threads: only the reduction order changes, which measures how far
               two equally valid fp32 trajectories drift apart (the scale against which the GPU is judged)
  cuda-fp32    the same arithmetic on the GPU; differs from the CPU only in kernel reduction order
  cuda-bf16    the GPU default (``dtype: auto``: bf16 autocast, fp32 cross-entropy)
  cuda-bf16-b  cuda-bf16 again, for run-to-run determinism on the GPU
  cuda-resume  cuda-bf16 with both runs killed part-way (``stop_after``) and resumed from the checkpoint

Prints and writes (``--out``) the largest relative difference of every validation loss from cpu-fp32, and the
largest absolute difference between cuda-bf16 and its repeat and its resumed run.  Needs a GPU:
``python -m benchmarks pilot_cuda_check --out cuda_check.json`` (corpora built, or CPTLAW_CACHE pointing at them).
"""

import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from cptlaw.pilot.train import RunConfig, run

from .harness import describe, parser

MODEL = dict(vocab_size=4096, d_model=128, n_layers=8, n_heads=4, d_ff=352, seq_len=256)
COMMON = dict(model=MODEL, batch_size=40, seed=0, eval_every=25, eval_tokens=40960,
              val=["general", "german", "bio"], checkpoint_every=50)
PT = dict(name="pt", keep_checkpoints=[100],
          pt=dict(data={"general": 1.0}, steps=200,
                  schedule={"kind": "warmup", "steps": 50, "schedule": {"kind": "constant", "lr": 2e-3}}))
CPT = dict(name="cpt", cpt=dict(init_from="pt", transfer=100, domain="german", replay_ratio=0.25, steps=100,
                                schedule={"kind": "warmup", "steps": 20,
                                          "schedule": {"kind": "cosine", "peak": 2e-3, "steps": 80, "floor": 2e-4}}))
VARIANTS = {"cpu-fp32": ("cpu", "float32", None), "cpu-fp32-t2": ("cpu", "float32", None),
            "cuda-fp32": ("cuda", "float32", None),
            "cuda-bf16": ("cuda", "auto", None), "cuda-bf16-b": ("cuda", "auto", None),
            "cuda-resume": ("cuda", "auto", (130, 160))}


THREADS = torch.get_num_threads()


def losses(path: Path) -> dict[int, dict[str, float]]:
    out = {}
    for r in csv.DictReader(path.open()):
        if r["loss:general"]:
            out[int(r["step"])] = {k[5:]: float(v) for k, v in r.items() if k.startswith("loss:")}
    return out


def train(variant: str, root: Path) -> tuple[dict, float]:
    device, dtype, stops = VARIANTS[variant]
    out = root / variant
    t = time.perf_counter()
    for spec, stop in zip((PT, CPT), stops or (None, None)):
        threads = THREADS // 2 if variant.endswith("-t2") else THREADS
        cfg = RunConfig.model_validate({**COMMON, **spec, "out": str(out), "device": device, "dtype": dtype,
                                        "threads": max(1, threads)})
        if stop is not None:
            assert run(cfg, log=lambda *_: None, stop_after=stop)["status"] == "stopped"
        run(cfg, log=lambda *_: None)
    return {n: losses(out / f"{n}.csv") for n in ("pt", "cpt")}, time.perf_counter() - t


def max_diff(a: dict, b: dict, rel: bool) -> dict[str, float]:
    res = {}
    for run_name in a:
        for step, vals in a[run_name].items():
            for k, v in vals.items():
                w = b[run_name][step][k]
                d = abs(v - w) / abs(w) if rel else abs(v - w)
                res[f"{run_name}:{k}"] = max(res.get(f"{run_name}:{k}", 0.0), d)
    return res


def main(argv: list[str] | None = None) -> None:
    ap = parser("pilot_cuda_check", __doc__)
    ap.add_argument("--out", default=None)
    ap.add_argument("--cpu-only", action="store_true",
                    help="only cpu-fp32 and cpu-fp32-t2 (the drift between two valid fp32 runs; no GPU needed)")
    args = ap.parse_args(argv)
    if not args.cpu_only and not torch.cuda.is_available():
        sys.exit("pilot_cuda_check needs a GPU (or --cpu-only)")
    root = Path(tempfile.mkdtemp(prefix="cuda_check_"))
    res, wall = {}, {}
    for v in [v for v in VARIANTS if not args.cpu_only or v.startswith("cpu")]:
        res[v], wall[v] = train(v, root)
        print(f"{v}: {wall[v]:.1f} s", flush=True)
    report = {"machine": describe(), "gpu": None if args.cpu_only else torch.cuda.get_device_name(0),
              "torch": torch.__version__, "wall_s": wall, "threads": THREADS,
              "rel_diff_vs_cpu_fp32": {v: max_diff(res[v], res["cpu-fp32"], True)
                                       for v in ("cpu-fp32-t2", "cuda-fp32", "cuda-bf16") if v in res},
              "final": {v: {n: r[max(r)] for n, r in res[v].items()} for v in res}}
    if not args.cpu_only:
        report["abs_diff_bf16_repeat"] = max_diff(res["cuda-bf16-b"], res["cuda-bf16"], False)
        report["abs_diff_bf16_resumed"] = max_diff(res["cuda-resume"], res["cuda-bf16"], False)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    shutil.rmtree(root, ignore_errors=True)

