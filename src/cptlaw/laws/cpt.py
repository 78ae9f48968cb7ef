"""Wang, Tissue et al. 2025, *Learning Dynamics in Continual Pre-Training for LLMs* (ICML 2025, arXiv 2505.07796).

Eq. 4, fitted per validation set, jointly over the PT and CPT rows of all runs::

    L(t) = L0 + A * (S1pt + S1cpt)^(-alpha) - C1 * S2pt - C2 * S2cpt + B * (1 - (1 + E * S1cpt)^(-beta))

B is free-signed (positive for the general/PT validation loss, negative for the domain loss).

Eq. 7 (``size=True``; N = non-embedding parameters / ``n_unit``, default millions)::

    ... - C1 * S2pt * N^gamma1 - C2 * S2cpt * N^gamma2 + B * (1 - (1 + E*S1cpt)^(-beta)) + F * N^(-gamma3)

Eq. 8 (``replay="general"`` for a PT-distribution validation set, ``"domain"`` for the CPT domain),
r_pt = replay ratio, r_cpt = 1 - r_pt::

    general: ... - C2 * S2cpt * exp(a1 * r_pt)  + B * (1 - (1 + E*S1cpt)^(-beta)) * (1 - exp(-a2 * r_cpt))
    domain:  ... - C2 * S2cpt * exp(a1 * r_cpt) + B * (1 - (1 + E*S1cpt)^(-beta)) * (exp(a2 * r_cpt) - 1)
"""

from __future__ import annotations

import numpy as np

from .base import AreaLaw, Design, Parameter, positive_log, require_meta, running_peak


class CPTLaw(AreaLaw):
    name = "cpt"
    INPUTS = ("S1", "S1cpt", "S2pt", "S2cpt", "lr_peak", "lr_peak_cpt", "N", "r_pt")
    citation = ("Wang, Tissue et al. (2025), Learning Dynamics in Continual Pre-Training for Large Language "
                "Models, ICML 2025, arXiv:2505.07796, Eq. 4 / 7 / 8")

    def __init__(self, size: bool = False, replay: str | None = None, n_unit: float = 1e6, **area_options):
        super().__init__(**area_options)
        self.size = size
        self.replay = replay
        self.n_unit = n_unit
        if replay not in (None, "general", "domain"):
            raise ValueError("replay must be None, 'general' or 'domain'")

    def options(self) -> dict:
        return {**super().options(), "size": self.size, "replay": self.replay, "n_unit": self.n_unit}

    def parameters(self, y=None, design=None):
        ymin = float(np.min(y)) if y is not None else 2.0
        e_bounds, e_box = self.rate_range(design)
        ps = [Parameter("L0", 0.0, np.inf, (0.5 * ymin, ymin), doc="irreducible loss", linear=True),
              Parameter("A", 0.0, np.inf, (0.05, 3.0), doc="forward-area amplitude", linear=True),
              Parameter("alpha", 1e-4, 5.0, (0.05, 1.5), doc="forward-area exponent"),
              Parameter("C1", 0.0, np.inf, (0.01, 2.0), doc="PT annealing coefficient", linear=True),
              Parameter("C2", 0.0, np.inf, (0.01, 2.0), doc="CPT annealing coefficient", linear=True),
              Parameter("B", -np.inf, np.inf, (-2.0, 2.0), doc="distribution-shift amplitude (free sign)",
                        linear=True),
              Parameter("E", *e_bounds, e_box, log=True, doc="distribution-shift rate"),
              Parameter("beta", 1e-4, 5.0, (0.05, 1.0), doc="distribution-shift exponent")]
        if self.size:
            ps += [Parameter("gamma1", -3.0, 3.0, (-0.2, 0.3), doc="PT annealing growth with N"),
                   Parameter("gamma2", -3.0, 3.0, (-0.2, 0.3), doc="CPT annealing growth with N"),
                   Parameter("F", 0.0, np.inf, (0.1, 5.0), doc="model-size amplitude", linear=True),
                   Parameter("gamma3", 1e-4, 3.0, (0.05, 0.6), doc="model-size exponent")]
        if self.replay:
            ps += [Parameter("a1", -20.0, 20.0, (-1.0, 1.0), doc="replay effect on CPT annealing"),
                   Parameter("a2", 1e-6, 50.0, (0.5, 6.0), doc="replay effect on the distribution shift")]
        return ps

    @staticmethod
    def rate_range(design=None) -> tuple[tuple[float, float], tuple[float, float]]:
        """Bounds and multi-start box of the shift rate E, from the observed S1cpt (raw LR units).

        E only matters through E*S1cpt.  Beyond E*max(S1cpt) < 1e-3 the shift term is linear in S1cpt over
        the data (only B*beta*E is identified), and beyond E*min(S1cpt) > 1e4 it is a step at the transfer
        point; so E is bounded there, the box puts E*S1cpt near 1 inside the observed range, and a fit that
        ends on these bounds is reported as such.  Without CPT points: the published scale (E in 1..1e4 at
        a peak LR of 2e-4).
        """
        s = None if design is None else design.features.get("S1cpt")
        s = None if s is None else s[s > 0]
        if s is None or s.size == 0:
            return (1e-3, 1e9), (1.0, 1e4)
        lo, hi = float(s.min()), float(s.max())
        return (1e-3 / hi, 1e4 / lo), (0.1 / hi, max(100.0 / lo, 1.0 / hi))

    def _features(self, run, index, a):
        f = {"S1": a.s1[index], "S1cpt": a.s1_cpt[index], "S2pt": a.s2_pt[index], "S2cpt": a.s2_cpt[index],
             "lr_peak": running_peak(run.lr, index),
             "lr_peak_cpt": running_peak(run.lr, index, run.lr.size if run.transfer is None else run.transfer)}
        if self.size:
            f["N"] = np.full(index.size, require_meta(run, "model_size", self.name) / self.n_unit)
        if self.replay:
            r_pt = require_meta(run, "replay_ratio", self.name) if run.is_cpt else 1.0
            f["r_pt"] = np.full(index.size, r_pt)
        return f

    def _terms(self, theta, F):
        """The pieces of the equation, shared by value and jacobian."""
        p = dict(zip(self.param_names, theta))
        u = 1.0 + p["E"] * F["S1cpt"]
        shift = 1.0 - u ** (-p["beta"])  # (1 - (1 + E*S1cpt)^-beta)
        n1 = n2 = 1.0
        if self.size:
            n1, n2 = F["N"] ** p["gamma1"], F["N"] ** p["gamma2"]
        c2fac = replay_fac = 1.0
        if self.replay:
            r_pt = F["r_pt"]
            r_cpt = 1.0 - r_pt
            r_anneal = r_pt if self.replay == "general" else r_cpt
            c2fac = np.exp(p["a1"] * r_anneal)
            replay_fac = (1.0 - np.exp(-p["a2"] * r_cpt)) if self.replay == "general" else np.expm1(p["a2"] * r_cpt)
        return p, u, shift, n1, n2, c2fac, replay_fac

    def value(self, theta, d: Design):
        F = d.features
        p, u, shift, n1, n2, c2fac, replay_fac = self._terms(theta, F)
        L = (p["L0"] + p["A"] * F["S1"] ** (-p["alpha"])
             - p["C1"] * F["S2pt"] * n1 - p["C2"] * F["S2cpt"] * n2 * c2fac
             + p["B"] * shift * replay_fac)
        if self.size:
            L = L + p["F"] * F["N"] ** (-p["gamma3"])
        return L

    def jacobian(self, theta, d: Design):
        F = d.features
        p, u, shift, n1, n2, c2fac, replay_fac = self._terms(theta, F)
        s1a = F["S1"] ** (-p["alpha"])
        upow = u ** (-p["beta"])
        x = F["S1cpt"]
        cols = {
            "L0": np.ones_like(s1a),
            "A": s1a,
            "alpha": -p["A"] * s1a * positive_log(F["S1"]),
            "C1": -F["S2pt"] * n1,
            "C2": -F["S2cpt"] * n2 * c2fac,
            "B": shift * replay_fac,
            "E": p["B"] * replay_fac * p["beta"] * x * upow / u,
            "beta": p["B"] * replay_fac * upow * np.log(u),
        }
        if self.size:
            lnN = np.log(F["N"])
            cols["gamma1"] = -p["C1"] * F["S2pt"] * n1 * lnN
            cols["gamma2"] = -p["C2"] * F["S2cpt"] * n2 * c2fac * lnN
            nF = F["N"] ** (-p["gamma3"])
            cols["F"] = nF
            cols["gamma3"] = -p["F"] * nF * lnN
        if self.replay:
            r_pt = F["r_pt"]
            r_cpt = 1.0 - r_pt
            r_anneal = r_pt if self.replay == "general" else r_cpt
            cols["a1"] = -p["C2"] * F["S2cpt"] * n2 * c2fac * r_anneal
            dfac = (r_cpt * np.exp(-p["a2"] * r_cpt)) if self.replay == "general" else r_cpt * np.exp(p["a2"] * r_cpt)
            cols["a2"] = p["B"] * shift * dfac
        return np.column_stack([cols[n] for n in self.param_names])
