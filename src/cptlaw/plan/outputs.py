"""The planner's answer as files: one JSON document for programs, CSV tables of the best candidates and of the
Pareto front, the recommended plans' schedule YAML (for ``cptlaw predict --schedule``; with a ``pilot``
section, also a ``cptlaw pilot run`` config), and figures.  Nothing is overwritten without ``force``; every
file is written atomically and only after all of them have been computed."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .._version import __version__
from ..canvas import save_figure
from ..errors import CptlawError, validation_message
from ..fit.result import jsonable
from ..io import atomic_write_text, read_json
from ..predict import extrapolation_detail, rows_to_csv
from .dynamics import dynamics
from .features import candidate_design
from .figures import plan_figures
from .search import plan
from .space import Candidate, Space

TOP_COLUMNS = ("objective", "rank", "score", "general", "domain", "general_change", "domain_change",
               "loss_potential", "pt", "transfer", "family", "peak_lr", "rewarmup_steps", "rewarmup_from", "floor",
               "decay_fraction", "decay_shape", "steps", "tokens", "replay", "model_size", "extrapolated")


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _sha256(path: str) -> str | None:
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if path and p.is_file() else None


def candidate_row(space: Space, cands: list[Candidate], pred: dict, i: int) -> dict:
    c = cands[i]
    tps = space.constraints.tokens_per_step
    row = {**asdict(c), "loss_potential": space.loss_potential(c),
           "general": float(pred["general"][i]), "domain": float(pred["domain"][i]),
           "general_at_transfer": float(pred["general_at_transfer"][i]),
           "domain_at_transfer": float(pred["domain_at_transfer"][i]),
           "tokens": c.steps * tps if tps else None, "extrapolated": pred["extrapolated"][i]}
    row["general_change"] = row["general"] - row["general_at_transfer"]
    row["domain_change"] = row["domain"] - row["domain_at_transfer"]
    return row


def build(general, domain, space: Space, top: int = 10, horizon: int | None = None,
          sources: dict[str, str] | None = None) -> tuple[dict, dict]:
    """Search the space: the whole answer as one JSON-ready document, and :func:`plan`'s arrays."""
    t0 = time.perf_counter()
    res = plan(general, domain, space)
    cands, pred, ok = res["candidates"], res["predictions"], res["feasible"]
    laws = {"general": general, "domain": domain}
    recs, tops = [], []
    for ch in res["choices"]:
        score = ch["w_general"] * pred["general"] + ch["w_domain"] * pred["domain"]
        order = np.flatnonzero(ok)[np.argsort(score[ok], kind="stable")][:top]
        for rank, i in enumerate(order, 1):
            tops.append({"objective": ch["objective"], "rank": rank, "score": float(score[i]),
                         **candidate_row(space, cands, pred, int(i))})
        rec = {"objective": ch["objective"], "w_general": ch["w_general"], "w_domain": ch["w_domain"],
               "feasible": ch["best"] is not None}
        if ch["best"] is not None:
            i = ch["best"]
            c = cands[i]
            rec["plan"] = candidate_row(space, cands, pred, i)
            rec["score"] = float(score[i])
            rec["extrapolation"] = {label: extrapolation_detail(law, candidate_design(law, space, [c]))
                                    for label, law in laws.items()}  # (each fit's own form: its own design)
            rec["dynamics"] = dynamics(laws["general"], laws["domain"], space, c,
                                       [(ch["objective"], ch["w_general"], ch["w_domain"])], horizon)
            rec["schedule_document"] = space.plan_document(c, f"recommended-{_label(ch['objective'])}")
            pilot = space.pilot_document(c, f"recommended-{_label(ch['objective'])}")
            if pilot is not None:
                rec["pilot_document"] = pilot
        recs.append(rec)
    pareto = [candidate_row(space, cands, pred, int(i)) for i in res["pareto"]]
    fits = {}
    for label, law in laws.items():
        fit = law.result_
        fits[label] = {"source": (sources or {}).get(label), "law": fit.law_name, "target": fit.target,
                       "options": fit.options, "data_hash": fit.data_hash, "runs": list(fit.runs),
                       "cpt_peak_lr_seen": fit.diagnostics.input_ranges.get("lr_peak_cpt")}
    return {
        "cptlaw_version": __version__,
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "space": {"source": space.source, "sha256": _sha256(space.source), "knobs": space.knobs, "lambda1": space.lambda1, "ood": space.ood,
                  "constraints": space.constraints.model_dump(), "pt_schedules": list(space.pts),
                  "pilot": space.pilot},
        "fits": fits,
        "n_candidates": len(cands), "space_size": space.size, "exhaustive": res["exhaustive"],
        "n_feasible": int(ok.sum()), "removed_by": res["removed"],
        "recommendations": recs, "top": tops, "pareto": pareto,
        "elapsed_s": time.perf_counter() - t0,
    }, res


def summary_lines(doc: dict) -> list[str]:
    """A short human summary of a plan document (what ``cptlaw plan`` prints)."""
    searched = "" if doc["exhaustive"] else f" searched coarse-to-fine in a space of {doc['space_size']:,}"
    lines = [f"{doc['n_candidates']:,} candidate plans{searched}, {doc['n_feasible']:,} feasible "
             f"({', '.join(f'{k}: -{v}' for k, v in doc['removed_by'].items() if v) or 'no constraint binds'}); "
             f"Pareto front: {len(doc['pareto'])} plans; {doc['elapsed_s']:.2f} s"]
    guarded = doc["removed_by"].get("no_extrapolation:peak_lr", 0)
    for rec in doc["recommendations"]:
        if not rec["feasible"]:
            lines.append(f"{rec['objective']}: no candidate meets the constraints")
            if guarded:
                seen = [f["cpt_peak_lr_seen"] for f in doc["fits"].values() if f.get("cpt_peak_lr_seen")]
                where = (f" the fits saw CPT peak LRs in [{max(r[0] for r in seen):.4g}, {min(r[1] for r in seen):.4g}];"
                         if seen else "")
                lines.append(f"  ({guarded} plan(s) need a CPT peak LR the fits did not see:{where} search a peak inside "
                             "that range, fit on runs at more peaks, or set constraints.allow_extrapolation: [peak_lr] "
                             "(a fit does not transfer across peak LRs: docs/accuracy-peak-lr.md))")
            continue
        p, dyn = rec["plan"], rec["dynamics"]
        tl = dyn["turning_length"]["general"]["steps"]
        tl = "never within the horizon" if tl is None else f"{tl} steps"
        lines.append(f"{rec['objective']}: from {p['pt']}@{p['transfer']} (loss potential "
                     f"{100 * p['loss_potential']:.0f}%), {p['family']} CPT, peak LR {p['peak_lr']:.3g}, "
                     f"re-warmup {p['rewarmup_steps']} from {p['rewarmup_from']}, {p['steps']} steps"
                     + (f", replay {p['replay']:g}" if p["replay"] is not None else "")
                     + f" -> general {p['general']:.4f} ({p['general_change']:+.4f}), domain {p['domain']:.4f} "
                     f"({p['domain_change']:+.4f}); general loss {dyn['pattern_text'].split('loss ', 1)[1]}; "
                     f"turning length {tl}")
        if dyn["shift_saturation_at_end"] < 0.5:
            lines.append(f"  note: the general fit's shift term is {100 * dyn['shift_saturation_at_end']:.0f}% "
                         f"saturated at the plan's end, so its critical point ({dyn['critical_point']:.4g}) lies "
                         "far beyond the data; read pre-/post-critical with care")
        for label, items in rec["extrapolation"].items():
            for e in items:
                by = f"{e['by']:.3g}x" if e["by"] is not None else f"{e['distance']:.3g}"
                lines.append(f"  warning: extrapolation ({label} fit): {e['input']} = {e['value']:.4g} lies {by} "
                             f"{e['side']} the range the fit saw [{e['seen'][0]:.4g}, {e['seen'][1]:.4g}]")
    return lines


def files(doc: dict, res: dict, space: Space, general, domain) -> dict[str, str | object]:
    """Every output as {file name: text, or a matplotlib figure}."""
    out: dict[str, str | object] = {"plan.json": json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n",
                                     "top.csv": rows_to_csv(doc["top"], TOP_COLUMNS),
                                     "pareto.csv": rows_to_csv(doc["pareto"], TOP_COLUMNS[3:])}
    for rec in doc["recommendations"]:
        if rec["feasible"]:
            stem = f"recommended_{_label(rec['objective'])}"
            out[f"{stem}.yaml"] = yaml.safe_dump(rec["schedule_document"], sort_keys=False)
            if "pilot_document" in rec:
                out[f"{stem}.pilot.yaml"] = yaml.safe_dump(rec["pilot_document"], sort_keys=False)
    out.update(plan_figures(doc, res, space, general, domain))
    return out


def write(out_dir: str | Path, outputs: dict, force: bool = False) -> list[Path]:
    """Write every output into ``out_dir`` (refusing, before writing anything, to overwrite without force)."""
    out_dir = Path(out_dir)
    existing = [n for n in outputs if (out_dir / n).exists()]
    if existing and not force:
        raise FileExistsError(f"{out_dir}: {', '.join(existing)} exist(s); use --force to overwrite")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, item in outputs.items():
        path = out_dir / name
        if isinstance(item, str):
            atomic_write_text(path, item, force=True)
        else:
            save_figure(item, path, force=True)
        written.append(path)
    return written


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Planned(_Open):
    """A recommended plan: the fields a reader of plan.json (the report) uses, typed."""

    pt: str
    transfer: int
    family: str
    peak_lr: float
    rewarmup_steps: int
    steps: int
    replay: Optional[float] = None
    general: float
    general_change: float
    domain: float
    domain_change: float


class _Outside(_Open):
    input: str
    value: float
    seen: tuple[float, float]


class _Recommendation(_Open):
    objective: str
    feasible: bool
    plan: Optional[_Planned] = None
    dynamics: dict[str, Any] = {}
    extrapolation: dict[str, list[_Outside]] = {}

    @model_validator(mode="after")
    def _a_feasible_one_has_its_plan(self):
        if self.feasible and self.plan is None:
            raise ValueError("a feasible recommendation without its plan")
        return self


class _FrontPoint(_Open):
    general: float
    domain: float


class _PlanFit(_Open):
    target: Optional[str] = None


class PlanDocument(_Open):
    """What plan.json must hold for cptlaw to read it back (the report): an edited or foreign file is refused
    with the field that is wrong, not a traceback."""

    recommendations: list[_Recommendation]
    pareto: list[_FrontPoint] = []
    fits: dict[str, _PlanFit] = {}
    n_candidates: Optional[int] = None
    n_feasible: Optional[int] = None
    removed_by: dict[str, int] = {}


def read_plan(path: str | Path, source: str | None = None) -> dict:
    """A plan.json written by :func:`write` (``cptlaw plan``), checked to be one (:class:`PlanDocument`);
    ``source`` names it in errors."""
    source = source or str(path)
    doc = read_json(path, CptlawError, "a JSON plan (cptlaw plan writes plan.json)", shown=source)
    if not isinstance(doc, dict) or "recommendations" not in doc:
        raise CptlawError(f"{source}: not a cptlaw plan.json (no 'recommendations')")
    try:
        PlanDocument.model_validate(doc)
    except ValidationError as exc:
        raise CptlawError(f"{source}: not a plan.json cptlaw can read: {validation_message(exc)}") from None
    return doc
