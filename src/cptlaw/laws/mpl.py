"""Luo et al. 2025, *A Multi-Power Law for Loss Curve Prediction Across Learning Rate Schedules*
(ICLR 2025, arXiv 2503.12811), Eq. 1-2 -- a baseline::

    L(t) = L0 + A * (S1(t) + S_W)^(-alpha) - LD(t)
    LD(t) = B * sum_{k=1..t} (eta_{k-1} - eta_k) * G(eta_k^(-gamma) * S_k(t)),   G(x) = 1 - (C*x + 1)^(-beta)

S1 + S_W is the cumulative LR sum of the dense LR after the warmup convention (see
:class:`cptlaw.schedules.AreaOptions`): ``warmup="literal"`` is the official code's convention, under which
its published parameters reproduce the curves (laws.md §2.4); ``"as_peak"`` flattens the warmup.

``ld_max_points`` (default 1024) merges runs of consecutive LR changes into at most about that many blocks
per run when evaluating LD (:func:`cptlaw.laws._loss_drop.loss_drop`); on the MPL 400M curves with the published
parameters this changes LD by at most 7e-5 nats (2e-5 relative) and makes fits 30-40x faster on dense
cosine decays.  ``None`` evaluates the exact sum.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..schedules.areas import apply_warmup, flattened_warmup
from ._loss_drop import _LDTerms
from .base import AreaLaw, Design, Parameter, running_peak


class MultiPowerLaw(AreaLaw):
    name = "mpl"
    SCREEN_POINTS = 128
    EQUATION = ("L = {L0} + {A}·(S1 + S_W)^(−{alpha}) − {B}·Σ_k (η_(k−1) − η_k)·(1 − ({C}·η_k^(−{gamma})·S_k(t) + 1)^(−{beta}))")
    INPUTS = ("S1", "lr_peak")
    citation = ("Luo et al. (2025), A Multi-Power Law for Loss Curve Prediction Across Learning Rate Schedules, "
                "ICLR 2025, arXiv:2503.12811, Eq. 1-2")

    def __init__(self, *, warmup: str = "literal", ld_max_points: int | None = 1024, **area_options):
        super().__init__(warmup=warmup, **area_options)
        self.ld_max_points = ld_max_points

    def options(self) -> dict:
        opts = {**super().options(), "ld_max_points": self.ld_max_points}
        opts.pop("lam")  # MPL has no momentum
        opts.pop("momentum")
        return opts

    def parameters(self, y=None, design=None):
        ymin = float(np.min(y)) if y is not None else 2.0
        return [Parameter("L0", 0.0, np.inf, (0.5 * ymin, ymin), doc="irreducible loss", linear=True),
                Parameter("A", 0.0, np.inf, (0.05, 3.0), doc="forward-area amplitude", linear=True),
                Parameter("alpha", 1e-4, 5.0, (0.1, 1.0), doc="forward-area exponent"),
                Parameter("B", 0.0, np.inf, (30.0, 3000.0), doc="loss-drop amplitude", linear=True),
                Parameter("C", 1e-8, 1e8, (0.1, 10.0), log=True, doc="loss-drop rate"),
                Parameter("beta", 1e-4, 1.0, (0.2, 0.9), doc="loss-drop power (paper: in (0,1))"),
                Parameter("gamma", 1e-4, 1.0, (0.2, 0.9), doc="LR exponent (paper: in (0,1))")]

    def _prepare(self, run):
        """The LR as the law sees it (warmup convention applied), its prefix sums, and the flattened warmup."""
        lr = apply_warmup(run.lr, self.warmup, self.warmup_steps, end=run.transfer)
        return lr, np.cumsum(lr), flattened_warmup(run.lr, self.warmup, self.warmup_steps, end=run.transfer)

    def _valid(self, run, index, prep):
        """S1 > 0 and, under ``as_peak``, after the warmup (as :meth:`AreaLaw._valid`)."""
        P, warmup_end = prep[1], prep[2]
        if self.lr_index == "exclusive":
            return (index >= 1) & (P[np.maximum(index - 1, 0)] > 0) & (index >= warmup_end)
        return (P[index] > 0) & (index >= warmup_end)

    def _features(self, run, index, prep):
        if self.lr_index == "exclusive":
            index = np.maximum(index - 1, 0)
        terms = _LDTerms(prep[0], self.ld_max_points, index)
        return {"S1": terms.P[index], "lr_peak": running_peak(run.lr, index), "runs": [(terms, index)]}

    def _merge(self, feats):
        return {"S1": np.concatenate([f["S1"] for f in feats]),
                "lr_peak": np.concatenate([f["lr_peak"] for f in feats]),
                "runs": [r for f in feats for r in f["runs"]]}

    def _ld(self, theta, F, jac):
        L0, A, alpha, B, C, beta, gamma = theta
        parts = [terms.evaluate(idx, B, C, beta, gamma, jac=jac) for terms, idx in F["runs"]]
        if not jac:
            return np.concatenate(parts)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def screening_design(self, d: Design) -> Design:
        """LD with at most ``SCREEN_POINTS`` blocks per run, for ranking the multi-start's screened points (see
        :meth:`Law.screening_design`): the local solves start from the best of them on the full design."""
        runs = [(terms.coarse(self.SCREEN_POINTS, idx), idx) for terms, idx in d.features["runs"]]
        return replace(d, features={**d.features, "runs": runs})

    def value(self, theta, d: Design):
        L0, A, alpha = theta[:3]
        return L0 + A * d.features["S1"] ** (-alpha) - self._ld(theta, d.features, jac=False)

    def basis(self, theta, d: Design):
        """(1, (S1+S_W)^-alpha, -LD/B): L0, A and B enter linearly; one LD evaluation without gradients."""
        S1 = d.features["S1"]
        unit = np.r_[theta[:3], 1.0, theta[4:]]
        return np.column_stack([np.ones_like(S1), S1 ** (-theta[2]), -self._ld(unit, d.features, jac=False)])

    def jacobian(self, theta, d: Design):
        L0, A, alpha = theta[:3]
        S1 = d.features["S1"]
        s1a = S1 ** (-alpha)
        _, g = self._ld(theta, d.features, jac=True)
        return np.column_stack([np.ones_like(S1), s1a, -A * s1a * np.log(S1), -g])
