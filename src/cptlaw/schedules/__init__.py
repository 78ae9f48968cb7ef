"""LR schedules (pure, vectorised ``step -> lr`` functions), their specs, and the areas S1/S2 and LD.

Public surface, one name per line::

    Constant, Linear, Cosine, WSD, MultiStep, Cyclic      shapes
    Warmup, Join, Continual, FromArray                   compositions and arrays
    from_spec, to_spec, load_spec_file                   declarative specs
    cpt_family, pt_family                                the parametric PT/CPT families
    AreaOptions, compute_areas, loss_drop                areas (Tissue et al. 2024; Luo et al. 2025)
"""

from .families import CPT_FAMILIES, PT_FAMILIES, cpt_family, pt_family
from .areas import AreaOptions, Areas, apply_warmup, compute_areas, detect_warmup, loss_drop, momentum
from .shapes import (DECAY_SHAPES, Constant, Continual, Cosine, Cyclic, FromArray, Join, Linear, MultiStep,
                     Schedule, Warmup, WSD, cosine_with_warmup, wsd_with_warmup)
from .spec import KINDS, from_spec, load_spec_file, to_spec

__all__ = [
    "AreaOptions", "Areas", "apply_warmup", "compute_areas", "detect_warmup", "loss_drop", "momentum",
    "DECAY_SHAPES", "Constant", "Continual", "Cosine", "Cyclic", "FromArray", "Join", "Linear", "MultiStep",
    "Schedule", "Warmup", "WSD", "cosine_with_warmup", "wsd_with_warmup",
    "KINDS", "from_spec", "load_spec_file", "to_spec", "CPT_FAMILIES", "PT_FAMILIES", "cpt_family", "pt_family",
]
