"""Progress bars appear on a terminal only: not through a pipe (CI, files), not with --quiet."""

import fcntl
import os
import pty
import struct
import termios
import subprocess
import sys


def fit_argv(data, out, *extra):
    """A small fit with a bootstrap: the CLI tests' simulated runs (tests/cli/conftest.py ``data``), 2 starts."""
    return [sys.executable, "-m", "cptlaw.cli", "fit", str(data), "--law", "cpt", "--target", "loss:general",
            "--n-starts", "2", "--bootstrap", "2", "--bootstrap-method", "residuals", "--out", str(out), *extra]


def run_on_a_terminal(argv) -> str:
    """Run with standard error on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, env={**os.environ, "CPTLAW_QUIET": ""})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=300)
    os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode(errors="replace")


def test_bars_on_a_terminal_and_silence_elsewhere(data, tmp_path):
    tty = run_on_a_terminal(fit_argv(data, tmp_path / "a.json"))
    assert "fit: local solves" in tty and "bootstrap (residuals)" in tty
    quiet = run_on_a_terminal(fit_argv(data, tmp_path / "b.json", "--quiet"))
    assert "local solves" not in quiet and "bootstrap (" not in quiet
    piped = subprocess.run(fit_argv(data, tmp_path / "c.json"), capture_output=True, text=True, timeout=300,
                           env={**os.environ, "CPTLAW_QUIET": ""})
    assert piped.returncode == 0 and "local solves" not in piped.stderr and "\r" not in piped.stderr
    assert "local solves" not in piped.stdout
