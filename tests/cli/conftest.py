"""Fixtures of the CLI tests: one synthetic data file and one saved fit of it, made once for the session (the
tests only read them); the bundled pilot-gpu-german fits that ``cptlaw plan`` starts from are
``german_fits`` in tests/conftest.py."""

import pytest

from cptlaw.cli import main
from cptlaw.data import write_runs
from cptlaw.datasets.synthetic import simulate_cpt_runs

# four simulated PT->CPT runs; "c3" is held out of the fit
SPECS = [("pt", "constant", 6000, "constant", 0), ("c1", "constant", 4000, "cosine", 2000),
         ("c2", "wsd", 4000, "constant", 2000), ("c3", "constant", 3000, "wsd", 3000)]


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """runs.csv: the SPECS runs, simulated from the CPT law's published coefficients with 0.05% noise."""
    d = tmp_path_factory.mktemp("cli")
    runs = simulate_cpt_runs(SPECS, target="general", noise=5e-4, n_eval=60, seed=1)
    return write_runs(runs, d / "runs.csv")


@pytest.fixture(scope="session")
def fitted(data, tmp_path_factory):
    """fit.json: ``cptlaw fit --law cpt`` of loss:general on pt, c1 and c2 (8 starts)."""
    out = tmp_path_factory.mktemp("fit") / "fit.json"
    assert main(["fit", str(data), "--law", "cpt", "--target", "loss:general", "--runs", "pt,c1,c2",
                 "--n-starts", "8", "--out", str(out)]) == 0
    return out
