"""Pilot runs: pre-training, or continual pre-training from a PT checkpoint with replay, written as native data.

One configuration surface (:class:`RunConfig`, a YAML file).  Step s counts optimizer updates from 0; the LR
of update s comes from the run's ``cptlaw.schedules`` spec; validation losses are measured after update s
whenever (s + 1) is a multiple of ``eval_every`` (and after the last update).  The output
``<out>/<name>.csv`` is cptlaw's native format, written incrementally: the dense LR at every step and the
losses at evaluation steps, plus ``model_size`` (non-embedding parameters), ``tokens_per_step`` and, for CPT,
``replay_ratio``.  A CPT run's file starts with its PT run's rows before the transfer step, so it is a
whole trajectory.

Crash-safe: a checkpoint (model, optimizer, step) is written atomically every ``checkpoint_every`` steps;
a restarted run resumes from it, truncates its CSV to the checkpoint and reproduces the same curve, because
every batch is a pure function of (seed, phase, step).

Devices: ``device: auto`` trains on CUDA when a GPU is visible, else on the CPU.  ``dtype: auto`` means bf16
autocast on CUDA (the cross-entropy stays fp32, see ``LM``) and fp32 on the CPU.  On CUDA, AdamW is the fused
kernel; the model is always initialised on the CPU with the run's seed, so a run starts from the same weights on
every device.  Checkpoints are loaded with ``map_location``, so a run can resume on another device.

Distributed data parallel: launched with ``torchrun --nproc_per_node N -m cptlaw.pilot.train CONFIG``
(NCCL on CUDA, gloo on CPU), each rank takes every N-th row of the global batch; rank 0 evaluates and writes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch
import torch.distributed as dist
import pydantic
import yaml

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._version import __version__
from ..errors import CptlawError, validation_message
from ..io import atomic_path, atomic_write_text
from ..io import load_yaml
from ..schedules import from_spec
from .model import LM, ModelConfig
from .tokens import corpora_root, load_tokens


class PTSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, float] = Field(default_factory=lambda: {"general": 1.0})
    schedule: dict
    steps: int = Field(gt=0)


class CPTSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    init_from: str  # name of the PT run (same output folder)
    transfer: int = Field(gt=0)  # branch after this many PT updates (a kept checkpoint of that run)
    domain: str
    replay_ratio: float = Field(ge=0.0, le=1.0)
    replay_data: dict[str, float] = Field(default_factory=lambda: {"general": 1.0})
    schedule: dict
    steps: int = Field(gt=0)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    out: str = "pilot-runs"
    corpora: Optional[str] = None  # default: the cache (~/.cache/cptlaw/corpora)
    model: ModelConfig = Field(default_factory=ModelConfig)
    batch_size: int = 16
    seed: int = 0
    eval_every: int = 25
    # Size of each validation set: eval_tokens (rounded up to whole sequences), or eval_batches x batch_size
    # sequences; with neither, 32,768 tokens, enough that evaluation noise (~0.2 % on general at 40K tokens,
    # pilot-gpu-german) stays below the differences between schedules.
    eval_tokens: Optional[int] = Field(default=None, gt=0)
    eval_batches: Optional[int] = Field(default=None, gt=0)
    val: list[str] = Field(default_factory=lambda: ["general"])
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on the CPU
    compile: bool = False
    threads: Optional[int] = None
    lr_betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    checkpoint_every: int = 250
    keep_checkpoints: list[int] = Field(default_factory=list)
    pt: Optional[PTSpec] = None
    cpt: Optional[CPTSpec] = None

    @model_validator(mode="after")
    def _one_phase(self):
        if (self.pt is None) == (self.cpt is None):
            raise ValueError("give exactly one of 'pt' (pre-training) or 'cpt' (continual pre-training)")
        from_spec((self.pt or self.cpt).schedule, "schedule")  # fail early on a bad spec
        if self.eval_tokens is not None and self.eval_batches is not None:
            raise ValueError("give eval_tokens or eval_batches, not both")
        return self

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        try:
            data = load_yaml(path)
            return cls.model_validate(data)
        except OSError as exc:
            raise CptlawError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise CptlawError(f"{path}: not valid YAML: {exc}") from None
        except pydantic.ValidationError as exc:
            raise CptlawError(f"{path}: invalid run config: {validation_message(exc)}") from None
        except ValueError as exc:  # SpecError
            raise CptlawError(f"{path}: invalid run config: {exc}") from None

    # ---- derived ----
    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    @property
    def csv_path(self) -> Path:
        return self.out_dir / f"{self.name}.csv"

    @property
    def done_path(self) -> Path:
        return self.out_dir / f"{self.name}.done.json"

    @property
    def ckpt_dir(self) -> Path:
        return self.out_dir / "ckpt" / self.name

    @property
    def eval_sequences(self) -> int:
        if self.eval_batches is not None:
            return self.eval_batches * self.batch_size
        return -(-(self.eval_tokens or 32768) // self.model.seq_len)

    def torch_device(self) -> torch.device:
        if self.device == "cuda" or (self.device == "auto" and torch.cuda.is_available()):
            if not torch.cuda.is_available():
                raise CptlawError(f"run {self.name!r}: device 'cuda' asked for, but torch sees no GPU")
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")

    def use_bf16(self, dev: torch.device) -> bool:
        return self.dtype == "bfloat16" or (self.dtype == "auto" and dev.type == "cuda")

    @property
    def first_step(self) -> int:
        return 0 if self.pt else self.cpt.transfer

    @property
    def last_step(self) -> int:  # exclusive
        return self.pt.steps if self.pt else self.cpt.transfer + self.cpt.steps

    def lr_at(self, step: int) -> float:
        phase = self.pt or self.cpt
        return float(from_spec(phase.schedule)(step - self.first_step))


def allocate(weights: dict[str, float], n: int) -> list[str]:
    """n batch rows split over corpora by weight (largest remainder), in a fixed order."""
    names = sorted(weights)
    w = np.array([weights[k] for k in names], dtype=float)
    exact = w / w.sum() * n
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return [k for k, c in zip(names, counts) for _ in range(c)]


class Sampler:
    """Training batches as a pure function of (seed, phase, step)."""

    def __init__(self, cfg: RunConfig, root: Path):
        seq = cfg.model.seq_len
        if cfg.pt:
            self.rows = allocate(cfg.pt.data, cfg.batch_size)
            self.phase_id = 0
        else:
            n_replay = int(round(cfg.cpt.replay_ratio * cfg.batch_size))
            self.rows = allocate(cfg.cpt.replay_data, n_replay) if n_replay else []
            self.rows += [cfg.cpt.domain] * (cfg.batch_size - n_replay)
            self.phase_id = 1
        self.tokens = {n: load_tokens(root, n, "train", cfg.model.vocab_size) for n in set(self.rows)}
        self.seq, self.seed = seq, cfg.seed

    def batch(self, step: int):
        rng = np.random.default_rng([self.seed, self.phase_id, step])
        xs = []
        for name in self.rows:
            toks = self.tokens[name]
            o = int(rng.integers(0, toks.shape[0] - self.seq - 1))
            xs.append(np.asarray(toks[o:o + self.seq + 1], dtype=np.int64))
        arr = torch.from_numpy(np.stack(xs))
        return arr[:, :-1], arr[:, 1:]


def eval_sets(cfg: RunConfig, root: Path) -> dict[str, torch.Tensor]:
    """Fixed held-out sets: the first ``cfg.eval_sequences`` contiguous sequences of each validation split."""
    n, seq = cfg.eval_sequences, cfg.model.seq_len
    out = {}
    for name in cfg.val:
        toks = load_tokens(root, name, "val", cfg.model.vocab_size)
        need = n * seq + 1
        if toks.shape[0] < need:
            raise CptlawError(f"validation split of {name!r} has {toks.shape[0]} tokens; need {need}")
        arr = torch.from_numpy(np.asarray(toks[:need], dtype=np.int64))
        out[name] = arr
    return out


@torch.no_grad()
def evaluate(model: LM, sets: dict[str, torch.Tensor], cfg: RunConfig, autocast) -> dict[str, float]:
    """Mean next-token loss per set, over chunks of batch_size sequences, weighted by tokens (a last, shorter
    chunk counts for its size).  The sums stay on the device: one synchronisation per evaluation."""
    model.eval()
    seq, bs = cfg.model.seq_len, cfg.batch_size
    sums = []
    for arr in sets.values():
        x = arr[:-1].view(-1, seq)
        y = arr[1:].view(-1, seq)
        total = torch.zeros((), dtype=torch.float64, device=arr.device)
        for i in range(0, x.shape[0], bs):
            with autocast():
                total += model(x[i:i + bs], y[i:i + bs]).double() * y[i:i + bs].shape[0]
        sums.append(total / x.shape[0])
    model.train()
    return dict(zip(sets, (float(v) for v in torch.stack(sums).cpu()))) if sums else {}


def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_path(path, force=True) as tmp:
        torch.save(obj, tmp)


class Writer:
    """Appends native-format rows; on resume, keeps only the rows before the resume step."""

    def __init__(self, cfg: RunConfig, model_size: int, resume_from: int | None):
        self.cfg = cfg
        self.columns = ["run", "step", "phase", "lr"] + [f"loss:{v}" for v in cfg.val] + \
                       ["model_size", "tokens_per_step", "replay_ratio"]
        self.const = [str(model_size), str(cfg.batch_size * cfg.model.seq_len),
                      "" if cfg.pt else repr(cfg.cpt.replay_ratio)]
        path = cfg.csv_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_from is not None and path.exists():
            keep = [r for r in csv.reader(path.open(newline="")) if r and (r[0] == "run" or int(r[1]) < resume_from)]
            self._rewrite(keep)
        else:
            rows = [self.columns]
            if cfg.cpt:  # the PT prefix of the trajectory, from the PT run's own file
                pt_csv = cfg.out_dir / f"{cfg.cpt.init_from}.csv"
                if not pt_csv.exists():
                    raise CptlawError(f"PT run output {pt_csv} not found (run {cfg.cpt.init_from!r} first)")
                reader = csv.DictReader(pt_csv.open(newline=""))
                for r in reader:
                    if int(r["step"]) >= cfg.cpt.transfer:
                        break
                    rows.append([cfg.name, r["step"], "pt", r["lr"]] +
                                [r.get(f"loss:{v}", "") for v in cfg.val] + self.const)
            self._rewrite(rows)
        self.fh = path.open("a", newline="")
        self.w = csv.writer(self.fh, lineterminator="\n")

    def _rewrite(self, rows):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        atomic_write_text(self.cfg.csv_path, buf.getvalue(), force=True)

    def row(self, step: int, lr: float, losses: dict[str, float] | None):
        phase = "pt" if self.cfg.pt else "cpt"
        vals = [("" if losses is None else repr(losses[v])) for v in self.cfg.val]
        self.w.writerow([self.cfg.name, step, phase, repr(lr)] + vals + self.const)

    def flush(self):
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self):
        self.fh.close()


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def run(cfg: RunConfig, log=print, stop_after: int | None = None) -> dict:
    """Train one run to completion (resuming if a checkpoint exists). ``stop_after`` simulates a crash."""
    rank, world = _dist_info()
    dev = cfg.torch_device()
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    root = corpora_root(cfg.corpora)
    torch.manual_seed(cfg.seed)
    model = LM(cfg.model).to(dev)  # initialised on the CPU: the same weights on every device
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=0.0, betas=cfg.lr_betas,
                            fused=dev.type == "cuda")
    start = cfg.first_step
    last = cfg.ckpt_dir / "last.pt"
    resumed = False
    prior_s, prior_tokens = 0.0, 0  # wall time and tokens of earlier (interrupted) segments
    if last.exists():
        state = torch.load(last, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start = int(state["step"])
        prior_s, prior_tokens = float(state.get("elapsed_s", 0.0)), int(state.get("tokens", 0))
        resumed = True
    elif cfg.cpt:
        src = cfg.out_dir / "ckpt" / cfg.cpt.init_from / f"step_{cfg.cpt.transfer}.pt"
        if not src.exists():
            raise CptlawError(f"checkpoint {src} not found: keep step {cfg.cpt.transfer} in run "
                              f"{cfg.cpt.init_from!r} (keep_checkpoints)")
        state = torch.load(src, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])  # the optimizer moments carry over into CPT
    if start >= cfg.last_step:
        return {"status": "already complete"}
    train_model = torch.compile(model) if cfg.compile else model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            train_model, device_ids=[dev.index] if dev.type == "cuda" else None)
    sampler = Sampler(cfg, root)
    sets = {k: v.to(dev) for k, v in eval_sets(cfg, root).items()} if rank == 0 else {}
    use_bf16 = cfg.use_bf16(dev)

    def autocast():
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16)

    writer = Writer(cfg, model.non_embedding_params, start if resumed else None) if rank == 0 else None
    cfg.ckpt_dir.mkdir(parents=True, exist_ok=True)
    schedule = from_spec((cfg.pt or cfg.cpt).schedule)
    t0, tokens = time.perf_counter(), 0
    for step in range(start, cfg.last_step):
        lr = float(schedule(step - cfg.first_step))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = sampler.batch(step)
        x, y = x[rank::world].to(dev, non_blocking=True), y[rank::world].to(dev, non_blocking=True)
        with autocast():
            loss = train_model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        tokens += x.numel() * world
        done = step + 1
        is_eval = done % cfg.eval_every == 0 or done == cfg.last_step
        if rank == 0:
            losses = evaluate(model, sets, cfg, autocast) if is_eval else None
            writer.row(step, lr, losses)
            if is_eval:
                log(f"{cfg.name} step {step} lr {lr:.3g} train {loss.item():.4f} " +
                    " ".join(f"{k} {v:.4f}" for k, v in losses.items()))
            if done in cfg.keep_checkpoints or done % cfg.checkpoint_every == 0 or done == cfg.last_step:
                writer.flush()
                state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": done,
                         "elapsed_s": prior_s + time.perf_counter() - t0, "tokens": prior_tokens + tokens}
                if done in cfg.keep_checkpoints:
                    _atomic_torch_save(state, cfg.ckpt_dir / f"step_{done}.pt")
                _atomic_torch_save(state, last)
        if world > 1:
            dist.barrier()
        if stop_after is not None and done >= stop_after:
            if rank == 0:
                writer.close()
            return {"status": "stopped", "step": done}
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elapsed = prior_s + time.perf_counter() - t0
    tokens += prior_tokens
    info = {"status": "complete", "run": cfg.name, "cptlaw_version": __version__, "torch": torch.__version__,
            "python": platform.python_version(), "machine": platform.machine(), "threads": torch.get_num_threads(),
            "world_size": world, "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
            "bf16_autocast": use_bf16, "wall_time_s": elapsed, "tokens": tokens, "tokens_per_s": tokens / max(elapsed, 1e-9),
            "non_embedding_params": model.non_embedding_params, "config": cfg.model_dump()}
    if rank == 0:
        writer.close()
        manifest = root / "manifest.json"
        if manifest.exists():
            m = json.loads(manifest.read_text())
            info["corpora_manifest"] = {"tokenizer": m.get("tokenizer"),
                                        "corpora": {k: v["files"] for k, v in m.get("corpora", {}).items()}}
        atomic_write_text(cfg.done_path, json.dumps(info, indent=2, default=str) + "\n", force=True)
    if world > 1:
        dist.barrier()
    return info


def main(argv=None) -> int:
    """``python -m cptlaw.pilot.train CONFIG.yaml`` (the entry point torchrun uses)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m cptlaw.pilot.train CONFIG.yaml", file=sys.stderr)
        return 2
    try:
        run(RunConfig.load(argv[0]))
    except CptlawError as exc:
        print(f"cptlaw pilot: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
