"""Pilot design that follows from the law (``cptlaw pilots``): which cheap runs identify each term of the CPT law
and its forms, which of them a set of runs already has, and a sweep file that trains the rest.

Each kind of pilot pins down part of the law (``laws/cpt.py``; ``docs/accuracy-forms.md`` shows what each buys
in held-out error on the bundled sets):

================  ==========================================================  ===================================
kind              run                                                         pins down
================  ==========================================================  ===================================
pt_constant       PT at a constant LR (after warmup), to the end of PT        L0, A, alpha (the PT power law)
pt_annealed       the same PT, annealed at its end (WSD)                      C1 (PT annealing)
cpt_constant      CPT at a constant LR from the constant PT, transfer T       B, E, beta (the shift, unconfounded)
cpt_decaying      CPT with a decaying LR (cosine), same transfer              C2 (CPT annealing)
second_transfer   CPT from an earlier transfer point T/2 (cosine)             w (a PT step's weight) and alpha
from_annealed     CPT from the annealed PT checkpoint (re-warmed cosine)      pt_credit (does C1's credit fade)
rewarmup          CPT that re-warms its LR from 0 (cosine), transfer T        the shift's clock (area/steps/sqrt)
================  ==========================================================  ===================================

The first five are the starting set (the demo's five pilots: docs/accuracy-pilot.md); the last two are the
pilots that tell the forms apart, and the first to add (docs/pilots.md measures what they buy in held-out error:
little with cptlaw's default form, whose terms were chosen on grids that have them; what they give is that
``cptlaw select`` can see those terms on a user's own runs).  A run's kind is read from its LR schedule alone
(:func:`kinds_of`), so the coverage check works on any data cptlaw reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Run, RunSet
from .errors import CptlawError

# a run "decays" / "was annealed" / "re-warms" when its LR falls (or starts) below this share of its peak
LOW = 0.5


@dataclass(frozen=True)
class PilotKind:
    key: str
    run: str
    pins: str
    starting: bool  # in the starting set of five


KINDS = (
    PilotKind("pt_constant", "PT at a constant LR to the end of PT", "L0, A, alpha (the PT power law)", True),
    PilotKind("pt_annealed", "the same PT, annealed at its end (WSD)", "C1 (PT annealing)", True),
    PilotKind("cpt_constant", "CPT at a constant LR from the constant PT, at transfer T",
              "B, E, beta (the distribution shift, without CPT annealing)", True),
    PilotKind("cpt_decaying", "CPT with a decaying LR (cosine) from the constant PT, at transfer T",
              "C2 (CPT annealing)", True),
    PilotKind("second_transfer", "CPT (cosine) from the constant PT at an earlier transfer point, T/2",
              "w (a PT step's weight in the forward area) and alpha", True),
    PilotKind("from_annealed", "CPT (re-warmed cosine) from the annealed PT checkpoint",
              "pt_credit: whether the PT annealing credit fades as the shift proceeds", False),
    PilotKind("rewarmup", "CPT re-warming its LR from 0 (cosine), from the constant PT at transfer T",
              "the shift's clock: CPT area, steps or square-root LR (shift)", False),
)


def kinds_of(run: Run) -> set[str]:
    """The pilot kinds one run is, read from its LR schedule (a PT-only run: constant or annealed; a CPT run: its
    CPT shape and where it starts).  The transfer-point kind is decided over a set (:func:`coverage`)."""
    lr = np.asarray(run.lr, float)
    peak = float(lr.max()) if lr.size else 0.0
    if peak <= 0:
        return set()
    if not run.is_cpt:
        return {"pt_annealed" if lr[-1] < LOW * peak else "pt_constant"}
    t = run.transfer
    pt, cpt = lr[:t], lr[t:]
    out = set()
    pt_peak = float(pt.max()) if pt.size else peak
    if pt.size and pt[-1] < LOW * pt_peak:
        out.add("from_annealed")
    cpt_peak = float(cpt.max())
    head = cpt[: max(1, cpt.size // 20)]
    if cpt_peak > 0 and head[0] < LOW * cpt_peak and np.any(np.diff(head) > 0):
        out.add("rewarmup")
    if cpt[-1] < LOW * cpt_peak:
        out.add("cpt_decaying")
    elif "rewarmup" not in out:
        out.add("cpt_constant")
    return out


def coverage(runs: RunSet, names: list[str] | None = None) -> dict[str, list[str]]:
    """Per pilot kind, the runs among ``names`` that are of it (empty: a pilot to train).  A second transfer point
    is covered when CPT runs from a non-annealed PT start at two or more distinct steps."""
    chosen = runs.select(names)
    out: dict[str, list[str]] = {k.key: [] for k in KINDS}
    transfers: dict[int, list[str]] = {}
    for run in chosen:
        ks = kinds_of(run)
        for k in ks:
            out[k].append(run.name)
        if run.is_cpt and "from_annealed" not in ks:
            transfers.setdefault(int(run.transfer_step), []).append(run.name)
    if len(transfers) >= 2:
        steps = sorted(transfers)
        out["second_transfer"] = [n for s in steps[:-1] for n in transfers[s]]
    return out


def sweep(*, pt_steps: int, cpt_steps: int, peak_lr: float, domain: str, warmup: int | None = None,
          replay: float = 0.25, model: dict | None = None, name: str = "pilots", kinds: list[str] | None = None) -> dict:
    """A ``cptlaw pilot sweep`` file (as a dict) that trains the pilots of ``kinds`` (default: all seven) with the
    PT and CPT lengths and peak LR given: transfer T = pt_steps / 2 (T/2 for the second transfer point), PT
    annealing over the last 20% of PT to a tenth of the peak, CPT decays to a tenth of the peak, re-warmups over
    the first 10% of CPT."""
    if pt_steps < 8 or cpt_steps < 10:
        raise CptlawError("pilots: --pt-steps must be at least 8 and --cpt-steps at least 10")
    if not peak_lr > 0:
        raise CptlawError("pilots: --peak-lr must be positive")
    kinds = list(kinds or [k.key for k in KINDS])
    bad = [k for k in kinds if k not in {x.key for x in KINDS}]
    if bad:
        raise CptlawError(f"pilots: unknown kind(s) {', '.join(bad)}; kinds: {', '.join(k.key for k in KINDS)}")
    warmup = max(1, pt_steps // 20) if warmup is None else int(warmup)
    t = pt_steps // 2
    if warmup >= t // 2:
        raise CptlawError(f"pilots: the PT warmup ({warmup} steps) must end before the earlier transfer point, "
                          f"step {t // 2} (a quarter of --pt-steps {pt_steps})")
    rewarm = max(1, cpt_steps // 10)
    floor = 0.1 * peak_lr
    pt = {"const": {"kind": "warmup", "steps": warmup, "schedule": {"kind": "constant", "lr": peak_lr}},
          "wsd": {"kind": "warmup", "steps": warmup,
                  "schedule": {"kind": "wsd", "peak": peak_lr, "steps": pt_steps - warmup,
                               "decay_steps": max(1, pt_steps // 5), "floor": floor, "shape": "linear"}}}
    cpt = {"constant": {"kind": "constant", "lr": peak_lr},
           "cosine": {"kind": "cosine", "peak": peak_lr, "steps": cpt_steps, "floor": floor},
           "rewarm_cosine": {"kind": "warmup", "steps": rewarm,
                             "schedule": {"kind": "cosine", "peak": peak_lr, "steps": cpt_steps - rewarm,
                                          "floor": floor}}}
    grids = []
    at_t = [s for k, s in (("cpt_constant", "constant"), ("cpt_decaying", "cosine"), ("rewarmup", "rewarm_cosine"))
            if k in kinds]
    if at_t:
        grids.append({"pt": ["const"], "transfer": [t], "schedule": at_t, "replay": [replay]})
    if "second_transfer" in kinds:
        grids.append({"pt": ["const"], "transfer": [max(1, t // 2)], "schedule": ["cosine"], "replay": [replay]})
    if "from_annealed" in kinds:
        grids.append({"pt": ["wsd"], "transfer": [pt_steps], "schedule": ["rewarm_cosine"], "replay": [replay]})
    transfers = sorted({x for g in grids for x in g["transfer"]} | {pt_steps})
    return {"name": name, "out": f"pilot-runs/{name}",
            "common": {"batch_size": 16, "seed": 0, "eval_every": max(1, cpt_steps // 40), "eval_tokens": 16384,
                       "val": ["general", domain], "checkpoint_every": max(1, pt_steps // 4)},
            "models": {"s": model or {"vocab_size": 4096, "d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 352,
                                      "seq_len": 128}},
            "pt": {"steps": pt_steps, "transfers": transfers, "schedules": pt},
            "cpt": {"steps": cpt_steps, "domains": [domain], "schedules": cpt, "grids": grids}}


def kind_lines(cover: dict[str, list[str]] | None = None) -> list[str]:
    """The pilot kinds as a table: what each run is and what it pins down; with ``cover``, which runs have it."""
    lines = [f"  {'pilot':<16s} {'starting set':<12s} {'pins down':<60s}" + ("  your runs" if cover else "")]
    for k in KINDS:
        have = ""
        if cover is not None:
            have = "  " + (", ".join(cover[k.key]) if cover[k.key] else "MISSING: train it next")
        lines.append(f"  {k.key:<16s} {'yes' if k.starting else 'add':<12s} {k.pins:<60s}{have}")
        lines.append(f"  {'':<16s} {'':<12s} ({k.run})")
    return lines
