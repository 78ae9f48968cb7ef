"""Fixtures shared by every test folder (plain helpers and constants: tests/helpers.py; CLI data and fits:
tests/cli/conftest.py; the ``docs`` marker: tests/docs/conftest.py).

- ``run_cli`` / ``cli_error``: ``cptlaw ARGV`` in-process, with no traceback on standard error;
- ``german_fits`` / ``german_laws``: saved CPT fits of the bundled pilot-gpu-german runs, and their laws, made
  once per session (shared by the xdist workers);
- ``cosine_runs``: the cosine-CPT runs of pilot-gpu-domains;
- ``shared_dir``: ../shared, or a skip."""

from pathlib import Path

import pytest

from filelock import FileLock

from cptlaw.cli import main
from cptlaw.data import write_runs
from cptlaw.datasets import load
from cptlaw.laws import load as load_fit
from tests.helpers import GERMAN_FIT, GERMAN_HELD

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"../shared not present at {SHARED}")
    return SHARED


@pytest.fixture
def run_cli(capsys):
    """``cptlaw ARGV`` in-process: (exit status, stdout, stderr); argparse's usage exits count as a status, and
    no traceback may reach standard error."""

    def run(argv):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


@pytest.fixture
def cli_error(capsys):
    """``cptlaw ARGV`` in-process must exit with status 2 and no traceback; its standard error."""

    def error(argv):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return err

    return error


@pytest.fixture(scope="session")
def german_fits(tmp_path_factory, request):
    """``cptlaw fit --law cpt`` (16 starts) of loss:general and loss:german on the GERMAN_FIT runs of
    pilot-gpu-german; the data file also holds the held-out run GERMAN_HELD.  {"data", "general", "domain"}.

    Made once per test session, not once per xdist worker: the first worker to get here fits under a file lock,
    the others read its files (pytest-xdist's recipe for a session fixture shared between workers)."""
    root = tmp_path_factory.getbasetemp()
    worker = getattr(request.config, "workerinput", None)  # (set under pytest-xdist only)
    d = (root if worker is None else root.parent) / "german_fits"
    d.mkdir(exist_ok=True)
    out = {"data": d / "german.csv", "general": d / "general.json", "domain": d / "domain.json"}
    with FileLock(str(d / "lock")):
        if not (d / "done").exists():
            write_runs(load("pilot-gpu-german").select(GERMAN_FIT + [GERMAN_HELD]), out["data"])
            for label, target in (("general", "loss:general"), ("domain", "loss:german")):
                assert main(["fit", str(out["data"]), "--law", "cpt", "--target", target, "--runs",
                             ",".join(GERMAN_FIT), "--n-starts", "16", "--out", str(out[label])]) == 0
            (d / "done").touch()
    return out


@pytest.fixture(scope="session")
def german_laws(german_fits):
    """The fitted CPTLaw of each german_fits file: {target: law}.  Tests only read them."""
    return {"loss:general": load_fit(german_fits["general"]), "loss:german": load_fit(german_fits["domain"])}


@pytest.fixture(scope="session")
def cosine_runs():
    """The cosine-CPT runs of the bundled pilot-gpu-domains data (the Cross-Domain D-CPT tests); read only."""
    from cptlaw.data import RunSet

    return RunSet([r for r in load("pilot-gpu-domains") if "_cosine_" in r.name])
