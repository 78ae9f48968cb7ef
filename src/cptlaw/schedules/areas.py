"""Forward and annealing areas of a dense per-step LR sequence, in O(n) and float64.

Tissue et al. 2024 (arXiv 2408.11029), Eq. 1 and 5::

    S1(s) = sum_{i<=s} eta_i                                         (forward area)
    S2(s) = sum_{i<=s} m_i,   m_i = lam * m_{i-1} + (eta_{i-1} - eta_i),   m_first = 0   (annealing area)

which equals the double sum  sum_{i<=s} sum_{k<=i} (eta_{k-1} - eta_k) * lam^(i-k).  The recursion is a
first-order IIR filter: the unit lower-bidiagonal system ``(I - lam L) m = d``, solved by LAPACK's banded
triangular solve ``dtbtrs`` (one forward substitution in C, O(n)).  Its arithmetic, ``m_i = d_i - (-lam) m_{i-1}``,
is ``scipy.signal.lfilter``'s bit for bit (a test checks it), without the 1.2 s import of ``scipy.signal``.

Wang, Tissue et al. 2025 (arXiv 2505.07796), Eq. 2 and 4, split both areas at the transfer step:
S1pt/S2pt sum the PT steps, S1cpt/S2cpt the CPT steps.  By default the momentum ``m`` is carried across
the boundary (one global recursion, the natural reading of the double sum; laws.md pitfall 5);
``momentum="reset"`` restarts it at the first CPT step (``m_T = eta_{T-1} - eta_T``).

Conventions that change numbers are fields of :class:`AreaOptions` and are stored with every fit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.linalg.lapack import dtbtrs

WARMUP_CONVENTIONS = ("as_peak", "literal")


@dataclass(frozen=True)
class AreaOptions:
    """Conventions of the area computation.

    lam:
        momentum decay λ of the annealing area (Tissue et al. use 0.999 throughout).
    warmup:
        ``"as_peak"`` (Tissue et al. §3.4, and the CPT paper): the initial warmup steps count as if the LR
        were already at its peak, so warmup adds W·η_max to S1 and nothing to S2.  ``"literal"`` (the
        Multi-Power-Law code, laws.md §2.4): the LR array is used as logged, warmup included, in S1, S2 and
        MPL's loss-drop sum; the published MPL parameters only reproduce the curves under it.
        Only the PT warmup is affected; a CPT re-warmup is always literal (it makes S2cpt negative).
    warmup_steps:
        length of the initial warmup; ``None`` detects the leading strictly increasing ramp.
    momentum:
        ``"carry"`` the S2 momentum across the PT->CPT boundary, or ``"reset"`` it there.
    lr_index:
        ``"inclusive"``: the loss logged at step t was measured after the update with η_t, so S1(t)
        includes η_t (the papers' convention).  ``"exclusive"``: it was measured before that update, so
        the areas at step t are those of step t-1.
    """

    lam: float = 0.999
    warmup: str = "as_peak"
    warmup_steps: int | None = None
    momentum: str = "carry"
    lr_index: str = "inclusive"

    def __post_init__(self):
        if not 0.0 <= self.lam < 1.0:
            raise ValueError(f"lam must be in [0, 1), got {self.lam}")
        if self.warmup not in WARMUP_CONVENTIONS:
            raise ValueError(f"warmup must be one of {WARMUP_CONVENTIONS}, got {self.warmup!r}")
        if self.momentum not in ("carry", "reset"):
            raise ValueError(f"momentum must be 'carry' or 'reset', got {self.momentum!r}")
        if self.lr_index not in ("inclusive", "exclusive"):
            raise ValueError(f"lr_index must be 'inclusive' or 'exclusive', got {self.lr_index!r}")
        if self.warmup_steps is not None and not (isinstance(self.warmup_steps, int) and self.warmup_steps >= 0):
            raise ValueError(f"warmup_steps must be a whole number >= 0 or None, got {self.warmup_steps!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Areas:
    """Dense per-step areas (index i = i-th step of the trajectory)."""

    s1: np.ndarray
    s2: np.ndarray
    s1_pt: np.ndarray
    s1_cpt: np.ndarray
    s2_pt: np.ndarray
    s2_cpt: np.ndarray
    lr: np.ndarray  # the LR after the warmup convention was applied
    warmup_end: int = 0  # steps 0 .. warmup_end-1 were flattened to the peak (as_peak): outside the laws' domain


def detect_warmup(lr: np.ndarray) -> int:
    """Number of warmup steps: the leading strictly increasing ramp (0 if the LR does not rise at first).

    Steps ``0 .. W-1`` are below the peak ``lr[W]``.
    """
    lr = np.asarray(lr, dtype=np.float64)
    if lr.size < 2:
        return 0
    not_rising = np.flatnonzero(np.diff(lr) <= 0)
    return int(not_rising[0]) if not_rising.size else int(lr.size - 1)


def apply_warmup(lr: np.ndarray, warmup: str = "as_peak", warmup_steps: int | None = None,
                 end: int | None = None) -> np.ndarray:
    """The LR sequence as the area formulas see it under a warmup convention (laws.md pitfall 2).

    ``end`` limits the warmup search to the PT prefix ``lr[:end]`` so a CPT re-warmup is never flattened.
    """
    lr = np.asarray(lr, dtype=np.float64)
    w = flattened_warmup(lr, warmup, warmup_steps, end)
    if w <= 0:
        return lr
    out = lr.copy()
    out[:w] = np.max(lr[: w + 1])
    return out


def flattened_warmup(lr: np.ndarray, warmup: str = "as_peak", warmup_steps: int | None = None,
                     end: int | None = None) -> int:
    """How many leading steps the warmup convention flattens to the peak (0 under ``literal``).

    Under ``as_peak`` the areas at those steps count LR that was never applied, so the laws do not describe
    the loss there (Tissue et al. 2024 §3.4 fit and plot only after the warmup): such points are outside
    the laws' domain, left out of fits and predictions.
    """
    if warmup == "literal":
        return 0
    if warmup != "as_peak":
        raise ValueError(f"warmup must be one of {WARMUP_CONVENTIONS}, got {warmup!r}")
    head = lr if end is None else lr[:end]
    w = detect_warmup(head) if warmup_steps is None else int(warmup_steps)
    return max(0, min(w, max(head.size - 1, 0)))


def lr_drops(lr: np.ndarray) -> np.ndarray:
    """d_i = eta_{i-1} - eta_i with d_0 = 0 (i.e. eta_{-1} := eta_0, so m_0 = 0)."""
    d = np.empty_like(lr)
    d[0] = 0.0
    np.subtract(lr[:-1], lr[1:], out=d[1:])
    return d


def momentum(lr: np.ndarray, lam: float, reset_at: int | None = None) -> np.ndarray:
    """m_i = lam * m_{i-1} + (eta_{i-1} - eta_i), m_0 = 0; optionally restarted (m = 0 before) at ``reset_at``."""
    d = lr_drops(np.asarray(lr, dtype=np.float64))
    if reset_at is None or reset_at <= 0 or reset_at >= d.size:
        return _decay_filter(d, lam)
    return np.concatenate([_decay_filter(d[:reset_at], lam), _decay_filter(d[reset_at:], lam)])


def _decay_filter(d: np.ndarray, lam: float) -> np.ndarray:
    """m_i = lam * m_{i-1} + d_i, m_{-1} = 0: forward substitution of the unit lower-bidiagonal system whose
    sub-diagonal is -lam (LAPACK dtbtrs, band storage: row 0 the unit diagonal, not read; row 1 the sub-diagonal)."""
    if d.size == 0:
        return d.copy()
    band = np.empty((2, d.size), order="F")  # Fortran order: f2py would copy a C-ordered band
    band[0] = 1.0
    band[1] = -lam
    m, info = dtbtrs(band, d[:, None], uplo="L", diag="U")
    if info != 0:  # only an argument error can fail: the unit diagonal is never singular
        raise ValueError(f"LAPACK dtbtrs failed (info={info})")
    return m[:, 0]


def _split(cum: np.ndarray, transfer: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Split a cumulative sum into the part over steps < transfer and the part over steps >= transfer."""
    if transfer is None or transfer >= cum.size:
        return cum, np.zeros_like(cum)
    pt = cum.copy()
    pt[transfer:] = cum[transfer - 1] if transfer > 0 else 0.0
    return pt, cum - pt


def _shift(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    out[0] = 0.0
    out[1:] = x[:-1]
    return out


def cpt_cumsum(ticks: np.ndarray, transfer: int, lr_index: str = "inclusive") -> np.ndarray:
    """Per step i, the sum of ``ticks`` over the CPT steps up to i (0 before ``transfer``, the first CPT step),
    under the step-index convention of :class:`AreaOptions` (``exclusive``: that of step i - 1).  A clock of
    the CPT phase: ones give the CPT step count; the CPT LR gives S1cpt."""
    ticks = np.asarray(ticks, dtype=np.float64)
    cum = np.zeros(ticks.size)
    if transfer < ticks.size:
        cum[transfer:] = np.cumsum(ticks[transfer:])
    return _shift(cum) if lr_index == "exclusive" else cum


def compute_areas(lr: np.ndarray, options: AreaOptions = AreaOptions(), transfer: int | None = None) -> Areas:
    """S1, S2 and their PT/CPT split for a dense LR sequence; ``transfer`` = index of the first CPT step."""
    raw = np.asarray(lr, dtype=np.float64)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError("lr must be a non-empty 1-D array")
    eff = apply_warmup(raw, options.warmup, options.warmup_steps, end=transfer)
    s1 = np.cumsum(eff)
    reset = transfer if options.momentum == "reset" else None
    s2 = np.cumsum(momentum(eff, options.lam, reset_at=reset))
    s1_pt, s1_cpt = _split(s1, transfer)
    s2_pt, s2_cpt = _split(s2, transfer)
    arrays = [s1, s2, s1_pt, s1_cpt, s2_pt, s2_cpt]
    if options.lr_index == "exclusive":
        arrays = [_shift(a) for a in arrays]
    return Areas(*arrays, lr=eff, warmup_end=flattened_warmup(raw, options.warmup, options.warmup_steps, transfer))
