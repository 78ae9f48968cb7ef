"""The fitter, which knows no law: a :class:`~cptlaw.fit.problem.Problem` of any model with an analytic Jacobian,
solved by a robust variable-projection multi-start, and the record of a fit (:class:`FitResult`)."""

from .problem import Design, Model, Parameter, Problem
from .result import FitResult
from .robust import fit_design, multistart
from .varpro import huber

__all__ = ["Design", "FitResult", "Model", "Parameter", "Problem", "fit_design", "huber", "multistart"]
