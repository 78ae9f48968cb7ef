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

``cpt_share`` (cptlaw adds it, with ``replay="domain"``; on by default in a fit): the forward area counts each CPT
step by the domain's share of its batch, A * (S1pt + r_cpt * S1cpt)^(-alpha) (w * S1pt with ``pt_weight``), no new
parameter.  The same finding as ``pt_weight``'s (a PT step teaches a domain that is 5% of its batch about as much as
0.04-0.12 of a CPT step): on the bundled replay sweeps it took the domain loss's held-out-ratio error from 1.40% to
0.91% (interpolated) and 2.74% to 1.60% (extrapolated) on the size-s folds (docs/accuracy-replay.md); by set, it
gains on pilot-gpu-domains and -german-mix, changes nothing on pilot-gpu-german (no German in its PT: the area term
fits to 0) and is 0.03-0.04 points worse on pilot-v1 (within 5%: a tie by select's rule).

``replay_factor`` (cptlaw adds it, with ``replay``): the ratio factor g(r_cpt) of the shift term.

* ``"exp"`` (Eq. 8): 1 - exp(-a2 r_cpt) (general) and exp(a2 r_cpt) - 1 (domain); by name, and what a law from
  given coefficients or a fit saved before the option existed uses.  The domain factor
  is convex in the domain share for every a2 > 0: it forces the shift at share 0.9 to be at least 1.8x the shift at
  share 0.5, where the bundled pilot sets show 1.03-1.27x (issue 21).
* ``"power"`` (cptlaw's default for a fit, :data:`DEFAULT_REPLAY_FACTOR`): g = r_cpt^a2 for both losses (g(1) = 1,
  so B is the shift without replay), concave for a2 < 1 and convex above: the data choose, with a2 in (0, 5].
  C2's factor exp(a1 r) stays, with a1 within ±2 instead of ±20 (two fitted ratios otherwise trade a huge C2 or B
  against an exponent at its bound; docs/accuracy-replay.md compares the bounds).  cptlaw's form; ``benchmarks/replay_factor.py`` cross-validates it against Eq. 8
  over held-out ratios on every bundled set with several ratios (docs/accuracy-replay.md).

Open-source PT models (``pt="unknown"``; §6 and App. G, laws.md §3.4): the PT history is unknown, so S1pt is a
fitted parameter, the PT is assumed annealed to an LR of 0 (its S2pt term folds into L0, so there is no C1) and
the CPT LR re-warms from that 0 (the first CPT step's momentum starts from eta_pt_end = 0)::

    L(t) = L0 + A * (S1cpt + S1pt)^(-alpha) - C2 * S2cpt + B * (1 - (1 + E * S1cpt)^(-beta))

The data are CPT-only runs: every row is CPT (a run's ``transfer`` must be None or 0) and its whole LR is the
CPT schedule; the general loss is measured on a proxy general set.  :func:`cpt_part` cuts a known-PT run to
its CPT part.  With ``size=True`` the PT annealing term, and so gamma1, is absent too.

Options cptlaw adds (each recorded in the saved fit when it differs from Eq. 4, and shown in the equation text;
``cptlaw select`` chooses among them by cross-validation on the user's runs):

``shift``, the clock x that drives the distribution-shift term B * (1 - (1 + E * x)^(-beta)):

* ``"area"`` (Eq. 4, the default): x = S1cpt, the CPT's forward area.
* ``"steps"``: x = t, the number of CPT steps: the form the paper first fitted at a constant LR (its Fig. 2)
  before replacing t by S1cpt (Eq. 3).
* ``"sqrt"``: x = sum over CPT steps of sqrt(eta_i * eta_ref), eta_ref the PT's peak LR (for ``pt="unknown"``,
  the CPT's own peak): a clock that grows like the square root of the LR, in LR units (it equals S1cpt for a
  CPT at eta_ref).  cptlaw adds it: under a re-warmup the domain loss falls fast while the LR, and so S1cpt, is
  still small, and on the bundled pilot sets this clock follows that fall where neither the area nor the step
  clock does (issue 20; docs/accuracy-forms.md).  The paper's own Fig. 2 fits t at one constant LR, which
  cannot tell these clocks apart.

``pt_credit``, how long the PT's annealing keeps lowering the loss:

* ``"lasting"`` (Eq. 4, the default): - C1 * S2pt at every CPT step.
* ``"fading"``: - C1 * S2pt * (1 + E * x)^(-beta), the PT annealing credit times the part of the distribution
  shift still to come, so that it fades as the shift proceeds (no extra parameter).  cptlaw adds it: on real
  curves the final domain loss after an annealed PT equals that after a constant PT (pilot-gpu-german-mix: 1.818
  against 1.814), which Eq. 4's everlasting credit cannot express.

``pt_weight``: the forward area with the PT steps weighted by a fitted w in (0, 1],
A * (w * S1pt + S1cpt)^(-alpha).  Eq. 4 is w = 1.  cptlaw adds it: for a domain that was a small share of the PT
data, a PT step teaches the domain less than a CPT step does; fits give w close to the domain's share of PT
(0.04-0.12 where it was 5%), and w close to 1 where the domain was absent from PT (its loss then falls with the
general loss).  Needs a known PT (``pt="known"``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..data import Run, RunSet, target_column
from ..errors import CptlawError, DataError
from ..schedules import AreaOptions, Areas, compute_areas, cpt_cumsum
from .base import AreaLaw, Design, Parameter, _as_runs, positive_log, require_meta, running_peak, signs

PT_MODES = ("known", "unknown")
SHIFTS = ("area", "steps", "sqrt")
PT_CREDITS = ("lasting", "fading")
REPLAY_FACTORS = ("exp", "power")
# cptlaw's default replay factor for a fit (CPTLaw.fit): the power factor beat Eq. 8's on every bundled set with a
# replay sweep, for both losses, interpolated and extrapolated (docs/accuracy-replay.md)
DEFAULT_REPLAY_FACTOR = "power"
# cptlaw's default form per role of the loss (CPTLaw.fit; docs/accuracy-forms.md has the cross-validation that
# chose them): Eq. 4 for the general (PT-distribution) loss, where no form gains on every bundled set; for a CPT
# domain's loss, the square-root clock, the fading PT credit and the PT-step weight, which gain on every set
EQ4_FORM = {"shift": "area", "pt_credit": "lasting", "pt_weight": False}  # the form options' values in Eq. 4
DEFAULT_FORMS = {"general": dict(EQ4_FORM),
                 "domain": {"shift": "sqrt", "pt_credit": "fading", "pt_weight": True}}
# the feature that drives the shift term, per ``shift`` (its name in designs and saved input ranges)
CLOCKS = {"area": "S1cpt", "steps": "tcpt", "sqrt": "S1cpt_sqrt"}


def cpt_part(run: Run) -> Run:
    """The CPT part of a PT -> CPT run, as a CPT-only run (``transfer`` None; the same step labels), for the
    open-source mode (``pt="unknown"``): the rows from the transfer on, and their observations."""
    if run.transfer is None:
        raise DataError(f"run {run.name!r} has no CPT part (no transfer)")
    t = run.transfer
    losses = {}
    for col, (idx, val) in run.losses.items():
        keep = idx >= t
        losses[col] = (idx[keep] - t, val[keep])
    return dataclasses.replace(run, steps=run.steps[t:], lr=run.lr[t:], transfer=None, losses=losses)


class CPTLaw(AreaLaw):
    name = "cpt"
    INPUTS = ("S1", "S1cpt", "S2pt", "S2cpt", "lr_peak", "lr_peak_cpt", "S1_transfer", "S1cpt_sqrt", "tcpt", "N",
              "r_pt")  # (the shift's own clock, where the form has one)
    # defined on CPT rows only, their seen range is over those (fit diagnostics): the CPT peak LR, and the PT's
    # forward area at the transfer (a transfer point earlier or later than any fitted one is flagged)
    CPT_INPUTS = ("lr_peak_cpt", "S1_transfer")
    HELDOUT_CPT_ROWS = True  # a held-out CPT run shares its PT prefix with the fitted runs
    # What the planner needs to know of the features at a run's last step (plan.features): the areas are linear
    # in the LR sequence, so affine in the CPT peak LR of a parametric family; these are the highest LR applied
    # over the whole run and over its CPT phase; every other feature does not depend on the peak
    AREA_FEATURES = ("S1", "S1pt", "S1cpt", "S2pt", "S2cpt", "S1_transfer")
    FORM_OPTIONS = ("shift", "pt_credit", "pt_weight", "replay_factor", "cpt_share")  # may differ between two fits
    PEAK_FEATURES = {"lr_peak": "run", "lr_peak_cpt": "cpt"}
    citation = ("Wang, Tissue et al. (2025), Learning Dynamics in Continual Pre-Training for Large Language "
                "Models, ICML 2025, arXiv:2505.07796, Eq. 4 / 7 / 8")

    def __init__(self, *, size: bool = False, replay: str | None = None, n_unit: float = 1e6, pt: str = "known",
                 shift: str | None = None, pt_credit: str | None = None, pt_weight: bool | None = None,
                 replay_factor: str | None = None, cpt_share: bool | None = None, **area_options):
        super().__init__(**area_options)
        self.size = size
        self.replay = replay
        self.n_unit = n_unit
        self.pt = pt
        if replay not in (None, "general", "domain"):
            raise ValueError("replay must be None, 'general' or 'domain'")
        if replay_factor not in (None, *REPLAY_FACTORS):
            raise ValueError(f"replay_factor must be one of {REPLAY_FACTORS} (or None: the default), got "
                             f"{replay_factor!r}")
        if replay_factor not in (None, "exp") and not replay:
            raise ValueError(f"replay_factor={replay_factor!r} scales the replay term: it needs replay ('general' or "
                             f"'domain')")
        self.replay_factor = replay_factor
        if cpt_share and replay != "domain":
            raise ValueError("cpt_share weighs CPT steps by the domain's share of the batch: it needs replay='domain'")
        self.cpt_share = None if cpt_share is None else bool(cpt_share)
        if pt not in PT_MODES:
            raise ValueError(f"pt must be one of {PT_MODES}, got {pt!r}")
        if shift not in (None, *SHIFTS):
            raise ValueError(f"shift must be one of {SHIFTS} (or None: the default), got {shift!r}")
        if pt_credit not in (None, *PT_CREDITS):
            raise ValueError(f"pt_credit must be one of {PT_CREDITS} (or None: the default), got {pt_credit!r}")
        if pt == "unknown" and (pt_credit == "fading" or pt_weight):
            raise ValueError("pt='unknown' has no PT annealing term and no PT steps to weigh: pt_credit='fading' and "
                             "pt_weight need a known PT")
        self.shift = shift
        self.pt_credit = pt_credit
        self.pt_weight = None if pt_weight is None else bool(pt_weight)

    # ---- the form: given, or cptlaw's default for the loss being fitted (module docstring) ----------------------
    def role_of(self, runs, target: str) -> str:
        """Whether ``target`` is the general (PT-distribution) loss or a CPT domain's: ``loss:general`` by name;
        any other set by the sign of its change when CPT starts, the sign of the paper's B (positive for the
        D_pt loss, negative for the D_cpt loss, §3.1): the median over CPT runs of (mean of the first fifth of
        its CPT evaluations) - (its last PT evaluation).  A fall is a domain; a rise, or no run with evaluations
        on both sides of its transfer to tell, the general loss (whose default is the paper's Eq. 4)."""
        if target_column(target) == "loss:general":
            return "general"
        runs = list(runs)
        changes = []
        for run in runs:
            if run.transfer_step is None:
                continue
            idx, y = run.observed(target)
            steps = run.steps[idx]
            before, after = y[steps < run.transfer_step], y[steps >= run.transfer_step]
            if not before.size:  # a CPT log from its transfer on: the PT run it branches from, if given
                before = _pt_before(runs, run, target)
            if before.size and after.size:
                changes.append(float(np.mean(after[: max(1, after.size // 5)]) - before[-1]))
        return "domain" if changes and float(np.median(changes)) < 0 else "general"

    def default_form(self, role: str) -> dict:
        """cptlaw's default form for a loss of ``role`` (:data:`DEFAULT_FORMS`; Eq. 4 for an unknown PT)."""
        return dict(DEFAULT_FORMS["general" if self.unknown else role])

    @property
    def form(self) -> dict:
        """The form in use: each given option, else the one :meth:`fit` chose for the loss's role (``form_``),
        else Eq. 4's (a law from given coefficients)."""
        chosen = getattr(self, "form_", EQ4_FORM)
        given = {"shift": self.shift, "pt_credit": self.pt_credit, "pt_weight": self.pt_weight}
        return {k: chosen[k] if v is None else v for k, v in given.items()}

    def fit(self, runs, target: str, **fit_options) -> "CPTLaw":
        """:meth:`AreaLaw.fit`, with each form option left at None set to cptlaw's default for the loss's role
        (:meth:`role_of`; the learned ``role_`` and ``form_``; the form in use is recorded in the saved fit's
        options)."""
        runs = runs if isinstance(runs, RunSet) else RunSet(_as_runs(runs))
        names = fit_options.get("names")
        self.role_ = self.role_of(runs.select(names).with_target(target_column(target)), target)
        self.form_ = self.default_form(self.role_)
        self.replay_factor_ = self.replay_factor or DEFAULT_REPLAY_FACTOR
        self.cpt_share_ = self.replay == "domain" if self.cpt_share is None else self.cpt_share
        return super().fit(runs, target, **fit_options)

    @property
    def share_area(self) -> bool:
        """Whether the forward area counts each CPT step by the domain's share of its batch (``cpt_share``): the
        given option, else what :meth:`fit` used (``cpt_share_``: on for ``replay="domain"``), else off (Eq. 8's
        form: a law from given coefficients, or a fit saved before the option existed)."""
        return self._given_or_fitted("cpt_share", False)

    @property
    def replay_form(self) -> str:
        """The replay factor in use: the given one, else the one :meth:`fit` used (``replay_factor_``: cptlaw's
        default, :data:`DEFAULT_REPLAY_FACTOR`), else Eq. 8's (a law from given coefficients, or a fit saved
        before the option existed)."""
        return self._given_or_fitted("replay_factor", "exp")

    def _given_or_fitted(self, option: str, published):
        """An option's value in use: as given, else as :meth:`fit` resolved it (``<option>_``), else the published
        form's (``published``: a law from given coefficients, or a fit saved before the option existed)."""
        given = getattr(self, option)
        return given if given is not None else getattr(self, option + "_", published)

    def equation(self, params: dict | None = None) -> str:
        """Eq. 4 (or its open-source / step-shift form) with the numbers; Eq. 7 and 8 factors are named."""
        p = {k: f"{v:.4g}" for k, v in (params if params is not None else self._fitted()).items()}
        form = self.form
        x = {"area": "S1cpt", "steps": "t_cpt", "sqrt": "Σ√(η·η_pt)"}[form["shift"]]
        fade = f"·(1 + {p['E']}·{x})^(−{p['beta']})" if form["pt_credit"] == "fading" else ""
        s1pt = f"{p['w']}·S1pt" if form["pt_weight"] else "S1pt"
        s1cpt = "r_cpt·S1cpt" if self.replay == "domain" and self.share_area else "S1cpt"
        area = f"{p['A']}·(S1cpt + {p['S1pt']})^(−{p['alpha']})" if self.unknown else \
            f"{p['A']}·({s1pt} + {s1cpt})^(−{p['alpha']}) − {p['C1']}·S2pt{'·N^' + p['gamma1'] if self.size else ''}{fade}"
        c2 = f"{p['C2']}·S2cpt" + (f"·N^{p['gamma2']}" if self.size else "") + (f"·exp({p['a1']}·r)" if self.replay else "")
        g = {"power": f"r_cpt^{p.get('a2')}", "exp": "g(r; a2)"}[self.replay_form]
        shift = f"{p['B']}·(1 − (1 + {p['E']}·{x})^(−{p['beta']}))" + (f" · {g}" if self.replay else "")
        size = f" + {p['F']}·N^(−{p['gamma3']})" if self.size else ""
        return signs(f"L = {p['L0']} + {area} − {c2} + {shift}{size}")

    @property
    def unknown(self) -> bool:
        return self.pt == "unknown"

    def options(self) -> dict:
        opts = {**super().options(), "size": self.size, "replay": self.replay, "n_unit": self.n_unit, "pt": self.pt}
        if self.replay:  # (recorded only where it acts; a fit without replay reads the same as before)
            opts["replay_factor"] = self.replay_form
        if self.replay == "domain":
            opts["cpt_share"] = self.share_area
        # the form in use, always explicit (a fit saved before v3 lacks these keys and reads as Eq. 4)
        return {**opts, **self.form}

    @property
    def shift_input(self) -> str:
        """The feature that drives the distribution-shift term (:data:`CLOCKS`): S1cpt (Eq. 4), the CPT step
        count, or the square-root-LR clock."""
        return CLOCKS[self.form["shift"]]

    @property
    def NONAFFINE_PEAK_FEATURES(self) -> tuple[str, ...]:
        """Features that change with the CPT peak LR but not affinely (the planner computes them exactly per
        peak): the square-root clock."""
        return ("S1cpt_sqrt",) if self.form["shift"] == "sqrt" else ()

    def _prepare(self, run: Run) -> Areas:
        if not self.unknown:
            return self.areas(run)
        if run.transfer not in (None, 0):  # (not a DataError: Law.fit skips runs whose points lie outside a law)
            raise CptlawError(f"run {run.name!r}: pt='unknown' takes CPT-only runs (the model's PT history is unknown), "
                            f"but this run has a PT prefix up to step {run.transfer_step - 1}; cut it with "
                            f"cptlaw.laws.cpt.cpt_part (CLI: --drop-pt)")
        # The PT ended annealed to an LR of 0: one PT step at LR 0 before the CPT LR, dropped again after
        o = self.area_options
        a = compute_areas(np.r_[0.0, run.lr], AreaOptions(o.lam, "literal", 0, "carry", o.lr_index), transfer=1)
        return Areas(a.s1[1:], a.s2[1:], a.s1_pt[1:], a.s1_cpt[1:], a.s2_pt[1:], a.s2_cpt[1:], a.lr[1:], 0)

    def _valid(self, run, index, prep):
        return np.ones(index.size, dtype=bool) if self.unknown else super()._valid(run, index, prep)

    def parameters(self, y=None, design=None):
        ymin = float(np.min(y)) if y is not None else 2.0
        e_bounds, e_box = self.rate_range(design)
        ps = [Parameter("L0", 0.0, np.inf, (0.5 * ymin, ymin), doc="irreducible loss", linear=True),
              Parameter("A", 0.0, np.inf, (0.05, 3.0), doc="forward-area amplitude", linear=True),
              Parameter("alpha", 1e-4, 5.0, (0.05, 1.5), doc="forward-area exponent")]
        if self.unknown:
            ps.append(Parameter("S1pt", *self.s1pt_range(design), log=True,
                                doc="the unknown PT's forward area (raw LR sum)"))
        else:
            if self.form["pt_weight"]:
                ps.append(Parameter("w", 1e-4, 1.0, (0.02, 1.0), log=True, reference=1.0,
                                    doc="weight of a PT step in the forward area (1 = Eq. 4)"))
            ps.append(Parameter("C1", 0.0, np.inf, (0.01, 2.0), doc="PT annealing coefficient", linear=True))
        ps += [Parameter("C2", 0.0, np.inf, (0.01, 2.0), doc="CPT annealing coefficient", linear=True),
              Parameter("B", -np.inf, np.inf, (-2.0, 2.0), doc="distribution-shift amplitude (free sign)",
                        linear=True),
              Parameter("E", *e_bounds, e_box, log=True, doc="distribution-shift rate"),
              Parameter("beta", 1e-4, 5.0, (0.05, 1.0), doc="distribution-shift exponent")]
        if self.size:
            if not self.unknown:
                ps.append(Parameter("gamma1", -3.0, 3.0, (-0.2, 0.3), doc="PT annealing growth with N"))
            ps += [Parameter("gamma2", -3.0, 3.0, (-0.2, 0.3), doc="CPT annealing growth with N"),
                   Parameter("F", 0.0, np.inf, (0.1, 5.0), doc="model-size amplitude", linear=True),
                   Parameter("gamma3", 1e-4, 3.0, (0.05, 0.6), doc="model-size exponent")]
        if self.replay:
            if self.replay_form == "power":
                # a1 within ±2 (C2's factor at most e^2 apart over the whole share range): with Eq. 8's ±20, two
                # fitted ratios let a huge C2 trade against a1 at its bound (pilot-gpu-domains m legal: C2 = 3.9e5,
                # a1 = -20), which explodes at any other ratio; ±2 and no factor at all were cross-validated against
                # ±20 on held-out ratios (docs/accuracy-replay.md)
                # a2 up to 5 (the shift at half the domain share at least 1/32 of the shift without replay): fits
                # give 0.06-0.6 (domain) and 2-3.7 (general); at 20, a general-loss fit on replay 0.5 and 0.75 put
                # a2 on that bound and missed replay 0.1 by 2500x (same page)
                ps += [Parameter("a1", -2.0, 2.0, (-1.0, 1.0), doc="replay effect on CPT annealing"),
                       Parameter("a2", 1e-6, 5.0, (0.05, 2.0), doc="exponent of the domain share in the shift")]
            else:
                ps += [Parameter("a1", -20.0, 20.0, (-1.0, 1.0), doc="replay effect on CPT annealing"),
                       Parameter("a2", 1e-6, 50.0, (0.5, 6.0), doc="replay effect on the distribution shift")]
        return ps

    def rate_range(self, design=None) -> tuple[tuple[float, float], tuple[float, float]]:
        """Bounds and multi-start box of the shift rate E, from the observed S1cpt (raw LR units; with
        ``shift="steps"``, the observed CPT step counts).

        E only matters through E*S1cpt.  Beyond E*max(S1cpt) < 1e-3 the shift term is linear in S1cpt over
        the data (only B*beta*E is identified), and beyond E*min(S1cpt) > 1e4 it is a step at the transfer
        point; so E is bounded there, the box puts E*S1cpt near 1 inside the observed range, and a fit that
        ends on these bounds is reported as such.  Without CPT points: the published scale (E in 1..1e4 at
        a peak LR of 2e-4).
        """
        s = None if design is None else design.features.get(self.shift_input)
        s = None if s is None else s[s > 0]
        if s is None or s.size == 0:
            return ((1e-9, 1e3), (1e-3, 1.0)) if self.form["shift"] == "steps" else ((1e-3, 1e9), (1.0, 1e4))
        lo, hi = float(s.min()), float(s.max())
        return (1e-3 / hi, 1e4 / lo), (0.1 / hi, max(100.0 / lo, 1.0 / hi))

    @staticmethod
    def s1pt_range(design=None) -> tuple[float, float, tuple[float, float]]:
        """Bounds and multi-start box of the unknown PT's forward area S1pt, relative to the largest observed
        S1cpt (raw LR units): a PT area 1e-6 to 1e6 times the CPT's bounds it, and the box spans 0.1 to 100
        times (the paper's fits: 2-40x their CPT areas, Fig. 18).  Without a design: the published scale."""
        s = None if design is None else design.features.get("S1cpt")
        hi = float(np.max(s)) if s is not None and s.size and np.max(s) > 0 else 1.0
        return 1e-6 * hi, 1e6 * hi, (0.1 * hi, 100.0 * hi)

    def _features(self, run, index, a):
        f = {"S1": a.s1[index], "S1cpt": a.s1_cpt[index], "S2pt": a.s2_pt[index], "S2cpt": a.s2_cpt[index],
             "lr_peak": running_peak(run.lr, index),
             "lr_peak_cpt": running_peak(run.lr, index, run.lr.size if run.transfer is None else run.transfer)}
        form = self.form
        if form["pt_weight"]:
            f["S1pt"] = a.s1_pt[index]
        # the PT's forward area at the transfer, on CPT rows (0 on PT rows): where the CPT starts, for flagging
        f["S1_transfer"] = np.where(a.s1_cpt[index] > 0, a.s1_pt[index], 0.0)
        if form["shift"] != "area":  # the shift's own clock (steps or sqrt) over the CPT steps
            start = 0 if run.transfer is None and self.unknown else run.transfer
            if start is None:
                f[self.shift_input] = np.zeros(index.size)
            else:
                if form["shift"] == "steps":
                    ticks = np.ones(a.lr.size)
                else:  # sqrt(eta * eta_ref), eta_ref the PT's peak LR (an unknown PT: the CPT's own peak)
                    ref = float(np.max(run.lr[:start])) if start > 0 else float(np.max(run.lr))
                    ticks = np.sqrt(np.maximum(a.lr, 0.0) * ref)
                f[self.shift_input] = cpt_cumsum(ticks, start, self.lr_index)[index]
        size = require_meta(run, "model_size", self.name) if self.size else None
        replay = (require_meta(run, "replay_ratio", self.name) if run.is_cpt else 1.0) if self.replay else None
        return {**f, **self.meta_features(index.size, size, replay)}

    def meta_features(self, n: int, model_size=None, replay_ratio=None) -> dict[str, np.ndarray]:
        """The inputs of Eq. 7 (``N`` = model size / ``n_unit``) and Eq. 8 (``r_pt`` = the replay ratio) at ``n``
        points (``model_size`` and ``replay_ratio`` one value, or one per point); only those the options use."""
        out = {}
        if self.size:
            out["N"] = np.broadcast_to(np.asarray(model_size, float) / self.n_unit, (n,)).copy()
        if self.replay:
            out["r_pt"] = np.broadcast_to(np.asarray(replay_ratio, float), (n,)).copy()
        return out

    def fading_matters(self, design: Design) -> bool:
        """Whether ``pt_credit="fading"`` can change any prediction on ``design``: C1*S2pt*(1 + E*x)^-beta differs
        from Eq. 4's C1*S2pt only where S2pt != 0 and the shift's clock x > 0, i.e. on the CPT rows of a CPT from
        an annealed PT (:mod:`cptlaw.select` does not refit a fading form where it cannot)."""
        F = design.features
        return bool(np.any((F["S2pt"] != 0) & (F[self.shift_input] > 0)))

    def shift_progress(self, design: Design, params: dict | None = None) -> np.ndarray:
        """How far the distribution shift has come at each point of ``design``: ``1 - (1 + E*x)^(-beta)`` in
        [0, 1), x = S1cpt (Eq. 4) or the CPT step count (``shift="steps"``).  The planner's saturation."""
        p = params if params is not None else self._fitted()
        return _shift_progress(p["E"], p["beta"], design.features[self.shift_input])[1]

    def critical_point(self, design: Design, params: dict | None = None) -> np.ndarray:
        """The loss the CPT branch converges to at each point of ``design`` (§4.4, Fig. 7c): the forward area and
        the shift's driver taken to infinity, so the ``A * S1^-alpha`` term is gone and the shift saturated at 1,
        with the annealing areas held at the design's values.  The paper defines the point in words only; this
        reading is ours (with S2 = 0 it is exactly L0 + B)."""
        F = dict(design.features)
        for name in {"S1", "S1cpt", self.shift_input}:
            F[name] = np.full(design.n, np.inf)
        with np.errstate(all="ignore"):
            return self.value(self.theta(params), dataclasses.replace(design, features=F))

    def _terms(self, theta, F):
        """The pieces of the equation, shared by value and jacobian."""
        form = self.form
        p = dict(zip(self.param_names, theta))
        x = F[self.shift_input]
        u, shift = _shift_progress(p["E"], p["beta"], x)
        n1 = n2 = 1.0
        if self.size:
            n1 = 1.0 if self.unknown else F["N"] ** p["gamma1"]
            n2 = F["N"] ** p["gamma2"]
        c2fac = replay_fac = 1.0
        if self.replay:
            r_pt = F["r_pt"]
            r_cpt = 1.0 - r_pt
            r_anneal = r_pt if self.replay == "general" else r_cpt
            c2fac = np.exp(p["a1"] * r_anneal)
            replay_fac = self._replay_factor(p["a2"], r_cpt)[0]
        # the forward area: S1cpt + the fitted S1pt (unknown PT), S1 (Eq. 4) or w * S1pt + S1cpt (pt_weight)
        if self.unknown:
            s1 = F["S1cpt"] + p["S1pt"]
        elif form["pt_weight"]:
            s1 = p["w"] * F["S1pt"] + F["S1cpt"]
        else:
            s1 = F["S1"]
        if self.replay == "domain" and self.share_area:  # a CPT step teaches the domain by its share of the batch
            s1 = s1 - F["r_pt"] * F["S1cpt"]  # S1cpt -> r_cpt * S1cpt = (1 - r_pt) * S1cpt
        fade = u ** (-p["beta"]) if form["pt_credit"] == "fading" else 1.0  # the part of the shift still to come
        return p, x, u, shift, s1, n1, n2, c2fac, replay_fac, fade

    def _replay_factor(self, a2: float, r_cpt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """g(r_cpt) of the shift term and dg/da2 (module docstring, ``replay_factor``)."""
        if self.replay_form == "power":
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(r_cpt > 0, r_cpt ** a2, 0.0)
                return g, np.where(r_cpt > 0, g * np.log(np.where(r_cpt > 0, r_cpt, 1.0)), 0.0)
        if self.replay == "general":
            return 1.0 - np.exp(-a2 * r_cpt), r_cpt * np.exp(-a2 * r_cpt)
        return np.expm1(a2 * r_cpt), r_cpt * np.exp(a2 * r_cpt)

    def value(self, theta, d: Design):
        F = d.features
        p, x, u, shift, s1, n1, n2, c2fac, replay_fac, fade = self._terms(theta, F)
        L = p["L0"] + p["A"] * s1 ** (-p["alpha"])
        if not self.unknown:  # (an unknown PT ended annealed to 0: no PT annealing term)
            L = L - p["C1"] * F["S2pt"] * n1 * fade
        L = L - p["C2"] * F["S2cpt"] * n2 * c2fac + p["B"] * shift * replay_fac
        if self.size:
            L = L + p["F"] * F["N"] ** (-p["gamma3"])
        return L

    def jacobian(self, theta, d: Design):
        F = d.features
        p, x, u, shift, s1, n1, n2, c2fac, replay_fac, fade = self._terms(theta, F)
        s1a = s1 ** (-p["alpha"])
        upow = u ** (-p["beta"])
        cols = {
            "L0": np.ones_like(s1a),
            "A": s1a,
            "alpha": -p["A"] * s1a * positive_log(s1),
            "C2": -F["S2cpt"] * n2 * c2fac,
            "B": shift * replay_fac,
            "E": p["B"] * replay_fac * p["beta"] * x * upow / u,
            "beta": p["B"] * replay_fac * upow * np.log(u),
        }
        if self.unknown:
            cols["S1pt"] = -p["alpha"] * p["A"] * s1a / s1
        else:
            pt_credit = F["S2pt"] * n1 * fade  # C1's column, negated
            cols["C1"] = -pt_credit
            if self.form["pt_credit"] == "fading":  # d/dE and d/dbeta of -C1 * S2pt * n1 * u^-beta
                cols["E"] = cols["E"] + p["C1"] * pt_credit * p["beta"] * x / u
                cols["beta"] = cols["beta"] + p["C1"] * pt_credit * np.log(u)
            if self.form["pt_weight"]:
                cols["w"] = -p["alpha"] * p["A"] * s1a / s1 * F["S1pt"]
        if self.size:
            lnN = np.log(F["N"])
            if not self.unknown:
                cols["gamma1"] = -p["C1"] * F["S2pt"] * n1 * fade * lnN
            cols["gamma2"] = -p["C2"] * F["S2cpt"] * n2 * c2fac * lnN
            nF = F["N"] ** (-p["gamma3"])
            cols["F"] = nF
            cols["gamma3"] = -p["F"] * nF * lnN
        if self.replay:
            r_pt = F["r_pt"]
            r_cpt = 1.0 - r_pt
            r_anneal = r_pt if self.replay == "general" else r_cpt
            cols["a1"] = -p["C2"] * F["S2cpt"] * n2 * c2fac * r_anneal
            cols["a2"] = p["B"] * shift * self._replay_factor(p["a2"], r_cpt)[1]
        return np.column_stack([cols[n] for n in self.param_names])


def _pt_before(runs, run, target: str) -> np.ndarray:
    """The observations of ``target`` before ``run``'s transfer in a PT-only run with the same LR up to it."""
    t = run.transfer
    for other in runs:
        if other.transfer_step is None and other.lr.size >= t and np.array_equal(other.lr[:t], run.lr[:t]):
            idx, y = other.observed(target)
            y = y[other.steps[idx] < run.transfer_step]
            if y.size:
                return y
    return np.zeros(0)


def _shift_progress(E, beta, x):
    """(u, 1 - u^-beta) with u = 1 + E*x: the distribution-shift term of Eq. 4 before its amplitude B."""
    u = 1.0 + E * x
    return u, 1.0 - u ** (-beta)
