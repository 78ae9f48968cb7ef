"""Planning a CPT run (Wang, Tissue et al. 2025 §3.3-§5; laws.md §3.4): the plan space, the law's inputs for
many candidates at once, and (to come) the search under Eq. 5 / Eq. 6 objectives and constraints."""

from .features import candidate_design, exact_features
from .space import Candidate, Space, load_space, parse_space

__all__ = ["Candidate", "Space", "candidate_design", "exact_features", "load_space", "parse_space"]
