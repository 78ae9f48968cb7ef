"""The saved fit, a record (as lmfit's ``MinimizerResult``): parameters with their bounds, objective, diagnostics,
conventions, data hash and versions, as JSON.  It knows no law: :func:`cptlaw.laws.load` turns a saved fit back
into a fitted law, the one handle every consumer takes."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any, Collection, Optional

import numpy as np
import pydantic
import scipy
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from .._version import __version__
from ..errors import FitFileError, validation_message
from ..limits import MAX_PARAMETER
from ..io import atomic_write_text, read_json
from .metrics import metrics, overall, per_run_metrics
from .problem import Model

FORMAT = "cptlaw-fit"
FORMAT_VERSION = 3  # v2 adds "diagnostics", v3 "pooled" and the CPT law's form options; v1, v2 files still load


class ParamRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float
    lower: Optional[float] = None  # None = unbounded
    upper: Optional[float] = None
    log: bool = False
    sign: str = "free"
    doc: str = ""


class Metrics(BaseModel):
    model_config = ConfigDict(extra="forbid")
    r2: Optional[float]  # None: not defined (one point), or no data (a law from given coefficients)
    mae: Optional[float]
    rmse: Optional[float]
    pred_e: Optional[float]
    worst_e: Optional[float]
    n: int


class Diagnostics(BaseModel):
    """What a user must know before trusting a fit (:mod:`cptlaw.fit.diagnostics` says how each is computed).  A
    law's own fit adds its blocks: ``lam_selection`` (``lam="fit"``), ``probes`` (the cross-domain law's probe runs),
    ``per_run_coefficients`` and ``coefficient_spread`` (an OOD fit, which has no other diagnostics), and the CLI
    or demo ``suggested_runs`` (:mod:`cptlaw.suggest`).  Saved with the blocks a fit has, and nothing else."""

    model_config = ConfigDict(extra="allow")  # (a block this version does not know is kept, not refused)
    at_bound: list[dict[str, Any]] = Field(default_factory=list)
    unidentified: list[dict[str, Any]] = Field(default_factory=list)
    stderr: dict[str, Optional[float]] = Field(default_factory=dict)
    residual_scale: Optional[float] = None
    converged: bool = True
    caps: dict[str, Any] = Field(default_factory=dict)
    input_ranges: dict[str, list[float]] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    lam_selection: Optional[dict[str, Any]] = None
    suggested_runs: Optional[list[dict[str, Any]]] = None
    probes: Optional[dict[str, str]] = None
    per_run_coefficients: Optional[dict[str, list[float]]] = None
    coefficient_spread: Optional[dict[str, dict[str, float]]] = None
    selection: Optional[dict[str, Any]] = None  # cptlaw select: the cross-validation table and the rule


class Uncertainty(BaseModel):
    """A fit's bootstrap (:mod:`cptlaw.fit.bootstrap`): the refitted parameter sets, their intervals at ``level``,
    and the residual quantiles that widen curves into prediction intervals."""

    model_config = ConfigDict(extra="forbid")
    method: str
    n: int
    seed: int
    block: Optional[int] = None
    level: float
    intervals: dict[str, list[Optional[float]]]
    samples: list[list[Optional[float]]]
    residuals: str
    residual_quantiles: list[Optional[float]]
    capped: int = 0
    elapsed_s: float = 0.0


class FitResult(BaseModel):
    """The record of a fit; ``save``/``read`` round-trip through JSON (:func:`cptlaw.laws.load` gives the law)."""

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    cptlaw_version: str = __version__
    law_name: str = Field(alias="law")
    citation: str = ""
    target: str
    options: dict[str, Any]
    params: dict[str, float]
    parameters: dict[str, ParamRecord]
    objective: float
    delta: float
    n_points: int
    runs: list[str]
    metrics: dict[str, Metrics]
    overall: Metrics  # the mean over runs of each run's metrics (each curve weighs the same; the MPL paper's)
    pooled: Optional[Metrics] = None  # over every fitted row pooled (R²: the CPT paper's metric); v1-v2 files lack it
    starts: dict[str, Any]
    diagnostics: Diagnostics = Field(default_factory=Diagnostics)
    uncertainty: Optional[Uncertainty] = None  # the bootstrap, if asked for (saved as {} when not)
    data_hash: str
    data_source: str = ""
    versions: dict[str, str] = Field(default_factory=dict)
    elapsed_s: float = 0.0

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("uncertainty", mode="before")
    @classmethod
    def _no_bootstrap(cls, value):
        return None if value == {} else value  # (how a fit without a bootstrap is saved)

    @field_serializer("diagnostics")
    def _diagnostics_it_has(self, d: Diagnostics):
        return d.model_dump(exclude_unset=True)

    @field_serializer("uncertainty")
    def _uncertainty_or_empty(self, u: Optional[Uncertainty]):
        return {} if u is None else u.model_dump()

    @model_validator(mode="after")
    def _parameters_are_usable(self):
        """A fit whose parameters are not finite, disagree with their records or break their bounds predicts
        nonsense: refuse it when it is built or loaded."""
        for name, value in self.params.items():
            if not math.isfinite(value):
                raise ValueError(f"parameter {name} = {value} is not finite")
            if abs(value) > MAX_PARAMETER:
                raise ValueError(f"parameter {name} = {value:g} is beyond any value a fit reaches (|value| > "
                                 f"{MAX_PARAMETER:g}): an edited or corrupt fit")
            rec = self.parameters.get(name)
            if rec is None:
                raise ValueError(f"parameter {name} has no record in 'parameters'")
            if rec.value != value:
                raise ValueError(f"parameter {name}: 'params' says {value}, 'parameters' says {rec.value}")
            tol = 1e-9 * (1.0 + abs(value))
            if (rec.lower is not None and value < rec.lower - tol) or (rec.upper is not None and value > rec.upper + tol):
                raise ValueError(f"parameter {name} = {value} is outside its bounds [{rec.lower}, {rec.upper}]")
        if set(self.parameters) != set(self.params):
            raise ValueError("'params' and 'parameters' name different parameters")
        return self

    @property
    def degenerate(self) -> list[str]:
        return list(self.starts.get("degenerate", []))

    @property
    def warnings(self) -> list[str]:
        """One readable line per diagnostic problem (bounds, unidentified directions, caps, start spread)."""
        out = list(self.diagnostics.warnings)
        if self.degenerate:
            out.append("starts within 1% of the best objective disagree by >10% on: " + ", ".join(self.degenerate))
        return list(dict.fromkeys(out))  # (two unidentified directions can name the same parameter)

    def to_json(self) -> str:
        return json.dumps(jsonable(self.model_dump(by_alias=True)), indent=2, allow_nan=False) + "\n"

    def save(self, path: str | Path, force: bool = False) -> Path:
        return atomic_write_text(path, self.to_json(), force=force)

    @classmethod
    def of_params(cls, law: Model, params: list, theta, target: str = "") -> "FitResult":
        """The record of given coefficients (no data: no points, scores or diagnostics)."""
        nan = Metrics(r2=None, mae=None, rmse=None, pred_e=None, worst_e=None, n=0)
        return cls(law=law.name, citation=law.citation, target=target, options=jsonable(law.options()),
                   params={p.name: float(v) for p, v in zip(params, theta)},
                   parameters=_param_records(params, theta), objective=0.0, delta=0.0, n_points=0, runs=[],
                   metrics={}, overall=nan, starts={"method": "given coefficients (not fitted)"},
                   data_hash="", data_source="given coefficients", versions=_versions())

    @property
    def law_options(self) -> dict:
        """The law's constructor options (:func:`constructor_options` of the recorded conventions)."""
        return constructor_options(self.options)

    @classmethod
    def read(cls, path: str | Path, laws: Collection[str] | None = None) -> "FitResult":
        """Read and validate a saved fit (format, version, ``laws``: the law names known, parameters within
        their bounds); the law's own checks (its options and parameter names) are :func:`cptlaw.laws.load`'s."""
        path = Path(path)
        data = read_json(path, FitFileError, "a JSON fit file")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise FitFileError(f"{path}: not a cptlaw fit file (missing \"format\": \"{FORMAT}\")")
        if not isinstance(data.get("format_version", 0), int) or not isinstance(data.get("law"), str):
            raise FitFileError(f"{path}: invalid fit file: format_version must be a whole number and law a name")
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise FitFileError(f"{path}: fit format v{data.get('format_version')} is newer than this cptlaw reads")
        if laws is not None and data.get("law") not in laws:
            raise FitFileError(f"{path}: unknown law {data.get('law')!r}")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise FitFileError(f"{path}: invalid fit file: {validation_message(exc)}") from None
        except (TypeError, ValueError) as exc:
            raise FitFileError(f"{path}: invalid fit file: {exc}") from None


def _finite_or_none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def jsonable(obj):
    """``obj`` with non-finite floats as None and numpy scalars as Python numbers, so the JSON stays standard."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return _finite_or_none(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def constructor_options(options: dict) -> dict:
    """A law's constructor options from its recorded conventions (less ``lr_units``, which is informational)."""
    return {k: v for k, v in options.items() if k != "lr_units"}


def _param_records(params, theta) -> dict[str, ParamRecord]:
    return {p.name: ParamRecord(value=float(v), lower=_finite_or_none(p.lower), upper=_finite_or_none(p.upper),
                                log=p.log, sign=p.sign, doc=p.doc) for p, v in zip(params, theta)}


def _versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "pydantic": pydantic.__version__}


def build_result(*, law: Model, params, theta, design, yhat, objective, delta, target, data_hash, data_source, starts,
                 elapsed, diagnostics=None, uncertainty=None) -> FitResult:
    per_run = per_run_metrics(design.run_names, design.run_index, design.y, yhat)
    return FitResult(
        law=law.name, citation=law.citation, target=target, options=jsonable(law.options()),
        params={p.name: float(v) for p, v in zip(params, theta)}, parameters=_param_records(params, theta),
        objective=float(objective), delta=float(delta), n_points=design.n, runs=list(design.run_names),
        metrics={k: Metrics(**jsonable(v)) for k, v in per_run.items()}, overall=Metrics(**jsonable(overall(per_run))),
        pooled=Metrics(**jsonable(metrics(design.y, yhat))),
        starts=jsonable(starts), diagnostics=Diagnostics(**jsonable(diagnostics or {})),
        uncertainty=Uncertainty(**jsonable(uncertainty)) if uncertainty else None, data_hash=data_hash, data_source=data_source,
        versions=_versions(),
        elapsed_s=float(elapsed),
    )
