"""Fixtures of the CLI tests: one synthetic data file and one saved fit of it, made once for the session (the
tests only read them), and the bundled pilot-gpu-german fits that ``cptlaw plan`` and the OOD fit start from."""

import pytest

from cptlaw.cli import main
from cptlaw.data import write_runs
from cptlaw.datasets import load
from cptlaw.datasets.synthetic import simulate_cpt_runs
from tests.helpers import GERMAN_FIT, GERMAN_HELD

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


@pytest.fixture(scope="session")
def german_fits(tmp_path_factory):
    """``cptlaw fit --law cpt`` (16 starts) of loss:general and loss:german on the GERMAN_FIT runs of
    pilot-gpu-german; the data file also holds the held-out run GERMAN_HELD.  {"data", "general", "domain"}."""
    d = tmp_path_factory.mktemp("german_fits")
    data = write_runs(load("pilot-gpu-german").select(GERMAN_FIT + [GERMAN_HELD]), d / "german.csv")
    out = {"data": data}
    for label, target in (("general", "loss:general"), ("domain", "loss:german")):
        out[label] = d / f"{label}.json"
        assert main(["fit", str(data), "--law", "cpt", "--target", target, "--runs", ",".join(GERMAN_FIT),
                     "--n-starts", "16", "--out", str(out[label])]) == 0
    return out
