"""The laws: each a small class whose ``value`` reads like its paper's equation.

=================  ==========================================================================
``AnnealingLaw``   Tissue et al. 2024, L0 + A*S1^-alpha - C*S2 (+ model size, Eq. 7)
``CPTLaw``         Wang, Tissue et al. 2025, Eq. 4 (+ model size Eq. 7, replay ratio Eq. 8)
``MultiPowerLaw``  Luo et al. 2025, multi-power law (a baseline)
``DCPTLaw``        Que et al. 2024, D-CPT law L3 over (N, D, r)
=================  ==========================================================================
"""

from .annealing import AnnealingLaw
from .base import AreaLaw, Design, Law, Parameter
from .cpt import CPTLaw
from .dcpt import DCPTLaw
from .dcpt_cross import CrossDomainDCPTLaw
from .mpl import MultiPowerLaw
from .ood import OODLaw

LAWS = {cls.name: cls for cls in (AnnealingLaw, CPTLaw, MultiPowerLaw, DCPTLaw, CrossDomainDCPTLaw, OODLaw)}
CURVE_LAWS = ("annealing", "cpt", "mpl")  # the laws of a loss curve under an LR schedule (ood, watch use them)


def make_law(name: str, **options) -> Law:
    """A law by its short name (``annealing``, ``cpt``, ``mpl``, ``dcpt``) with its options."""
    try:
        cls = LAWS[name]
    except KeyError:
        raise ValueError(f"unknown law {name!r}; choose one of {', '.join(LAWS)}") from None
    return cls(**options)


__all__ = ["AnnealingLaw", "AreaLaw", "CPTLaw", "CURVE_LAWS", "CrossDomainDCPTLaw", "DCPTLaw", "Design", "Law", "LAWS", "MultiPowerLaw", "OODLaw",
           "Parameter", "make_law"]
