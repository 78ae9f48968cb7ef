"""The fit report (as lmfit's ``fit_report``): one text of a saved fit, its objective, parameters with standard
errors and bootstrap intervals, per-run training scores, warnings and the suggested next pilot run."""

from __future__ import annotations

import json

from .result import FitResult


def parameter_uncertainty(result: FitResult, name: str) -> tuple[float | None, tuple[float, float, float] | None]:
    """A parameter's standard error (None where not identified) and its bootstrap interval ``(level, lo, hi)``
    (None without a bootstrap): what every report of a fit shows beside the value."""
    se = result.diagnostics.stderr.get(name)
    u = result.uncertainty
    ci = (u.level, *u.intervals[name]) if u is not None and name in u.intervals else None
    return se, ci


def warning_lines(result: FitResult) -> list[str]:
    """One line per diagnostic problem (bounds, unidentified directions, caps, start spread)."""
    return [f"  warning: {line}" for line in result.warnings]


def in_sample_summary(result: FitResult) -> str:
    """The fit's in-sample scores, each named: pooled R² over all fitted rows (the CPT paper's metric) and the mean
    over runs of per-run R² and PredE (each curve weighs the same)."""
    o = result.overall
    if o.pred_e is None:
        return "none (a law from given coefficients, not fitted)"
    pooled = "" if result.pooled is None or result.pooled.r2 is None else f"pooled R² {result.pooled.r2:.5f} (all rows), "
    run_r2 = "n/a" if o.r2 is None else f"{o.r2:.5f}"
    return f"{pooled}mean per-run R² {run_r2}, mean per-run PredE {100 * o.pred_e:.4f}%"


def format_fit(result: FitResult, warnings: bool = True) -> list[str]:
    """The report's lines; without ``warnings`` the warning lines are left for the caller to show apart (the CLI
    sends them to standard error)."""
    objective = (f"Huber objective {result.objective:.6g} (delta={result.delta:g})" if result.delta > 0
                 else f"sum of squared errors {result.objective:.6g}")
    lines = [f"{result.law_name} law on {result.target}: {result.n_points} points from {len(result.runs)} run(s), "
             f"{objective}, {result.elapsed_s:.2f} s"]
    for name, p in result.parameters.items():
        se, ci = parameter_uncertainty(result, name)
        extra = f"  ± {se:.3g} (s.e.)" if se is not None else ""
        if ci is not None:
            extra += f"  {100 * ci[0]:.0f}% bootstrap CI [{ci[1]:.6g}, {ci[2]:.6g}]"
        lines.append(f"  {name:>8s} = {p.value: .6g}{extra}")
    lines.append("  in-sample: " + in_sample_summary(result))
    lines.append(f"  {'run':<24s} {'run R²':>8s} {'PredE%':>8s} {'WorstE%':>8s} {'n':>6s}")
    for run, m in result.metrics.items():
        r2 = "nan" if m.r2 is None else f"{m.r2:.5f}"
        lines.append(f"  {run:<24s} {r2:>8s} {100 * m.pred_e:8.4f} {100 * m.worst_e:8.4f} {m.n:6d}")
    if warnings:
        lines += warning_lines(result)
    suggestions = result.diagnostics.suggested_runs or []
    if suggestions:
        best = suggestions[0]
        lines.append(f"  to pin these down, train next: {best['description']} -- the near-equivalent fits disagree "
                     f"there by {100 * best['spread']:.1f}% on average (up to {100 * best['max_spread']:.1f}%); "
                     f"its pilot config block: {json.dumps(best['config'])}")
    return lines
