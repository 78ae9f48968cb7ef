"""The multi-power law's loss drop (Luo et al. 2025, Eq. 2): the numerics of :class:`cptlaw.laws.MultiPowerLaw`,
kept with the law (they are not a property of a schedule, as the areas S1/S2 are)."""

from __future__ import annotations

import numpy as np

from ..schedules.areas import lr_drops


def loss_drop(lr: np.ndarray, at: np.ndarray, B: float, C: float, beta: float, gamma: float,
              jac: bool = False, max_cells: int = 2_000_000, max_points: int | None = None):
    """Multi-Power-Law loss drop (Luo et al. 2025, Eq. 2), vectorised over evaluation steps::

        LD(t) = B * sum_{k=1..t} (eta_{k-1} - eta_k) * G(eta_k^(-gamma) * S_k(t)),
        G(x) = 1 - (C*x + 1)^(-beta),   S_k(t) = sum_{tau=k..t} eta_tau = P(t) - P(k-1).

    ``lr`` is the dense LR after the warmup convention; ``at`` holds indices into it.  Only the steps where
    the LR changes contribute, so the cost is O(len(at) * #changes), computed in row chunks of at most
    ``max_cells`` cells.  G is set to 1 where eta_k <= 1e-10 (its limit; laws.md pitfall 9).

    ``max_points`` (default None: exact) merges consecutive same-sign LR changes into at most about that
    many blocks (see ``_merge_changes``), trading a tiny approximation for speed on dense decays.

    Returns LD (shape of ``at``), or with ``jac=True`` also dLD/d(B, C, beta, gamma) as an (n, 4) array.
    """
    at = np.asarray(at, dtype=np.int64)
    terms = _LDTerms(np.asarray(lr, dtype=np.float64), max_points, at, max_cells)
    return terms.evaluate(at, B, C, beta, gamma, jac=jac, max_cells=max_cells)


def _merge_changes(k, drop, P_km1, log_eta, max_points, at=None):
    """Merge runs of consecutive LR changes of one sign into at most ~max_points blocks.

    Blocks never straddle an evaluation step in ``at``, so for every t a block lies wholly at k <= t
    or wholly at k > t.  A block keeps the summed drop and the drop-weighted means of P(k-1) and log(eta_k); its position is
    its first k.  Exact for a single change; for smooth decays the error is far below loss noise
    (measured in the tests and docs).
    """
    size = int(np.ceil(k.size / max_points))
    sign = np.sign(drop)
    new = (np.arange(k.size) % size == 0)
    new[1:] |= sign[1:] != sign[:-1]
    if at is not None and len(at):
        side = np.searchsorted(np.sort(np.asarray(at)), k, side="left")  # evaluation steps below k
        new[1:] |= side[1:] != side[:-1]
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    dsum = np.bincount(group, weights=drop)
    mean = lambda v: np.bincount(group, weights=drop * v) / dsum  # noqa: E731 -- drop-weighted block mean
    return k[first], dsum, mean(P_km1), mean(log_eta)


class _LDTerms:
    """Precomputed change points of an LR sequence for repeated LD evaluations (used while fitting).

    Columns with eta_k <= 1e-10 have G = 1 and are summed separately with a prefix sum.  For the others, when
    the evaluation steps are known up front (a fit) and the cells (t, k <= t) number at most ``max_cells``,
    S_k(t) is computed once and stored flat (:meth:`_flatten`); otherwise rows are done in chunks, with S_k(t)
    clipped at 0 for k > t, where G(0) = 0 makes the term vanish, so each row is two matrix-vector products.
    """

    def __init__(self, lr: np.ndarray, max_points: int | None = None, at: np.ndarray | None = None,
                 max_cells: int = 2_000_000):
        self.lr, self.max_points = lr, max_points
        d = lr_drops(lr)
        k = np.flatnonzero(d != 0.0)
        self.P = np.cumsum(lr)
        eta_k = lr[k]
        zero = eta_k <= 1e-10
        self.zero_k = k[zero]
        self.zero_cum = np.cumsum(d[k[zero]])
        k = k[~zero]
        drop, P_km1, log_eta = d[k], self.P[k] - lr[k], np.log(lr[k])  # P_km1 = P(k-1)
        if max_points and k.size > max_points:
            k, drop, P_km1, log_eta = _merge_changes(k, drop, P_km1, log_eta, max_points, at)
        self.k, self.drop, self.P_km1, self.log_eta = k, drop, P_km1, log_eta
        self.drop_log_eta = self.drop * self.log_eta
        self._cells = None
        if at is not None:
            self._flatten(np.asarray(at, dtype=np.int64), max_cells)

    def coarse(self, max_points: int, at: np.ndarray) -> "_LDTerms":
        """The same LR with its changes merged into at most ~``max_points`` blocks (a cheaper approximation)."""
        return _LDTerms(self.lr, min(max_points, self.max_points or max_points), at)

    def _flatten(self, at: np.ndarray, max_cells: int):
        """For repeated evaluations at the same steps ``at`` (a fit): the parameter-free part of every
        contributing cell (t, k <= t), stored flat, row after row -- only the lower triangle is ever
        computed, and S_k(t) is subtracted once instead of at every evaluation."""
        m = np.searchsorted(self.k, at, side="right")  # row t uses k[:m_t]
        if not self.k.size or m.sum() > max_cells:
            return
        rows = np.flatnonzero(m)
        starts = np.r_[0, np.cumsum(m[rows])[:-1]]
        k_idx = np.arange(int(m.sum())) - np.repeat(starts, m[rows])  # 0..m_t-1 in each row
        t_idx = np.repeat(at[rows], m[rows])
        self._at = at.copy()
        self._cells = {"rows": rows, "starts": starts, "k": k_idx,
                       "S": self.P[t_idx] - self.P_km1[k_idx],  # S_k(t) > 0
                       "drop": self.drop[k_idx], "drop_log_eta": self.drop_log_eta[k_idx],
                       "total": np.cumsum(self.drop)[m[rows] - 1]}  # sum of drops with k <= t

    def _evaluate_cells(self, n, C, beta, gamma, jac):
        """LD / B and its gradient at the steps given to :meth:`_flatten` (same maths as the row chunks).

        The cell values of the last (C, beta, gamma) are kept: a fit asks for the Jacobian at the point whose
        residuals it has just evaluated, and then only the gradient sums are new."""
        c = self._cells
        key = (C, beta, gamma)
        if c.get("key") != key:
            cx = np.take(C * np.exp(-gamma * self.log_eta), c["k"])
            cx *= c["S"]  # C * eta_k^(-gamma) * S_k(t)
            lg = np.log1p(cx)
            pw = np.multiply(lg, -beta)
            np.exp(pw, out=pw)  # (1 + Cx)^(-beta); G = 1 - pw
            c.update(key=key, cx=cx, lg=lg, pw=pw)
        cx, lg, pw, starts, rows = c["cx"], c["lg"], c["pw"], c["starts"], c["rows"]
        out = np.zeros(n)
        out[rows] = c["total"] - np.add.reduceat(pw * c["drop"], starts)
        if not jac:
            return out, None
        grads = np.zeros((n, 4))
        u = cx / (1.0 + cx)
        u *= pw  # C x (1 + Cx)^(-beta-1)
        grads[rows, 1] = (beta / C) * np.add.reduceat(u * c["drop"], starts)  # dG/dC
        grads[rows, 2] = np.add.reduceat(lg * pw * c["drop"], starts)  # dG/dbeta
        grads[rows, 3] = -beta * np.add.reduceat(u * c["drop_log_eta"], starts)  # dG/dgamma
        return out, grads

    def _zero_part(self, t: np.ndarray) -> np.ndarray:
        count = np.searchsorted(self.zero_k, t, side="right")
        return np.where(count > 0, self.zero_cum[np.maximum(count - 1, 0)] if self.zero_cum.size else 0.0, 0.0)

    def evaluate(self, at, B, C, beta, gamma, jac=False, max_cells=2_000_000):
        n = at.size
        out = np.zeros(n)
        grads = np.zeros((n, 4)) if jac else None
        if n and self.zero_k.size:
            out += self._zero_part(at)
        if self._cells is not None and (at is self._at or np.array_equal(at, self._at)):
            part, g = self._evaluate_cells(n, C, beta, gamma, jac)
            out += part
            if jac:
                grads = g
        elif self.k.size and n:
            scale = np.exp(-gamma * self.log_eta)  # eta_k^(-gamma)
            rows = int(np.clip(max_cells // self.k.size, 1, 128))
            for lo in range(0, n, rows):
                t = at[lo:lo + rows]
                m = int(np.searchsorted(self.k, t.max(), side="right"))  # only k <= max(t) can contribute
                if m == 0:
                    continue
                drop, drop_log_eta = self.drop[:m], self.drop_log_eta[:m]
                x = self.P[t][:, None] - self.P_km1[None, :m]  # S_k(t)
                np.maximum(x, 0.0, out=x)  # k > t: S = 0, so G = 0
                x *= scale[:m]
                cx1 = C * x
                cx1 += 1.0
                lg = np.log(cx1)
                pw = np.exp(-beta * lg)  # (1 + Cx)^(-beta); G = 1 - pw
                out[lo:lo + rows] += drop.sum() - pw @ drop
                if jac:
                    q = pw / cx1
                    q *= x  # x (1 + Cx)^(-beta-1)
                    grads[lo:lo + rows, 1] = beta * (q @ drop)  # dG/dC
                    grads[lo:lo + rows, 2] = (pw * lg) @ drop  # dG/dbeta
                    grads[lo:lo + rows, 3] = -beta * C * (q @ drop_log_eta)  # dG/dgamma
        if jac:
            grads[:, 0] = out
            grads[:, 1:] *= B
            return B * out, grads
        return B * out
