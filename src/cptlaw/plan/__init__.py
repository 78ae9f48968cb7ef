"""Planning a CPT run (Wang, Tissue et al. 2025 §3.3-§5; laws.md §3.4; the D-CPT usages of Que et al. 2024,
laws.md §4.4): the plan space, the law's inputs for many candidates at once, the search under Eq. 5 / Eq. 6
objectives and constraints, the dynamics of a plan, the outputs of ``cptlaw plan`` and the regret against a
grid of real runs."""

from .dynamics import critical_point, dynamics, pattern, turning_length
from .features import candidate_design, exact_features, plan_run
from .search import plan, predict_candidates
from .space import Candidate, Space, load_space, parse_space

__all__ = ["Candidate", "Space", "candidate_design", "critical_point", "dynamics", "exact_features", "load_space",
           "parse_space", "pattern", "plan", "plan_run", "predict_candidates", "turning_length"]
