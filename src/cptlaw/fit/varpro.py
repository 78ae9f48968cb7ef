"""Variable projection for the separable laws (Golub & Pereyra 1973; Kaufman 1975).

Every law in cptlaw is linear in its amplitudes once its exponents and rates are fixed::

    L(theta) = Phi(theta_nl) @ c          e.g. CPT Eq. 4: c = (L0, A, C1, C2, B), theta_nl = (alpha, E, beta)

with ``Phi``'s columns the law's Jacobian columns of the linear parameters (``Parameter.linear``).  The fit
minimises the same objective as everywhere in cptlaw, ``sum Huber_delta(log L_hat - log L)``, in two levels:

* inner: for fixed ``theta_nl``, the amplitudes ``c*(theta_nl)`` minimise the objective under their sign
  bounds, by damped Gauss-Newton (the curvature of points beyond delta weighted ``0.1 delta/|r|``, with
  iteratively reweighted least squares, weight ``delta/|r|``, as the fallback; :meth:`Separable.amplitudes`)
  with a sign-bounded linear solve (Lawson & Hanson's active set) and backtracking, warm-started;
* outer: ``theta_nl`` minimises the *profiled* objective, whose residuals are ``log(Phi c*) - log y``, with
  ``least_squares(loss="huber")`` and Kaufman's Jacobian ``P_perp dr/dtheta_nl`` (the derivative through
  ``c*`` projected out).

Why: amplitudes are never sampled, so they cannot be pushed to 0 where their log-space gradient vanishes,
and the multi-start only has to cover the 1-8 nonlinear dimensions, where a Sobol set is dense.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import qmc

FLOOR = 1e-10  # predictions are clamped here before the log (laws.md pitfall 7)
# Tolerance of the profiled local solves.  Tighter only walks further down flat valleys (e.g. the multi-power
# law's beta -> 0, B -> inf) without changing the objective: on real MPL curves 1e-9 and 1e-12 end within
# 1e-14 of each other at 2-3x fewer evaluations.  The final full-space polish keeps 1e-12.
LOCAL_TOL = 1e-9
# The inner Gauss-Newton step weighs the curvature of the points beyond δ by these factors times δ/|r|, the
# first that lowers the objective wins.  1 is iteratively reweighted least squares, which converges only
# linearly when many points lie beyond δ (noisy evaluation curves); 0 would be the exact (semi-smooth) Newton
# Hessian of the Huber loss, whose steps are too long when few points lie within δ.  0.1 halved the inner
# iterations on the bundled pilot fits at identical optima (``python -m benchmarks bench_fit`` times both side by
# side); 1 is the safe fallback.
OUTLIER_WEIGHTS = (0.1, 1.0)


def log_residuals(pred: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """r = log L_hat - log L, with L_hat clamped at FLOOR and a non-finite r replaced by 10 (a large misfit)."""
    with np.errstate(all="ignore"):
        r = np.log(np.maximum(pred, FLOOR)) - log_y
    return np.where(np.isfinite(r), r, 10.0)


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber_δ(r) = r²/2 for |r| <= δ, δ|r| - δ²/2 beyond."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * a - 0.5 * delta * delta)


def bounded_lstsq(M: np.ndarray, b: np.ndarray, sign: np.ndarray, hint: np.ndarray | None = None) -> np.ndarray:
    """argmin ||M c - b|| with c_j >= 0 (sign +1), c_j <= 0 (sign -1) or c_j free (sign 0).

    M has few columns (the amplitudes, at most 6) and many rows, so the work is one pass to form the
    column-scaled Gram matrix; everything after that is k x k.  Columns are scaled to unit norm (the laws'
    columns differ by many orders of magnitude) and the small systems are solved by a truncated
    eigendecomposition, so an unidentified direction gets the minimum-norm answer.  When the unconstrained
    solution breaks a sign, Lawson & Hanson's active-set method (1974, ch. 23) takes over.

    ``hint`` (the nonzero pattern of a previous solution, e.g. the last IRLS iterate) warm-starts the active
    set: if the solve on that set is feasible, the method continues from it, and usually stops after its KKT
    check.  The objective reached is the same (the problem is convex); where the Gram matrix is singular, the
    minimiser found may be another of the equal-objective ones than a cold start's minimum-norm answer.
    """
    k = M.shape[1]
    flip = np.where(sign < 0, -1.0, 1.0)
    norms = np.sqrt(np.einsum("ij,ij->j", M, M))
    # A column 1e-12 below the largest is rounding noise (e.g. S2pt of a constant PT whose logged LR wobbles in
    # its last digit): scaled to unit norm it would fit noise, so it is dropped and its amplitude is 0, the
    # minimum-norm answer for a direction the data do not see.
    null = norms <= 1e-12 * norms.max(initial=0.0)
    norms[null] = 1.0
    Ms = M * (flip / norms)
    Ms[:, null] = 0.0
    G, g = Ms.T @ Ms, Ms.T @ b
    pos = sign != 0

    def solve(cols):
        z = np.zeros(k)
        if cols.any():
            w, V = np.linalg.eigh(G if cols.all() else G[np.ix_(cols, cols)])
            keep = w > 1e-13 * max(w[-1], 1e-300)
            z[cols] = V[:, keep] @ ((V[:, keep].T @ g[cols]) / w[keep])
        return z

    x = None
    if hint is not None and not hint[pos].all():
        passive = hint | ~pos
        z = solve(passive)
        if np.all(z[passive & pos] > 0):
            x = z
    if x is None:
        z = solve(np.ones(k, bool))
        if not np.any(z[pos] < 0):
            return z * flip / norms
        passive = ~pos
        x = solve(passive)
    tol = 1e-12 * (1.0 + float(np.abs(g).max()))
    for _ in range(3 * k + 3):
        w = g - G @ x  # = Ms.T (b - Ms x)
        candidates = pos & ~passive & (w > tol)
        if not candidates.any():
            break
        passive[int(np.argmax(np.where(candidates, w, -np.inf)))] = True
        for _ in range(k + 1):
            z = solve(passive)
            bad = passive & pos & (z <= 0)
            if not bad.any():
                x = z
                break
            step = np.min(x[bad] / np.maximum(x[bad] - z[bad], 1e-300))
            x = x + step * (z - x)
            passive &= ~(pos & (x <= 1e-15))
            x[~passive] = 0.0
    return x * flip / norms


@dataclass
class Reduced:
    """One solution of the profiled problem: nonlinear x, amplitudes c, objective, evaluations, status."""

    x_nl: np.ndarray
    c: np.ndarray
    cost: float
    nfev: int = 0
    status: int = 1  # least_squares' status: 0 = evaluation cap reached, > 0 = converged
    log_pred: np.ndarray | None = None  # the predicted curve (log), to tell apart solutions that look alike


class Separable:
    """A :class:`cptlaw.fit.robust.Problem` seen as ``L = Phi(theta_nl) @ c``."""

    def __init__(self, problem, delta: float):
        self.problem = problem
        self.delta = delta
        linear = np.array([p.linear for p in problem.params])
        self.lin, self.nl = np.flatnonzero(linear), np.flatnonzero(~linear)
        self.sign = np.array([1 if p.lower >= 0 else (-1 if p.upper <= 0 else 0) for p in problem.params])[self.lin]
        self.log_y = problem.log_y
        self._y = np.exp(self.log_y)
        self.lower, self.upper = problem.lower[self.nl], problem.upper[self.nl]
        self._cache: tuple[bytes, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._warm: np.ndarray | None = None

    # ---- conversions ------------------------------------------------------------------------------------
    def x_full(self, x_nl: np.ndarray, c: np.ndarray) -> np.ndarray:
        x = np.zeros(len(self.problem.params))
        x[self.nl] = x_nl
        x[self.lin] = c  # linear parameters are never in log space
        return x

    def theta(self, x_nl: np.ndarray, c: np.ndarray) -> np.ndarray:
        return self.problem.theta(self.x_full(x_nl, c))

    # ---- inner problem ----------------------------------------------------------------------------------
    def objective_c(self, Phi: np.ndarray, c: np.ndarray) -> float:
        return float(np.sum(huber(log_residuals(Phi @ c, self.log_y), self.delta)))

    def amplitudes(self, Phi: np.ndarray, c0: np.ndarray | None = None, max_iter: int = 30) -> tuple[np.ndarray, float]:
        """c*(theta_nl) for this basis: damped Gauss-Newton on the log-residual Huber objective.

        With J = Phi / L̂ (d log L̂ / dc) and r = log L̂ - log L, the gradient is Jᵀψ(r) (ψ = Huber's
        derivative); the model Hessian is Jᵀ diag(w) J with w = 1 within δ and ε·δ/|r| beyond (ε from
        ``OUTLIER_WEIGHTS``; ε = 1 is iteratively reweighted least squares).  Each step is solved under the
        amplitudes' sign bounds, with backtracking."""
        y = self._y
        if c0 is not None and np.all(np.isfinite(c0)):
            c = c0  # warm start: the last solution, from a nearby theta_nl
        else:
            c = bounded_lstsq(Phi / y[:, None], np.ones_like(y), self.sign)  # relative least squares
        f = self.objective_c(Phi, c)
        for _ in range(max_iter):
            with np.errstate(all="ignore"):
                pred = np.maximum(Phi @ c, 0.5 * y)  # linearise log around a positive prediction
                r = np.log(pred) - self.log_y
            a = np.maximum(np.abs(r), 1e-300)
            inside = a <= self.delta
            psi = np.where(inside, r, self.delta * np.sign(r))
            J = Phi / pred[:, None]
            f_new = np.inf
            for eps in OUTLIER_WEIGHTS if not inside.all() else OUTLIER_WEIGHTS[-1:]:  # (all within δ: one step)
                w = np.where(inside, 1.0, eps * self.delta / a)
                Jw = J * np.sqrt(w)[:, None]
                # minimise the quadratic model ½ΔᵀHΔ + gradᵀΔ, H = Jᵀ diag(w) J, grad = Jᵀψ(r), under the signs:
                # the least squares of Jw c against Jw c_now - ψ/√w
                step = bounded_lstsq(Jw, Jw @ c - psi / np.sqrt(w), self.sign, c != 0) - c
                t = 1.0
                while t >= 1 / 64:
                    f_new = self.objective_c(Phi, c + t * step)
                    if f_new <= f:
                        break
                    t *= 0.5
                if f_new <= f:
                    break
            if not f_new <= f:
                break
            c, gain, f = c + t * step, f - f_new, f_new
            if gain <= 1e-9 * f + 1e-300:
                break
        return c, f

    def _solve_at(self, x_nl: np.ndarray, max_iter: int = 30):
        """(Phi, c, pred) at x_nl, cached for the Jacobian call that follows each residual call."""
        key = x_nl.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1:]
        theta = self.theta(x_nl, np.ones(self.lin.size))
        with np.errstate(all="ignore"):
            Phi = self.problem.law.basis(theta, self.problem.design)
        Phi = np.where(np.isfinite(Phi), Phi, 0.0)
        c, _ = self.amplitudes(Phi, self._warm, max_iter)
        self._warm = c
        self._cache = (key, Phi, c, Phi @ c)
        return self._cache[1:]

    # ---- outer (profiled) problem -----------------------------------------------------------------------
    def residuals(self, x_nl: np.ndarray) -> np.ndarray:
        return log_residuals(self._solve_at(x_nl)[2], self.log_y)

    def jac(self, x_nl: np.ndarray) -> np.ndarray:
        """Kaufman's Jacobian: dr/dtheta_nl at c*, with the span of the free amplitudes' columns projected out
        (in the Huber-weighted metric)."""
        Phi, c, pred = self._solve_at(x_nl)
        x = self.x_full(x_nl, c)
        J = self.problem.jac(x, pred)  # d log L / dx for every parameter, at c* (L = Phi @ c*: no re-evaluation)
        Jn, Jc = J[:, self.nl], J[:, self.lin]
        free = (self.sign == 0) | (np.abs(c) > 0)
        r = self.residuals(x_nl)
        sw = np.sqrt(np.where(np.abs(r) <= self.delta, 1.0, self.delta / np.maximum(np.abs(r), 1e-300)))
        if free.any():
            A = Jc[:, free] * sw[:, None]
            coef = np.linalg.lstsq(A, Jn * sw[:, None], rcond=1e-13)[0]
            Jn = Jn - Jc[:, free] @ coef
        return Jn

    def cold(self) -> "Separable":
        """Forget the warm start: the next amplitudes are solved from scratch (independent of earlier calls)."""
        self._warm = None
        return self

    def evaluate(self, x_nl: np.ndarray, max_iter: int = 30) -> Reduced:
        _, c, pred = self._solve_at(np.asarray(x_nl, float), max_iter)
        with np.errstate(all="ignore"):
            log_pred = np.log(np.maximum(pred, FLOOR))
        # the law's value is Phi @ c (Law.basis), so the objective needs no second evaluation of the law
        cost = float(np.sum(huber(log_residuals(pred, self.log_y), self.delta)))
        return Reduced(np.asarray(x_nl, float), c, cost, 1, log_pred=log_pred)

    def local(self, start: Reduced, max_nfev: int) -> Reduced:
        """least_squares on the profiled residuals from ``start`` (warm-started amplitudes)."""
        self._warm, self._cache = start.c, None
        x0 = np.clip(start.x_nl, self.lower, self.upper)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = least_squares(self.residuals, x0, jac=self.jac, bounds=(self.lower, self.upper), method="trf",
                                loss="huber", f_scale=self.delta, x_scale="jac", max_nfev=max_nfev,
                                ftol=LOCAL_TOL, xtol=LOCAL_TOL, gtol=LOCAL_TOL)
        out = self.evaluate(res.x)
        out.nfev, out.status = int(res.nfev), int(res.status)
        return out if out.cost <= start.cost else Reduced(start.x_nl, start.c, start.cost, out.nfev, out.status)

    def scan(self, x_nl: np.ndarray, cost: float, levels: int = 16, c: np.ndarray | None = None) -> Reduced | None:
        """One coordinate at a time, try ``levels`` values over the parameter's whole bounds with the others
        fixed; the best point that lowers the objective by more than 1e-6 relative, or None.  A local solve
        cannot leave a plateau (an exponent whose amplitude is 0 has zero gradient); this can.  Each point's
        amplitudes start from ``c`` (the amplitudes at ``x_nl``; cold when None), the same start for every point,
        so the scan does not depend on its order."""
        lo, hi = self._range(use_bounds=True)
        best = None
        for j in range(x_nl.size):
            for v in np.linspace(lo[j], hi[j], levels):
                x = x_nl.copy()
                x[j] = v
                self._warm, self._cache = (None if c is None else c.copy()), None
                red = self.evaluate(x)
                if red.cost < cost * (1 - 1e-6) and (best is None or red.cost < best.cost):
                    best = red
        return best

    # ---- starts -----------------------------------------------------------------------------------------
    def _range(self, use_bounds: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per nonlinear parameter, in x space: its multi-start box, or its whole bounds (where finite)."""
        params = [self.problem.params[j] for j in self.nl]
        lo = np.array([np.log(p.init[0]) if p.log else p.init[0] for p in params])
        hi = np.array([np.log(p.init[1]) if p.log else p.init[1] for p in params])
        if use_bounds:
            width = hi - lo
            lo = np.where(np.isfinite(self.lower), self.lower, lo - 2 * width)
            hi = np.where(np.isfinite(self.upper), self.upper, hi + 2 * width)
        return lo, hi

    def grid(self, n: int = 128) -> np.ndarray:
        """The seed-independent anchors: a grid over each nonlinear parameter's whole bounds, end points
        included (a flat profile, e.g. alpha once A = 0, traps local solves; optima often sit on a bound)."""
        lo, hi = self._range(use_bounds=True)
        d = lo.size
        if d == 0:
            return np.zeros((1, 0))
        levels = int(min(16, max(2, np.floor(n ** (1.0 / d) + 1e-9))))
        axes = [np.linspace(a, b, levels) for a, b in zip(lo, hi)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)

    def starts(self, n: int, seed: int, sampler: str) -> np.ndarray:
        """n seeded points (x space) in the multi-start box of the nonlinear parameters."""
        lo, hi = self._range(use_bounds=False)
        d = lo.size
        if d == 0:
            return np.zeros((1, 0))
        if sampler == "sobol":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # non-power-of-2 balance warning
                u = qmc.Sobol(d, scramble=True, seed=seed).random(n)
        elif sampler == "grid":
            levels = max(2, int(np.ceil(n ** (1.0 / d))))
            axis = (np.arange(levels) + 0.5) / levels
            mesh = np.stack(np.meshgrid(*([axis] * d), indexing="ij"), -1).reshape(-1, d)
            u = mesh[np.random.default_rng(seed).permutation(len(mesh))[:n]]
        else:
            raise ValueError(f"sampler must be 'sobol' or 'grid', got {sampler!r}")
        return np.clip(lo + u * (hi - lo), self.lower, self.upper)

