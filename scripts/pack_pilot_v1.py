"""Pack the pilot-v1 sweep into the bundled dataset and write its README (provenance + fit results).

Run from the folder holding the sweep's output (``out:`` in the sweep file), after
``cptlaw pilot sweep src/cptlaw/datasets/pilot-v1/sweep.yaml``:

    python scripts/pack_pilot_v1.py src/cptlaw/datasets/pilot-v1/sweep.yaml src/cptlaw/datasets/pilot-v1
"""

import contextlib
import io
import platform
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: the benchmarks package

from cptlaw.pilot.export import export  # noqa: E402
from cptlaw.pilot.sweep import SweepConfig  # noqa: E402


def git_commit() -> str:
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def main(sweep_path, dest):
    from benchmarks import pilot_fit
    from benchmarks.harness import describe

    sweep = SweepConfig.load(sweep_path)
    summary = export(sweep, dest, force=True)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        pilot_fit.main([])
    m = summary["corpora_manifest"] or {}
    corp = "\n".join(f"| {name} | {f['train']['sha256'][:16]}… | {f['val']['sha256'][:16]}… | "
                     f"{f['train']['bytes'] / 1e6:.2f} MB |" for name, f in sorted((m.get("corpora") or {}).items()))
    one = next(iter(summary["done"].values()))
    readme = f"""# pilot-v1: real PT→CPT loss curves from cptlaw's pilot trainer

Small LLaMA-style decoders pre-trained on a general English corpus, then continually pre-trained on a code
or a legal corpus with replay of general data, under several LR schedules. Every run is a whole trajectory
(its PT prefix as `pt` rows), in cptlaw's native format: `runs.csv` (evaluation rows; columns
`loss:general`, `loss:code`, `loss:legal`, `loss:bio`, `model_size` = non-embedding parameters,
`tokens_per_step`, `replay_ratio`) and `runs.schedules.yaml` (each run's exact LR schedule, which reproduces
the trainer's per-step LR bit for bit). Load it with `cptlaw.datasets.load("pilot-v1")`.

Validation sets: `general` (held-out SOTU + Brown documents), the CPT domain (`code` = Python stdlib,
`legal` = ScanCode licence texts), and out-of-domain `bio` (GO/HPO definitions); each is a fixed set of
{sweep.common.get('eval_batches', 4) * sweep.common.get('batch_size', 16)} held-out sequences of 128 tokens.

## How it was produced

- Sweep config: [`sweep.yaml`](sweep.yaml) — model sizes `s` and `m`, PT under a constant and a WSD schedule,
  CPT from 3 transfer points, 4 CPT schedules (constant, cosine, WSD, re-warmup + cosine), replay ratios 0,
  0.25 and 0.5, domains code and legal.
- Command: `cptlaw pilot corpora build && cptlaw pilot sweep sweep.yaml --jobs 2`, then
  `python scripts/pack_pilot_v1.py src/cptlaw/datasets/pilot-v1/sweep.yaml src/cptlaw/datasets/pilot-v1`.
- Code: cptlaw {one['cptlaw_version']} at git commit `{git_commit()}` (the commit that packed the data; the
  trainer code is that of this commit's parent history), torch {one['torch']}, Python {platform.python_version()}.
- Hardware: {describe()}; {one['threads']} thread(s) per run, 2 runs at a time; fp32.
- Runs: {len(summary['runs'])} finished ({len(summary['missing'])} of the sweep not run: {', '.join(summary['missing']) or 'none'}).
- Compute: {summary['wall_time_s'] / 60:.0f} min of run wall time in total, {summary['tokens'] / 1e6:.1f} M training tokens.
- Tokenizer: byte-level BPE, vocabulary {(m.get('tokenizer') or {}).get('vocab_size')}, sha256 `{(m.get('tokenizer') or {}).get('sha256')}`.

Corpora (built by `cptlaw pilot corpora build`; sha256 of the built text files):

| corpus | train sha256 | val sha256 | train size |
|---|---|---|---|
{corp}

Per-run wall time, tokens/s and non-embedding parameters are in [`provenance.json`](provenance.json).

## The CPT law on these curves

`python -m benchmarks pilot_fit`: for each model size and domain, the CPT law (Eq. 4, default options) is
fitted jointly on the PT runs and three CPT runs (transfer 800 constant and cosine, transfer 400 cosine; replay
0.25), then predicts four held-out CPT runs (transfer 800 WSD and re-warmup + cosine, transfer 1200 cosine,
and CPT from the WSD-annealed PT with re-warmup + cosine), on the general and on the domain validation set.
Metrics are over the CPT evaluation rows of each held-out run only (its PT prefix is shared with fitted runs).

{buf.getvalue()}
"""
    (Path(dest) / "README.md").write_text(readme)
    print(readme)


if __name__ == "__main__":
    main(*sys.argv[1:3])
