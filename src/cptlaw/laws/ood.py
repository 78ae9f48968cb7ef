"""Out-of-domain validation sets: Wang, Tissue et al. 2025, Eq. 6 (§5.2, App. K; laws.md §3.4)::

    L_ood(t) = lambda'1 * L_general(t) + lambda'2 * L_domain(t)

where L_general and L_domain are the two fitted CPT-law curves (of the general / proxy-general set and of the
CPT domain) at the same step of the same run.  The coefficients are fitted by linear least squares on the
observed OOD losses; they need not be positive nor sum to 1 (the paper's Stories set: -0.516 and 1.409), and
the paper reports them as properties of the datasets, not of the training hyper-parameters, with the caveat
(App. K) that they are not universal across CPT datasets: :meth:`OODLaw.fit` also fits them run by run and
reports their spread, the stability check.

The two component fits are stored inside the OOD fit (their law, options, parameters, target and data hash),
so a saved OOD fit predicts on its own.
"""

from __future__ import annotations

import time

import numpy as np

from ..data import RunSet, target_column
from ..errors import CptlawError, DataError
from ..fit.result import build_result, constructor_options
from .annealing import AnnealingLaw
from .base import Design, Law, Parameter
from .cpt import CPTLaw
from .mpl import MultiPowerLaw

# the laws of a loss curve under an LR schedule: the components an OOD fit combines (and what watch follows)
CURVE_LAWS = {cls.name: cls for cls in (AnnealingLaw, CPTLaw, MultiPowerLaw)}

COMPONENT_KEYS = ("law", "target", "options", "params", "data_hash")


def component(fit) -> dict:
    """What an OOD fit keeps of a component fit (a FitResult or its JSON dict)."""
    d = fit if isinstance(fit, dict) else fit.model_dump(by_alias=True)
    missing = [k for k in COMPONENT_KEYS if k not in d]
    if missing:
        raise CptlawError(f"a component fit lacks {', '.join(missing)}")
    return {k: d[k] for k in COMPONENT_KEYS}


def _law_of(comp: dict) -> Law:
    law = CURVE_LAWS[comp["law"]](**constructor_options(comp["options"]))
    law.params_ = dict(comp["params"])
    return law


class OODLaw(Law):
    name = "ood"
    INPUTS = ("Lg", "Ld")
    EQUATION = "L_ood = {l1}·L_general + {l2}·L_domain"
    citation = ("Wang, Tissue et al. (2025), Learning Dynamics in Continual Pre-Training for Large Language "
                "Models, ICML 2025, arXiv:2505.07796, Eq. 6")

    def __init__(self, *, general: dict, domain: dict):
        self.general, self.domain = component(general), component(domain)
        for label, comp in (("general", self.general), ("domain", self.domain)):
            if comp["law"] not in CURVE_LAWS:
                raise CptlawError(f"the {label} component must be a fit of a loss-curve law ({', '.join(CURVE_LAWS)}), "
                                  f"not of the {comp['law']} law")
        self._laws = (_law_of(self.general), _law_of(self.domain))

    def options(self) -> dict:
        return {"general": self.general, "domain": self.domain}

    def parameters(self, y=None, design=None):
        return [Parameter("l1", -np.inf, np.inf, (-1.0, 2.0), doc="lambda'1: weight of the general loss", linear=True),
                Parameter("l2", -np.inf, np.inf, (-1.0, 2.0), doc="lambda'2: weight of the domain loss", linear=True)]

    def _prepare(self, run):
        return self._curves(run)

    def _curves(self, run):
        """The two component curves at every step of the run (NaN outside a component's domain)."""
        out = []
        for law in self._laws:
            try:
                out.append(law.curve(run)[0])
            except DataError:  # no step of this run in the component's domain
                out.append(np.full(run.steps.size, np.nan))
        return tuple(out)

    def _valid(self, run, index, prep):
        lg, ld = prep
        return np.isfinite(lg[index]) & np.isfinite(ld[index]) & (lg[index] > 0) & (ld[index] > 0)

    def _features(self, run, index, prep):
        return {"Lg": prep[0][index], "Ld": prep[1][index]}

    def value(self, theta, d: Design):
        l1, l2 = theta
        return l1 * d.features["Lg"] + l2 * d.features["Ld"]

    def jacobian(self, theta, d: Design):
        return np.column_stack([d.features["Lg"], d.features["Ld"]])

    def fit(self, runs, target: str, *, names: list[str] | None = None) -> "OODLaw":
        """Fit Eq. 6's coefficients on the observations of ``target`` (an OOD set) by linear least squares
        against the two component fits' predictions; ``result_``'s diagnostics hold the coefficients fitted run
        by run and their spread."""
        target = target_column(target)
        for label, comp in (("general", self.general), ("domain", self.domain)):
            if comp["target"] == target:
                raise CptlawError(f"the {label} fit is itself a fit of {target}; Eq. 6 predicts an out-of-domain set "
                                  f"from the fits of two other sets")
        if self.general["target"] == self.domain["target"]:
            raise CptlawError(f"the general and the domain fits are both of {self.general['target']}; give one fit of "
                              f"the general (or proxy) set and one of the domain set")
        runs = runs if isinstance(runs, RunSet) else RunSet(runs)
        runs = runs.select(names)
        t0 = time.perf_counter()
        design = self.design(list(runs), target)
        X = self.jacobian(None, design)
        theta, *_ = np.linalg.lstsq(X, design.y, rcond=None)
        yhat = X @ theta
        per_run = {}
        for i, name in enumerate(design.run_names):
            rows = design.run_index == i
            if rows.sum() >= 3 and np.linalg.matrix_rank(X[rows]) == 2:
                coef, *_ = np.linalg.lstsq(X[rows], design.y[rows], rcond=None)
                per_run[name] = [float(c) for c in coef]
        diagnostics = {"per_run_coefficients": per_run}
        if len(per_run) >= 2:
            c = np.array(list(per_run.values()))
            diagnostics["coefficient_spread"] = {p: {"min": float(c[:, j].min()), "max": float(c[:, j].max()),
                                                     "std": float(c[:, j].std(ddof=1))} for j, p in enumerate(("l1", "l2"))}
        rank = np.linalg.matrix_rank(X)
        if rank < 2:
            diagnostics["warnings"] = ["the two component predictions are collinear on these points: l1 and l2 are not "
                                       "separately identified"]
        self.result_ = build_result(law=self, params=self.parameters(), theta=theta, design=design, yhat=yhat,
                                    objective=float(np.sum((yhat - design.y) ** 2)), delta=0.0, target=target,
                                    data_hash=runs.with_target(target).data_hash(target), data_source=runs.source,
                                    starts={"method": "linear least squares (no multi-start needed)"},
                                    elapsed=time.perf_counter() - t0, diagnostics=diagnostics)
        self.params_ = dict(self.result_.params)
        return self
