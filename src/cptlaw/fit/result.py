"""The saved fit: parameters, objective, diagnostics, conventions, data hash and versions, as JSON."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pydantic
import scipy
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import __version__
from ..data import atomic_write_text
from ..errors import FitFileError
from ..evaluate import overall, per_run_metrics
from ..laws import LAWS, Law, make_law

FORMAT = "cptlaw-fit"
FORMAT_VERSION = 2  # v2 adds "diagnostics"; v1 files still load


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
    r2: Optional[float]
    mae: float
    rmse: float
    pred_e: float
    worst_e: float
    n: int


class FitResult(BaseModel):
    """A fitted law. ``law()`` rebuilds the estimator; ``save``/``load`` round-trip through JSON."""

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
    overall: Metrics
    starts: dict[str, Any]
    diagnostics: dict[str, Any] = Field(default_factory=dict)
    uncertainty: dict[str, Any] = Field(default_factory=dict)  # bootstrap samples and intervals, if asked for
    data_hash: str
    data_source: str = ""
    versions: dict[str, str] = Field(default_factory=dict)
    elapsed_s: float = 0.0

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _parameters_are_usable(self):
        """A fit whose parameters are not finite, disagree with their records or break their bounds predicts
        nonsense: refuse it when it is built or loaded."""
        for name, value in self.params.items():
            if not math.isfinite(value):
                raise ValueError(f"parameter {name} = {value} is not finite")
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

    def law(self) -> Law:
        """The fitted law (``params_`` set), ready to ``predict``."""
        kwargs = {k: v for k, v in self.options.items() if k != "lr_units"}
        law = make_law(self.law_name, **kwargs)
        law.params_ = dict(self.params)
        law.result_ = self
        return law

    @property
    def degenerate(self) -> list[str]:
        return list(self.starts.get("degenerate", []))

    @property
    def warnings(self) -> list[str]:
        """One readable line per diagnostic problem (bounds, unidentified directions, caps, start spread)."""
        out = list(self.diagnostics.get("warnings", []))
        if self.degenerate:
            out.append("starts within 1% of the best objective disagree by >10% on: " + ", ".join(self.degenerate))
        return list(dict.fromkeys(out))  # (two unidentified directions can name the same parameter)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), indent=2, allow_nan=False) + "\n"

    def save(self, path: str | Path, force: bool = False) -> Path:
        return atomic_write_text(path, self.to_json(), force=force)

    @classmethod
    def load(cls, path: str | Path) -> "FitResult":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FitFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FitFileError(f"{path}: not a JSON fit file: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise FitFileError(f"{path}: not a cptlaw fit file (missing \"format\": \"{FORMAT}\")")
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise FitFileError(f"{path}: fit format v{data.get('format_version')} is newer than this cptlaw reads")
        if data.get("law") not in LAWS:
            raise FitFileError(f"{path}: unknown law {data.get('law')!r}")
        try:
            fit = cls.model_validate(data)
            law = fit.law()  # options and parameters must fit the law
            if list(fit.params) != law.param_names:
                raise ValueError(f"parameters {', '.join(fit.params)} are not those of the {fit.law_name} law "
                                 f"({', '.join(law.param_names)})")
        except (pydantic.ValidationError, TypeError, ValueError) as exc:
            raise FitFileError(f"{path}: invalid fit file: {exc}") from None
        return fit


def _finite_or_none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def _clean(obj):
    """Replace non-finite floats by None so the JSON stays standard."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return _finite_or_none(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def build_result(*, law, params, theta, design, yhat, objective, delta, target, data_hash, data_source, starts,
                 elapsed, diagnostics=None, uncertainty=None) -> FitResult:
    per_run = per_run_metrics(design.run_names, design.run_index, design.y, yhat)
    return FitResult(
        law=law.name, citation=law.citation, target=target, options=_clean(law.options()),
        params={p.name: float(v) for p, v in zip(params, theta)},
        parameters={p.name: ParamRecord(value=float(v), lower=_finite_or_none(p.lower), upper=_finite_or_none(p.upper),
                                        log=p.log, sign=p.sign, doc=p.doc) for p, v in zip(params, theta)},
        objective=float(objective), delta=float(delta), n_points=design.n, runs=list(design.run_names),
        metrics={k: Metrics(**_clean(v)) for k, v in per_run.items()}, overall=Metrics(**_clean(overall(per_run))),
        starts=_clean(starts), diagnostics=_clean(diagnostics or {}), uncertainty=_clean(uncertainty or {}), data_hash=data_hash, data_source=data_source,
        versions={"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                  "pydantic": pydantic.__version__},
        elapsed_s=float(elapsed),
    )
