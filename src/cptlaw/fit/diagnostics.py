"""What a user must know before trusting a fit, computed at the optimum and saved in every :class:`FitResult`.

* **at_bound**: parameters on a bound (an amplitude at 0, an exponent at its limit): the law's term is switched
  off or pushed to a limiting shape by the data.
* **unidentified**: directions in parameter space the data cannot pin down, from the singular values of the
  Huber-weighted Jacobian of the log residuals in relative units (d log L / d log|theta|, absolute units for a
  parameter at 0).  A direction v with singular value s has standard error sigma / s, sigma the robust residual
  scale (1.4826 MAD); it is reported, with the parameters that carry it (|v_j| > 0.3), when that error exceeds
  ``max_rel_se`` (default 1: the data cannot tell the combination from twice or zero times its value).
* **stderr**: per-parameter standard errors from the same linearisation (natural units; ``None`` when the
  parameter lies in an unidentified direction).  Asymptotic and local: the bootstrap is the honest interval.
* **convergence**: whether the best solve converged, and every evaluation cap hit on the way.
* **input_ranges**: the observed range of every input the law extrapolates in (``Law.inputs``), so a
  prediction outside it can be flagged (:mod:`cptlaw.predict`); for a law's ``CPT_INPUTS`` (the CPT peak LR),
  over the CPT rows only.
"""

from __future__ import annotations

import numpy as np


def at_bound(problem, x: np.ndarray, rtol: float = 1e-6) -> list[dict]:
    out = []
    theta = problem.theta(x)
    for j, p in enumerate(problem.params):
        for side, b in (("lower", problem.lower[j]), ("upper", problem.upper[j])):
            if np.isfinite(b) and abs(x[j] - b) <= rtol * (1.0 + abs(b)):
                bound = {"param": p.name, "bound": side, "value": float(theta[j])}
                if p.reference is not None and abs(theta[j] - p.reference) <= rtol * (1.0 + abs(p.reference)):
                    bound["reference"] = True  # the published form (e.g. w = 1: Eq. 4), not a warning
                out.append(bound)
    return out


def identifiability(problem, x: np.ndarray, delta: float, max_rel_se: float = 1.0,
                    pinned: np.ndarray | None = None, J: np.ndarray | None = None) -> dict:
    """Unidentified directions and per-parameter standard errors (see the module docstring).  ``pinned``
    parameters (on a bound, which fixes them) are left out of the analysis and get no standard error."""
    theta = problem.theta(x)
    r = problem.residuals(x)
    J = problem.jac(x) if J is None else J  # d log L / dx; x = log(theta) for log-parameters
    pinned = np.zeros(theta.size, bool) if pinned is None else pinned
    J = np.where(pinned[None, :], 0.0, J)
    # relative units: d log L / d log|theta| = theta * d log L / d theta; absolute where theta = 0
    scale = np.where(problem.is_log, 1.0, np.where(np.abs(theta) > 0, np.abs(theta), 1.0))
    Js = J * scale[None, :]
    w = np.sqrt(np.where(np.abs(r) <= delta, 1.0, delta / np.maximum(np.abs(r), 1e-300)))
    Jw = Js * w[:, None]
    n, p = Jw.shape
    mad = float(np.median(np.abs(r - np.median(r))))
    sigma = max(1.4826 * mad, 1e-12)
    _, s, Vt = np.linalg.svd(Jw, full_matrices=False)
    names = [q.name for q in problem.params]
    unidentified = []
    bad = np.zeros(p, bool)
    for i in range(s.size):
        rel_se = sigma / s[i] if s[i] > 0 else np.inf
        members = np.flatnonzero((np.abs(Vt[i]) > 0.3) & ~pinned)
        if rel_se > max_rel_se and members.size:
            bad[members] = True
            unidentified.append({"parameters": [names[j] for j in members],
                                 "relative_se": float(rel_se) if np.isfinite(rel_se) else None,
                                 "singular_value": float(s[i]),
                                 # natural units per unit of relative change (x-space scale for log-parameters)
                                 "direction": {names[j]: float(Vt[i, j] * (theta[j] if problem.is_log[j] else scale[j]))
                                               for j in members}})
    good = s > 0
    cov_s = (Vt[good].T / s[good] ** 2) @ Vt[good] * sigma ** 2  # pseudo-inverse of Jw^T Jw, times sigma^2
    se_scaled = np.sqrt(np.clip(np.diag(cov_s), 0, None))
    # back to natural units: x-space for log-parameters is log(theta), so se(theta) ~ theta * se(x)
    se = np.where(problem.is_log, np.abs(theta) * se_scaled, se_scaled * scale)
    stderr = {names[j]: (None if bad[j] or pinned[j] else float(se[j])) for j in range(p)}
    return {"unidentified": unidentified, "stderr": stderr, "residual_scale": sigma}


def diagnose(problem, x: np.ndarray, delta: float, info: dict) -> dict:
    """The diagnostics block of a fit, with one readable line per problem in ``warnings``."""
    bounds = at_bound(problem, x)
    pinned = np.array([any(b["param"] == q.name for b in bounds) for q in problem.params])
    J = problem.jac(x)
    ident = identifiability(problem, x, delta, pinned=pinned, J=J)
    # a parameter on a bound whose term is zero on every point is not pinned by the bound but unidentified:
    # any value fits these data equally (e.g. C2 when the CPT LR never changes, so S2cpt = 0)
    theta = problem.theta(x)
    for j in np.flatnonzero(pinned & (np.abs(J).max(axis=0) == 0)):
        p = problem.params[j]
        bounds = [b for b in bounds if b["param"] != p.name]
        ident["stderr"][p.name] = None
        ident["unidentified"].append({"parameters": [p.name], "relative_se": None, "singular_value": 0.0,
                                      "direction": {p.name: float(max(abs(theta[j]), abs(p.init[1])))},
                                      "zero_term": True})
    ranges = {}
    for k, v in problem.law.inputs(problem.design).items():
        if k in problem.law.CPT_INPUTS:
            v = v[v > 0]  # 0 on PT rows, which have no CPT peak: the range is that of the CPT peaks seen
        if np.size(v):
            ranges[k] = [float(np.min(v)), float(np.max(v))]
    caps = {"local_capped": int(info.get("local_capped", 0)), "final_capped": bool(info.get("final_capped", False))}
    warnings = []
    for b in bounds:
        if not b.get("reference"):
            warnings.append(f"{b['param']} = {b['value']:.6g} is on its {b['bound']} bound")
    for u in ident["unidentified"]:
        rel = u["relative_se"]
        if u.get("zero_term"):
            warnings.append(f"not identified by these data: {u['parameters'][0]} (its term is zero on every point)")
            continue
        se = "> 10^4 %" if rel is None or rel > 100 else f"{100 * rel:.0f}%"
        warnings.append(f"not identified by these data: {' / '.join(u['parameters'])} (relative standard error {se})")
    if not info.get("converged", True):
        warnings.append("the best solution stopped at the evaluation cap after every continuation (not converged)")
    if caps["local_capped"]:
        warnings.append(f"{caps['local_capped']} local solve(s) stopped at the evaluation cap after continuations")
    return {"at_bound": bounds, **ident, "converged": bool(info.get("converged", True)), "caps": caps,
            "input_ranges": ranges, "warnings": warnings}
