"""The three usages of the D-CPT law (Que et al. 2024, §5; laws.md §4.4), on a pair of D-CPT fits: one of
the general validation loss (its ``r`` is the general share of the CPT mixture) and one of the domain loss
(its ``r`` is the domain share), ``L(N, D, r) = E + A/N^alpha + B*r^eta/D^beta + C/(r+epsilon)^gamma``.

1. **Ratio under a general-loss cap**: ``r_d* = argmin L_d(N, D, r_d)`` subject to
   ``(L_g(N, D, 1 - r_d) - L_g0) / L_g0 <= T`` (or ``L_g - L_g0 <= T`` absolute), ``L_g0`` the general loss
   before CPT (measured by the user).
2. **Limited domain data**: ``D_d`` domain tokens, seen ``epochs`` times, so ``D = epochs * D_d / r_d`` and
   ``r_d* = argmin L_d(N, epochs * D_d / r_d, r_d)`` (optionally also under the cap of usage 1).
3. **Compute split**: under ``C = 6 N D``, ``N* = argmin L(N, C / (6N), r)``.  For a fixed ratio L3 reduces to
   Chinchilla's form, whose closed form ``N* = G (C/6)^(beta/(alpha+beta))``, ``G = (alpha A/(beta B'))^(1/(alpha+beta))``,
   ``B' = B r^eta`` (laws.md §4.4, the formalisation is the summary's, not the paper's) pins the search in the tests.

The formalisations are from secondary sources (laws.md marks them [D]); the search here is a dense
vectorised grid (10^4 ratios, or 2,000 log-spaced model sizes) refined once around the best point, so no
smoothness or convexity is assumed.  Units: raw parameters and tokens (each fit's ``n_unit``/``d_unit``
is applied by :meth:`DCPTLaw.design_points`).

Every answer carries ``extrapolation``: the inputs (model size, tokens, ratio) of its recommended point that lie
outside what a fit used there saw, with how far (:func:`extrapolation`), so a recommendation for a model 280 times
the fitted sizes says so.
"""

from __future__ import annotations

import numpy as np

from ..errors import CptlawError
from ..predict import extrapolation_detail

INPUT_NAMES = {"N": "model size", "D": "tokens", "r": "ratio"}


def _check(law, share: str):
    """The fitted law, checked: a D-CPT law whose ``r`` is the ``share`` ("general" or "domain") of the mixture."""
    if law.name != "dcpt":
        raise CptlawError(f"the D-CPT usages need D-CPT fits (cptlaw fit --law dcpt), not {law.name}")
    corpus = law.options()["corpus"]
    if corpus not in (share, "table"):
        raise CptlawError(f"the {share} fit models r as the {corpus} share of the mixture; refit it with "
                          f"--corpus {share}")
    return law


def _loss(law, share: str, N, D, r) -> np.ndarray:
    law = _check(law, share)
    with np.errstate(all="ignore"):
        return law.value(law.theta(), law.design_points(N, D, r))


def extrapolation(law, share: str, N, D, r) -> list[dict]:
    """Where the point (N, D, r) (raw units) lies outside the ranges the fit saw: one entry per input outside,
    ``{fit, input, value, seen: [min, max], side, by}`` in raw units (``by``: how many times beyond the range,
    :func:`cptlaw.predict.extrapolation_detail`).  Nothing for a point inside, or for a fit with no ranges."""
    law = _check(law, share)
    design = law.design_points(N, D, r)
    scale = {"N": law.n_unit, "D": law.d_unit, "r": 1.0}
    out = []
    for x in extrapolation_detail(law, design):
        k = scale[x["input"]]
        out.append({"fit": share, "input": INPUT_NAMES[x["input"]], "value": x["value"] * k,
                    "seen": [v * k for v in x["seen"]], "side": x["side"], "by": x["by"]})
    return out


def describe_extrapolation(x: dict) -> str:
    """One line for a user: e.g. 'model size 1.2e+11 is 280x above the largest the domain fit saw (4.3e+08)'."""
    lo, hi = x["seen"]
    edge = f"the {'largest' if x['side'] == 'above' else 'smallest'} the {x['fit']} fit saw ({hi if x['side'] == 'above' else lo:.3g})"
    how = f"{x['by']:.3g}x {x['side']}" if x["by"] is not None else x["side"]
    return f"{x['input']} {x['value']:.3g} is {how} {edge}"


def fitted_share_range(domain, general=None) -> tuple[float, float]:
    """The domain shares both fits saw: the domain fit's r range, intersected with 1 - the general fit's (its r is
    the general share); (0, 1) for fits with no recorded ranges (e.g. published coefficients).  Usages 1 and 2
    search this range by default: the law's ratio terms (C/(r + epsilon)^gamma) can turn over outside it (on the
    bundled domain sweeps a fit on shares 0.25-0.9 predicts a lower domain loss at share 0 than at 0.9)."""
    lo, hi = 0.0, 1.0
    seen = _check(domain, "domain").result_.diagnostics.input_ranges.get("r")
    if seen:
        lo, hi = max(lo, seen[0]), min(hi, seen[1])
    if general is not None:
        seen = _check(general, "general").result_.diagnostics.input_ranges.get("r")
        if seen:
            lo, hi = max(lo, 1.0 - seen[1]), min(hi, 1.0 - seen[0])
    if lo > hi:
        raise CptlawError(f"the two fits saw no domain share in common (domain fit {lo:.3g}.., general fit ..{hi:.3g}); "
                          f"search a range explicitly (r_min, r_max; --allow-extrapolation)")
    return lo, hi


def _refined_argmin(f, lo: float, hi: float, n: int = 10_001, log: bool = False):
    """argmin of a vectorised f on a dense grid over [lo, hi], then on a dense grid between the neighbours of
    the best point; returns (x, f(x)) or (nan, nan) when f is nowhere finite."""
    grid = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    for _ in range(2):
        v = f(grid)
        if not np.isfinite(v).any():
            return np.nan, np.nan
        i = int(np.nanargmin(v))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        best = grid[i], float(v[i])
        grid = np.geomspace(a, b, 1001) if log else np.linspace(a, b, 1001)
    return float(best[0]), best[1]


def ratio_under_general_cap(general, domain, model_size: float, tokens: float, general_before: float,
                            max_increase: float, relative: bool = True, r_min: float | None = None,
                            r_max: float | None = None) -> dict:
    """Usage 1: the domain share that minimises the domain loss while the general loss rises by at most
    ``max_increase`` (a fraction of ``general_before`` when ``relative``, else nats), searched over
    [``r_min``, ``r_max``] (default: the shares both fits saw, :func:`fitted_share_range`)."""
    cap = general_before * (1 + max_increase) if relative else general_before + max_increase
    lo, hi = fitted_share_range(domain, general)
    r_min, r_max = (lo if r_min is None else r_min), (hi if r_max is None else r_max)

    def objective(rd):
        ld = _loss(domain, "domain", model_size, tokens, rd)
        lg = _loss(general, "general", model_size, tokens, 1.0 - rd)
        return np.where(lg <= cap, ld, np.nan)

    rd, ld = _refined_argmin(objective, r_min, r_max)
    out = {"usage": "ratio under a general-loss cap", "model_size": model_size, "tokens": tokens,
           "general_before": general_before, "general_cap": cap, "domain_ratio": rd, "domain_loss": ld,
           "searched": [r_min, r_max]}
    if np.isfinite(rd):
        out["general_loss"] = float(_loss(general, "general", model_size, tokens, 1.0 - rd)[0])
        out["general_increase_relative"] = out["general_loss"] / general_before - 1.0
    out["extrapolation"] = ([] if not np.isfinite(rd) else
                            extrapolation(domain, "domain", model_size, tokens, rd)
                            + extrapolation(general, "general", model_size, tokens, 1.0 - rd))
    return out


def ratio_limited_domain(domain, model_size: float, domain_tokens: float, epochs: float = 1.0, general=None,
                         general_before: float | None = None, max_increase: float | None = None,
                         relative: bool = True, r_min: float | None = None, r_max: float | None = None) -> dict:
    """Usage 2: with ``domain_tokens`` seen ``epochs`` times, the domain share minimising the domain loss
    (the CPT then has ``epochs * domain_tokens / r_d`` tokens); with ``general``/``general_before``/
    ``max_increase``, under usage 1's cap as well.  Searched over [``r_min``, ``r_max``] (default: the shares the
    fits saw, :func:`fitted_share_range`, and at least 1e-3)."""
    lo, hi = fitted_share_range(domain, general if max_increase is not None else None)
    r_min, r_max = (max(lo, 1e-3) if r_min is None else r_min), (hi if r_max is None else r_max)
    seen = epochs * domain_tokens
    cap = None
    if max_increase is not None:
        if general is None or general_before is None:
            raise CptlawError("a general-loss cap needs the general fit and the general loss before CPT")
        cap = general_before * (1 + max_increase) if relative else general_before + max_increase

    def objective(rd):
        ld = _loss(domain, "domain", model_size, seen / rd, rd)
        if cap is not None:
            ld = np.where(_loss(general, "general", model_size, seen / rd, 1.0 - rd) <= cap, ld, np.nan)
        return ld

    rd, ld = _refined_argmin(objective, r_min, r_max)
    far = []
    if np.isfinite(rd):
        far = extrapolation(domain, "domain", model_size, seen / rd, rd)
        if cap is not None:
            far += extrapolation(general, "general", model_size, seen / rd, 1.0 - rd)
    return {"usage": "ratio with limited domain data", "model_size": model_size, "domain_tokens": domain_tokens,
            "epochs": epochs, "domain_ratio": rd, "domain_loss": ld,
            "tokens": seen / rd if np.isfinite(rd) else np.nan, "general_cap": cap, "extrapolation": far,
            "searched": [r_min, r_max]}


def compute_split(law, compute: float, ratio: float, share: str = "domain", n_min: float = 1e6,
                  n_max: float = 1e12) -> dict:
    """Usage 3: under ``compute = 6 N D`` FLOPs at mixture ratio ``ratio`` (the ``share`` of the fit's
    corpus), the model size and token count that minimise the fitted loss, searched over [n_min, n_max]
    parameters."""
    n, loss = _refined_argmin(lambda N: _loss(law, share, N, compute / (6.0 * N), ratio), n_min, n_max,
                              n=2001, log=True)
    edge = np.isfinite(n) and (n <= n_min * 1.01 or n >= n_max / 1.01)
    tokens = compute / (6.0 * n) if np.isfinite(n) else np.nan
    return {"usage": "compute split", "compute": compute, "ratio": ratio, "model_size": n,
            "tokens": tokens, "loss": loss, "at_search_bound": bool(edge),
            "extrapolation": extrapolation(law, share, n, tokens, ratio) if np.isfinite(n) else []}
