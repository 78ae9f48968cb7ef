"""The suggested next run (cptlaw.suggest): the run that separates fits that agree on the data."""

from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.laws import CPTLaw


def test_suggested_run_separates_the_disagreeing_fits():
    """Only constant-LR CPT runs: the CPT annealing coefficient C2 is not identified.  The suggested next run
    must anneal during CPT (that is what pins C2), come with a pilot config block, and the fits must really
    disagree on it."""
    from cptlaw.suggest import suggest_runs

    runs = simulate_cpt_runs([("p", "constant", 20000, "constant", 0), ("a", "constant", 20000, "constant", 10000),
                              ("b", "constant", 10000, "constant", 20000)], target="general", n_eval=150)
    fit = CPTLaw().fit(runs, "general")
    assert "C2 (its term is zero on every point)" in " ".join(fit.result_.warnings)
    best = suggest_runs(fit, runs)[0]
    assert best["spread"] > 0.001
    assert best["config"]["cpt"]["init_from"] == "p" and best["config"]["cpt"]["schedule"]["kind"] != "constant"
