"""Fixtures shared by every test folder (plain helpers: tests/helpers.py)."""

from pathlib import Path

import pytest

from cptlaw.cli import main

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
