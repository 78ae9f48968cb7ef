"""The laws: each a small class whose ``value`` reads like its paper's equation, fitted in place (``fit`` returns
the law, with ``params_`` and the saved fit ``result_``).

======================  =====================================================================
``AnnealingLaw``        Tissue et al. 2024, L0 + A*S1^-alpha - C*S2 (+ model size, Eq. 7)
``CPTLaw``              Wang, Tissue et al. 2025, Eq. 4 (+ model size Eq. 7, replay ratio Eq. 8)
``MultiPowerLaw``       Luo et al. 2025, multi-power law (a baseline)
``DCPTLaw``             Que et al. 2024, D-CPT law L3 over (N, D, r)
``CrossDomainDCPTLaw``  Que et al. 2024, the Cross-Domain D-CPT law (K from a probe run)
``OODLaw``              Wang, Tissue et al. 2025, Eq. 6 (an out-of-domain set from two fits)
======================  =====================================================================

``load(path)`` reads a saved fit back as a fitted law; ``from_result`` does so for a record in memory and
``from_params`` for given (e.g. published) coefficients.
"""

from pathlib import Path

from ..errors import CptlawError, FitFileError
from ..fit import FitResult
from .annealing import AnnealingLaw
from .base import AreaLaw, Design, Law, Parameter, check_values
from .cpt import CPTLaw
from .dcpt import DCPTLaw
from .dcpt_cross import CrossDomainDCPTLaw
from .mpl import MultiPowerLaw
from .ood import CURVE_LAWS, OODLaw

LAWS = {cls.name: cls for cls in (AnnealingLaw, CPTLaw, MultiPowerLaw, DCPTLaw, CrossDomainDCPTLaw, OODLaw)}


def make_law(name: str, **options) -> Law:
    """A law by its short name (a key of :data:`LAWS`) with its options; options that do not go together are a
    :class:`CptlawError` (the CLI's clear error), not the constructor's ValueError."""
    try:
        cls = LAWS[name]
    except KeyError:
        raise ValueError(f"unknown law {name!r}; choose one of {', '.join(LAWS)}") from None
    try:
        return cls(**options)
    except ValueError as exc:
        raise CptlawError(f"{name} law: {exc}") from None


def from_result(result: FitResult) -> Law:
    """The fitted law of a saved fit: built with the recorded options, ``params_`` and ``result_`` set."""
    law = make_law(result.law_name, **result.law_options)
    if list(result.params) != law.param_names:
        raise ValueError(f"parameters {', '.join(result.params)} are not those of the {result.law_name} law "
                         f"({', '.join(law.param_names)})")
    law.params_ = dict(result.params)
    law.result_ = result
    return law


def from_params(name: str, params: dict[str, float], target: str = "", **options) -> Law:
    """A fitted law from given coefficients (e.g. a paper's published fit), with a record that says so: no data,
    so no diagnostics, no fitted input ranges (nothing is flagged as an extrapolation) and no scores."""
    law = make_law(name, **options)
    missing = [p.name for p in law.parameters() if p.name not in params]
    if missing:
        raise ValueError(f"the {name} law needs the parameter(s) {', '.join(missing)}")
    theta = law.theta(params)
    law.result_ = FitResult.of_params(law, law.parameters(), theta, target)
    law.params_ = dict(law.result_.params)
    return law


def load(path: str | Path) -> Law:
    """Read a saved fit (JSON) as a fitted law, ready to predict, evaluate and plan with.  Fits saved by every
    earlier cptlaw format version load; a corrupt or foreign file is a :class:`~cptlaw.errors.FitFileError`."""
    result = FitResult.read(path, laws=LAWS)
    try:
        law = from_result(result)  # options and parameters must fit the law
        if isinstance(law, AreaLaw):
            law.area_options  # the area conventions (lam, warmup, ...) are checked when they are built
        return law
    except (TypeError, ValueError) as exc:
        raise FitFileError(f"{path}: invalid fit file: {exc}") from None


__all__ = ["AnnealingLaw", "AreaLaw", "CPTLaw", "CURVE_LAWS", "CrossDomainDCPTLaw", "DCPTLaw", "Design", "Law", "LAWS", "MultiPowerLaw", "OODLaw",
           "Parameter", "check_values", "from_params", "from_result", "load", "make_law"]
