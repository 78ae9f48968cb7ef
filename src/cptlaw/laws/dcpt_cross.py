"""The Cross-Domain D-CPT law (Que et al. 2024, §-"Cross-Domain D-CPT Law"; laws.md §4.2)::

    L(N, D, r, K) = E + A / N^alpha + B * r^eta / D^beta + C / (r + epsilon)^gamma + F / K^mu

one law over several CPT domains, each domain entering only through its domain-specific learnable coefficient K
(smaller K: easier to learn), so that a new domain's D-CPT law comes from a short probe of it.

**The definition of K is unconfirmed.**  The primary text was not available; one secondary summary gives
``K = w1 / k1 + w2 * k2``, k1 the domain's initial validation loss and k2 the early rate of its decline, w1 and w2
learnable.  cptlaw implements that, with w1 = 1 (F absorbs K's scale: F / (w1/k1 + w2 k2)^mu =
F w1^-mu / (1/k1 + (w2/w1) k2)^mu) and w2 > 0 fitted, and measures k1 and k2 as follows (explicit options, recorded
in every fit, see :func:`measure_k`):

* k1: the domain loss of the PT checkpoint, i.e. the probe run's last evaluation at or before its transfer;
* k2: ``(k1 - L_probe) / (probe tokens / d_unit)``, L_probe the probe run's first evaluation at least
  ``probe_steps`` CPT steps after the transfer: nats per ``d_unit`` tokens over the probe.

``k_form="k1"`` (cptlaw's check of the k2 term, not from a source): K = 1/k1 alone, no w2.
``benchmarks/dcpt_cross.py`` compares both with the same law without any K term (docs/accuracy-dcpt-cross.md).

The probe of a domain is one CPT run (by default: the smallest model, the replay ratio ``probe_replay``), of
which only the first ``probe_steps`` steps are used.  The rest is the D-CPT law L3 (:mod:`cptlaw.laws.dcpt`,
r = the domain share).  A run's domain is its one validation loss other than ``loss:general``.
"""

from __future__ import annotations

import copy

import numpy as np

from ..data import RunSet, target_column
from ..errors import CptlawError, DataError
from .base import Design, Parameter
from .dcpt import DCPTLaw


K_FORMS = ("k1+k2", "k1")  # K = 1/k1 + w2·k2 (the secondary source's, unconfirmed) or 1/k1 alone (cptlaw's check)


def run_domain(run) -> str:
    """The CPT domain of a run: its one loss column other than loss:general."""
    others = [t for t in run.targets if t != "loss:general"]
    if len(others) != 1:
        raise DataError(f"run {run.name!r}: the cross-domain law needs runs with one domain loss besides "
                        f"loss:general; it has {', '.join(others) or 'none'}")
    return others[0]


def measure_k(run, probe_steps: int, d_unit: float = 1e9) -> tuple[float, float]:
    """(k1, k2) of a domain from the first ``probe_steps`` CPT steps of one of its runs (see the module docstring)."""
    target = run_domain(run)
    if run.transfer is None:
        raise DataError(f"run {run.name!r}: a probe must be a CPT run (it has no transfer)")
    idx, y = run.observed(target)
    before = idx <= run.transfer - 1
    after = idx >= run.transfer + probe_steps - 1
    if not before.any():
        raise DataError(f"run {run.name!r}: no {target} evaluation of the PT checkpoint (at or before the transfer), "
                        f"so k1 cannot be measured")
    if not after.any():
        raise DataError(f"run {run.name!r}: no {target} evaluation {probe_steps} CPT steps after the transfer")
    k1 = float(y[before][-1])
    j = int(np.flatnonzero(after)[0])
    tokens = (idx[j] - run.transfer + 1) * float(run.tokens_per_step or np.nan) / d_unit
    if not np.isfinite(tokens) or tokens <= 0:
        raise DataError(f"run {run.name!r}: k2 needs tokens_per_step")
    return k1, (k1 - float(y[j])) / tokens


class CrossDomainDCPTLaw(DCPTLaw):
    name = "dcpt-cross"
    INPUTS = ("N", "D", "r", "k1", "k2")
    EQUATION = ("L = {E} + {A}/N^{alpha} + {B}·r^{eta}/D^{beta} + {C}/(r + {epsilon})^{gamma} + {F}/K^{mu},  "
                "K = 1/k1 + {w2}·k2")
    citation = ("Que et al. (2024), D-CPT Law, NeurIPS 2024, arXiv:2406.01375, Cross-Domain D-CPT law "
                "(K = w1/k1 + w2*k2 from a secondary source; unconfirmed)")

    def equation(self, params: dict | None = None) -> str:
        text = super().equation(params if self.k_form == "k1+k2" else {**(params or self._fitted()), "w2": 0})
        return text if self.k_form == "k1+k2" else text.split(",  K =")[0] + ",  K = 1/k1"

    def __init__(self, *, k: dict | None = None, probe_steps: int = 50, probe_replay: float = 0.25,
                 n_unit: float = 1e6, d_unit: float = 1e9, corpus: str = "domain", k_form: str = "k1+k2"):
        if corpus != "domain":
            raise DataError("the cross-domain D-CPT law models domain losses (corpus 'domain')")
        if k_form not in K_FORMS:
            raise ValueError(f"k_form must be one of {K_FORMS}, got {k_form!r}")
        self.k_form = k_form
        super().__init__(corpus="domain", n_unit=n_unit, d_unit=d_unit)
        self.k = {d: tuple(map(float, v)) for d, v in (k or {}).items()}  # domain -> (k1, k2)
        self.probe_steps = int(probe_steps)
        self.probe_replay = float(probe_replay)

    def options(self) -> dict:
        return {**super().options(), "k": {d: list(v) for d, v in self.k_table().items()},
                "probe_steps": self.probe_steps, "probe_replay": self.probe_replay, "k_form": self.k_form}

    def k_table(self) -> dict[str, tuple[float, float]]:
        """{domain: (k1, k2)}: the constructor's ``k`` plus, once fitted, the ``k_`` measured by ``fit`` (a loaded
        fit's table comes back as ``k``)."""
        return {**self.k, **getattr(self, "k_", {})}

    def probe(self, runs, known=None) -> dict[str, tuple[str, tuple[float, float]]]:
        """{domain: (probe run name, (k1, k2))} for every CPT domain of ``runs`` not in ``known`` (default: this
        law's table), each from its probe run: the smallest model at the replay ratio ``probe_replay``.  Changes
        nothing."""
        known = self.k_table() if known is None else known
        by_domain: dict[str, list] = {}
        for run in runs:
            if run.transfer is not None:
                by_domain.setdefault(run_domain(run), []).append(run)
        out = {}
        for domain, rs in by_domain.items():
            if domain in known:
                continue
            cands = [r for r in rs if r.replay_ratio is not None and abs(r.replay_ratio - self.probe_replay) < 1e-9]
            if not cands:
                raise DataError(f"domain {domain}: no run at replay {self.probe_replay:g} to probe it (runs: "
                                f"{', '.join(r.name for r in rs)}); set probe_replay")
            probe = min(cands, key=lambda r: (r.model_size or 0.0, r.name))
            out[domain] = (probe.name, measure_k(probe, self.probe_steps, self.d_unit))
        return out

    def with_domains(self, runs=(), *, k: dict | None = None) -> "CrossDomainDCPTLaw":
        """A copy of this law that also knows the domains of ``runs`` (each K measured from its probe run among
        them) and those given in ``k`` ({domain: (k1, k2)}): the Cross-Domain usage, predicting a new domain from
        a short probe.  This law is left as it is."""
        new = copy.copy(self)  # the fit is shared, read-only; only the table differs
        table = self.k_table()
        table = {**table, **{d: kk for d, (_, kk) in self.probe(runs, table).items()},
                 **{d: tuple(map(float, v)) for d, v in (k or {}).items()}}
        if hasattr(self, "params_"):
            new.k_ = table
        else:  # an unfitted law learns nothing here: the table is its given K
            new.k = table
        return new

    def design(self, runs, target=None, at=None):
        """The CPT points of every run, each on its own domain loss (``target`` is not used: a run's domain is
        its one loss besides loss:general).  A domain without a K yet is measured from its probe among ``runs``
        (for this design only: see :meth:`with_domains`)."""
        runs = [r for r in runs if r.transfer is not None]  # PT runs: no CPT rows
        if not runs:
            raise DataError("no CPT points of any domain in the selected runs")
        if {run_domain(r) for r in runs} - set(self.k_table()):
            return self.with_domains(runs).design(runs, target, at)
        return super().design(runs, "loss:domain", at)

    def _target_of(self, run, target):
        return run_domain(run)

    def _features(self, run, index, prep):
        f = super()._features(run, index, prep)
        k1, k2 = self.k_table()[run_domain(run)]
        f["k1"], f["k2"] = np.full(index.size, k1), np.full(index.size, k2)
        return f

    def parameters(self, y=None, design=None):
        k2 = None if design is None else design.features.get("k2")
        scale = float(np.median(np.abs(k2))) if k2 is not None and np.any(k2) else 1.0
        ps = super().parameters(y, design) + [
            Parameter("F", 0.0, np.inf, (0.01, 5.0), doc="domain-learnability amplitude", linear=True),
            Parameter("mu", 1e-4, 5.0, (0.05, 2.0), doc="domain-learnability exponent")]
        if self.k_form == "k1+k2":
            ps.append(Parameter("w2", 1e-6 / scale, 1e6 / scale, (0.01 / scale, 10.0 / scale), log=True,
                                doc="weight of the early decline k2 in K = 1/k1 + w2*k2"))
        return ps

    def _K(self, theta, F):
        """K per point: 1/k1 + w2·k2 (the secondary source's form) or 1/k1 alone (``k_form="k1"``)."""
        return 1.0 / F["k1"] + (theta[11] * F["k2"] if self.k_form == "k1+k2" else 0.0)

    def value(self, theta, d: Design):
        F, mu = theta[9:11]
        K = self._K(theta, d.features)
        return super().value(theta[:9], d) + F * K ** (-mu)

    def jacobian(self, theta, d: Design):
        F, mu = theta[9:11]
        K = self._K(theta, d.features)
        Kmu = K ** (-mu)
        cols = [super().jacobian(theta[:9], d), Kmu, -F * Kmu * np.log(K)]
        if self.k_form == "k1+k2":
            cols.append(-mu * F * K ** (-mu - 1) * d.features["k2"])
        return np.column_stack(cols)

    def fit(self, runs, target: str = "loss:domain", *, names: list[str] | None = None,
            **fit_options) -> "CrossDomainDCPTLaw":
        """Fit on the CPT runs of several domains (each run's own domain loss; ``target`` must be
        ``loss:domain``), measuring each domain's K from its probe run first; sets ``k_`` (every domain's K),
        ``params_`` and ``result_``."""
        if target_column(target) != "loss:domain":
            raise CptlawError("the cross-domain law fits each CPT run on its own domain loss: give the target domain")
        runs = (runs if isinstance(runs, RunSet) else RunSet(runs)).select(names)
        probes = self.probe(runs, self.k)
        table = {**self.k, **{d: kk for d, (_, kk) in probes.items()}}
        measured = copy.copy(self)
        measured.k_ = table
        design = measured.design(list(runs))  # (self is changed only once the checks below pass)
        counts, shares = {}, {}
        for i, name in enumerate(design.run_names):
            run = runs[name]
            domain = run_domain(run)
            counts[domain] = counts.get(domain, 0) + int(np.sum(design.run_index == i))
            shares.setdefault(domain, set()).add(run.replay_ratio)
        few = {d: n for d, n in counts.items() if n < 12 or len(shares[d]) < 2}
        if few:
            raise DataError(f"too few CPT points for the cross-domain law in "
                            f"{', '.join(f'{d} ({n} points, {len(shares[d])} domain share(s))' for d, n in few.items())}: "
                            f"each domain needs runs at two or more domain shares and at least 12 points")
        if len(counts) < 2:
            raise DataError(f"the cross-domain law is fitted on several domains; these runs cover only {', '.join(counts)}")
        self.k_ = table
        self.fit_design(design, target="loss:domain", data_hash=runs.data_hash(), data_source=runs.source,
                        **fit_options)
        self.result_.diagnostics.probes = {d: name for d, (name, _) in probes.items()}
        return self
