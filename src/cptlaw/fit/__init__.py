"""Robust multi-start fitting of any law, and the saved fit (:class:`FitResult`)."""

from .result import FitResult
from .robust import Problem, fit_design, fit_law, huber, multistart

__all__ = ["FitResult", "Problem", "fit_design", "fit_law", "huber", "multistart"]
