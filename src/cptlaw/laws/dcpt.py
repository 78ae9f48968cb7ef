"""Que et al. 2024, *D-CPT Law: Domain-specific Continual Pre-Training Scaling Law* (NeurIPS 2024,
arXiv 2406.01375), the chosen form L3::

    L(N, D, r) = E + A / N^alpha + B * r^eta / D^beta + C / (r + epsilon)^gamma

N: model size (non-embedding parameters / ``n_unit``), D: CPT tokens (/ ``d_unit``), r: the mixture share of
the corpus whose validation loss is modelled: the replay ratio for the general loss, 1 - replay ratio for a
domain loss (``corpus`` option; laws.md pitfall 12).  Fitted separately per validation set.

Points come from the CPT rows of runs (D = CPT steps done x tokens_per_step) or from a points table.
"""

from __future__ import annotations

import numpy as np

from ..data import target_column
from ..errors import DataError
from .base import Design, Law, Parameter, require_meta


class DCPTLaw(Law):
    name = "dcpt"
    USES_LR = False  # (N, D, r): the LR schedule does not enter
    INPUTS = ("N", "D", "r")
    citation = "Que et al. (2024), D-CPT Law, NeurIPS 2024, arXiv:2406.01375, law L3"
    EQUATION = "L = {E} + {A}/N^{alpha} + {B}·r^{eta}/D^{beta} + {C}/(r + {epsilon})^{gamma}"

    def __init__(self, *, corpus: str = "auto", n_unit: float = 1e6, d_unit: float = 1e9):
        self.corpus = corpus
        self.n_unit = n_unit
        self.d_unit = d_unit

    def options(self) -> dict:
        corpus = getattr(self, "corpus_", "domain") if self.corpus == "auto" else self.corpus
        return {"corpus": corpus, "n_unit": self.n_unit, "d_unit": self.d_unit}

    def fit(self, runs, target: str, **fit_options) -> "DCPTLaw":
        """:meth:`Law.fit`; with ``corpus="auto"``, the corpus whose share r is, chosen by the target (the learned
        ``corpus_``: the general loss's r is the replay ratio, a domain loss's r is 1 - replay)."""
        if self.corpus == "auto":
            self.corpus_ = self.resolved_corpus(target)
        return super().fit(runs, target, **fit_options)

    def _share_of(self) -> str:
        """The corpus whose mixture share is r: the given one, or the fitted ``corpus_`` (a domain's when unfitted)."""
        return getattr(self, "corpus_", "domain") if self.corpus == "auto" else self.resolved_corpus(None)

    def resolved_corpus(self, target: str | None) -> str:
        if self.corpus == "table":
            raise DataError("this D-CPT fit was made from a points table, whose ratio column is r itself: "
                            "apply it to points tables (model_size,tokens,ratio), not to runs")
        if self.corpus != "auto":
            return self.corpus
        return "general" if target is not None and target_column(target) == "loss:general" else "domain"

    def parameters(self, y=None, design=None):
        ymin = float(np.min(y)) if y is not None else 2.0
        return [Parameter("E", 0.0, np.inf, (0.5 * ymin, ymin), doc="irreducible loss", linear=True),
                Parameter("A", 0.0, np.inf, (0.01, 10.0), doc="model-size amplitude", linear=True),
                Parameter("alpha", 1e-4, 3.0, (0.05, 0.8), doc="model-size exponent"),
                Parameter("B", 0.0, np.inf, (0.01, 10.0), doc="data amplitude", linear=True),
                Parameter("beta", 1e-4, 3.0, (0.05, 0.8), doc="data exponent"),
                Parameter("eta", 1e-4, 5.0, (0.05, 1.5), doc="mixture exponent of the data term"),
                Parameter("C", 0.0, np.inf, (0.001, 1.0), doc="mixture amplitude", linear=True),
                Parameter("gamma", 1e-4, 3.0, (0.05, 1.0), doc="mixture exponent"),
                Parameter("epsilon", 1e-8, 10.0, (1e-3, 0.5), log=True, doc="keeps r = 0 finite")]

    def _valid(self, run, index, prep):
        if run.transfer is None:
            raise DataError(f"run {run.name!r}: the D-CPT law needs CPT rows (phase 'cpt')")
        return np.asarray(index) >= run.transfer

    def _features(self, run, index, prep):
        tokens = require_meta(run, "tokens_per_step", self.name)
        replay = require_meta(run, "replay_ratio", self.name)
        r = replay if self._share_of() == "general" else 1.0 - replay
        d = (np.asarray(index) - run.transfer + 1) * tokens / self.d_unit
        n = require_meta(run, "model_size", self.name) / self.n_unit
        return {"N": np.full(index.size, n), "D": d.astype(float), "r": np.full(index.size, r)}

    def design_points(self, N, D, r, y=None, labels=None) -> Design:
        """A design from explicit points (raw N and D; they are divided by n_unit and d_unit).  ``labels``
        (a points table's ``run`` column) group the points into runs for the per-run metrics."""
        N, D, r = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (N, D, r))
        n = max(N.size, D.size, r.size)
        N, D, r = (np.broadcast_to(v, (n,)).copy() for v in (N, D, r))
        labels = [str(x) or "points" for x in labels] if labels is not None and len(labels) == n else ["points"] * n
        names = list(dict.fromkeys(labels))
        index = {k: i for i, k in enumerate(names)}
        return Design(names, np.array([index[x] for x in labels], np.int64), np.arange(n),
                      None if y is None else np.asarray(y, float), {"N": N / self.n_unit, "D": D / self.d_unit, "r": r})

    def value(self, theta, d: Design):
        E, A, alpha, B, beta, eta, C, gamma, eps = theta
        F = d.features
        return E + A / F["N"] ** alpha + B * F["r"] ** eta / F["D"] ** beta + C / (F["r"] + eps) ** gamma

    def jacobian(self, theta, d: Design):
        E, A, alpha, B, beta, eta, C, gamma, eps = theta
        F = d.features
        N, D, r = F["N"], F["D"], F["r"]
        na = N ** (-alpha)
        rterm = np.where(r > 0, r ** eta, 0.0)
        dterm = rterm * D ** (-beta)
        re = (r + eps) ** (-gamma)
        log_r = np.log(np.where(r > 0, r, 1.0))
        return np.column_stack([np.ones_like(N), na, -A * na * np.log(N), dterm, -B * dterm * np.log(D),
                                B * dterm * log_r, re, -C * re * np.log(r + eps), -gamma * C * re / (r + eps)])
