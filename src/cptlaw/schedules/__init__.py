"""LR schedules (pure, vectorised ``step -> lr`` functions), their specs, the parametric families, and the areas S1/S2.

Public surface, one name per line::

    Constant, Linear, Cosine, WSD, MultiStep, Cyclic      shapes
    Warmup, Join, Continual, FromArray                   compositions and arrays
    from_spec, to_spec, load_spec_file                   declarative specs
    cpt_family, pt_family                                the parametric PT/CPT families
    AreaOptions, compute_areas                           areas (Tissue et al. 2024)
"""

from .families import CPT_FAMILIES, PT_FAMILIES, cpt_family, pt_family
from .areas import AreaOptions, Areas, apply_warmup, compute_areas, cpt_cumsum, detect_warmup, momentum
from .shapes import (DECAY_SHAPES, Constant, Continual, Cosine, Cyclic, FromArray, Join, Linear, MultiStep,
                     Schedule, Warmup, WSD, cosine_with_warmup, wsd_with_warmup)
from .spec import KINDS, from_spec, load_spec_file, to_spec

__all__ = [
    "AreaOptions", "Areas", "apply_warmup", "compute_areas", "cpt_cumsum", "detect_warmup", "momentum",
    "DECAY_SHAPES", "Constant", "Continual", "Cosine", "Cyclic", "FromArray", "Join", "Linear", "MultiStep",
    "Schedule", "Warmup", "WSD", "cosine_with_warmup", "wsd_with_warmup",
    "KINDS", "from_spec", "load_spec_file", "to_spec", "CPT_FAMILIES", "PT_FAMILIES", "cpt_family", "pt_family",
]
