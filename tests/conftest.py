"""Fixtures shared by every test folder (plain helpers and constants: tests/helpers.py; CLI data and fits:
tests/cli/conftest.py; the ``docs`` marker: tests/docs/conftest.py).

- ``run_cli`` / ``cli_error``: ``cptlaw ARGV`` in-process, with no traceback on standard error;
- ``german_laws``: CPT fits of the bundled pilot-gpu-german runs, made once per session;
- ``cosine_runs``: the cosine-CPT runs of pilot-gpu-domains;
- ``shared_dir``: ../shared, or a skip."""

from pathlib import Path

import pytest

from cptlaw.cli import main
from tests.helpers import GERMAN_FIT

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
def german_laws():
    """CPTLaw fits (8 starts) of loss:general and loss:german on the GERMAN_FIT runs of the bundled
    pilot-gpu-german data, made once: {target: fitted law}.  Tests only read them."""
    from cptlaw.datasets import load
    from cptlaw.laws import CPTLaw

    runs = load("pilot-gpu-german")
    return {target: CPTLaw().fit(runs, target, names=GERMAN_FIT, n_starts=8) for target in ("loss:general", "loss:german")}


@pytest.fixture(scope="session")
def cosine_runs():
    """The cosine-CPT runs of the bundled pilot-gpu-domains data (the Cross-Domain D-CPT tests); read only."""
    from cptlaw.data import RunSet
    from cptlaw.datasets import load

    return RunSet([r for r in load("pilot-gpu-domains") if "_cosine_" in r.name])
