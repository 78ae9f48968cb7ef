"""Every printed score names its metric: pooled R² over all rows (the CPT paper's) beside the mean of per-run R²
(issue 20, item 2)."""

import numpy as np
import pytest

from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.evaluate import evaluate, score_lines
from cptlaw.fit.metrics import metrics
from cptlaw.fit.report import format_fit
from cptlaw.laws import CPTLaw
from cptlaw.laws import load as load_fit

SPECS = [("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000),
         ("c", "constant", 4000, "constant", 2000)]


@pytest.fixture(scope="module")
def fitted():
    runs = simulate_cpt_runs(SPECS, target="domain", n_eval=60, noise=3e-3, seed=5)
    return runs, CPTLaw().fit(runs, "domain", n_starts=8)


def test_pooled_r2_is_over_every_row_and_the_mean_is_over_runs(fitted, tmp_path):
    runs, law = fitted
    design = law.design(list(runs), "loss:domain")
    pooled = metrics(design.y, law.value(law.theta(), design))["r2"]
    fit = law.result_
    assert fit.pooled.r2 == pytest.approx(pooled, rel=1e-12)
    assert fit.overall.r2 == pytest.approx(np.mean([m.r2 for m in fit.metrics.values()]), rel=1e-12)
    assert abs(fit.pooled.r2 - fit.overall.r2) > 1e-6  # two different numbers, so they must be told apart
    assert load_fit(law.save(tmp_path / "f.json")).result_.pooled == fit.pooled
    text = "\n".join(format_fit(fit))
    assert f"pooled R² {fit.pooled.r2:.5f} (all rows)" in text and f"mean per-run R² {fit.overall.r2:.5f}" in text
    assert " R2 " not in text and "train R" not in text


def test_evaluate_reports_the_mean_of_runs_and_the_pooled_rows(fitted):
    runs, law = fitted
    report = evaluate(law, runs, ["b", "c"], cpt_only=True)
    assert report["pooled"]["n"] == report["overall"]["n"] == sum(m["n"] for m in report["runs"].values())
    text = "\n".join(score_lines(report, law))
    assert "mean of runs" in text and "pooled rows" in text and "overall" not in text
