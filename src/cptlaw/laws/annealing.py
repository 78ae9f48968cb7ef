"""Tissue, Wang & Wang 2024, *Scaling Law with Learning Rate Annealing* (arXiv 2408.11029).

Eq. 1::                      L(s) = L0 + A * S1(s)^(-alpha) - C * S2(s)

Eq. 7 (``size=True``)::      L(s, N) = L0 + A * S1^(-alpha) + B * N^(-beta) - C * S2 * N^gamma

S1, S2: forward and annealing areas of the whole trajectory (:mod:`cptlaw.schedules.areas`), raw LR units.
N: non-embedding parameters in units of ``n_unit`` (default 1e6: the published Eq. 7 fits only reproduce
with N in millions, laws.md pitfall 11).
"""

from __future__ import annotations

import numpy as np

from .base import AreaLaw, Design, Parameter, positive_log, require_meta, running_peak


class AnnealingLaw(AreaLaw):
    name = "annealing"
    INPUTS = ("S1", "S2", "lr_peak", "N")
    citation = "Tissue, Wang & Wang (2024), Scaling Law with Learning Rate Annealing, arXiv:2408.11029, Eq. 1 / Eq. 7"
    EQUATION = "L = {L0} + {A}·S1^(−{alpha}) − {C}·S2"

    def __init__(self, *, size: bool = False, n_unit: float = 1e6, **area_options):
        super().__init__(**area_options)
        self.size = size
        self.n_unit = n_unit

    def options(self) -> dict:
        return {**super().options(), "size": self.size, "n_unit": self.n_unit}

    def parameters(self, y=None, design=None):
        ymin = float(np.min(y)) if y is not None else 2.0
        ps = [Parameter("L0", 0.0, np.inf, (0.5 * ymin, ymin), doc="irreducible loss", linear=True),
              Parameter("A", 0.0, np.inf, (0.05, 3.0), doc="forward-area amplitude", linear=True),
              Parameter("alpha", 1e-4, 5.0, (0.05, 1.5), doc="forward-area exponent"),
              Parameter("C", 0.0, np.inf, (0.01, 2.0), doc="annealing-area coefficient", linear=True)]
        if self.size:
            ps += [Parameter("B", 0.0, np.inf, (0.1, 5.0), doc="model-size amplitude", linear=True),
                   Parameter("beta", 1e-4, 3.0, (0.05, 0.6), doc="model-size exponent"),
                   Parameter("gamma", -3.0, 3.0, (-0.2, 0.3), doc="annealing growth with N")]
        return ps

    def _features(self, run, index, a):
        f = {"S1": a.s1[index], "S2": a.s2[index], "lr_peak": running_peak(run.lr, index)}
        if self.size:
            f["N"] = np.full(index.size, require_meta(run, "model_size", self.name) / self.n_unit)
        return f

    def value(self, theta, d: Design):
        F = d.features
        L0, A, alpha, C = theta[:4]
        L = L0 + A * F["S1"] ** (-alpha)
        if not self.size:
            return L - C * F["S2"]
        B, beta, gamma = theta[4:7]
        return L + B * F["N"] ** (-beta) - C * F["S2"] * F["N"] ** gamma

    def jacobian(self, theta, d: Design):
        F = d.features
        L0, A, alpha, C = theta[:4]
        s1a = F["S1"] ** (-alpha)
        cols = [np.ones_like(s1a), s1a, -A * s1a * positive_log(F["S1"])]
        if not self.size:
            return np.column_stack(cols + [-F["S2"]])
        B, beta, gamma = theta[4:7]
        nb, ng, lnN = F["N"] ** (-beta), F["N"] ** gamma, np.log(F["N"])
        return np.column_stack(cols + [-F["S2"] * ng, nb, -B * nb * lnN, -C * F["S2"] * ng * lnN])
