"""`cptlaw watch`: a live forecast of a log that a background process is still writing."""

import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from cptlaw.cli import main
from cptlaw.datasets import load
from cptlaw.errors import DataError
from cptlaw.predict import schedule_run
from cptlaw.watch import parse_every, watch
from tests.helpers import GERMAN_HELD, INGEST, needs

WATCHED = GERMAN_HELD  # held out: the run being "trained"
SPEC = {"kind": "continual", "transfer": 600,
        "pt": {"kind": "warmup", "steps": 100, "schedule": {"kind": "constant", "lr": 0.002}},
        "cpt": {"kind": "wsd", "peak": 0.002, "steps": 1000, "decay_steps": 200, "floor": 0.0002}}

WRITER = r"""
import sys, time
rows = [line for line in open(sys.argv[1])]
with open(sys.argv[2], "w") as f:
    f.write(rows[0]); f.flush()
    for k in range(1, len(rows), 12):
        time.sleep(0.08)
        f.write("".join(rows[k:k + 12])); f.flush()
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory, german_laws):
    d = tmp_path_factory.mktemp("watch")
    runs = load("pilot-gpu-german")
    fits = []
    for target in ("loss:general", "loss:german"):
        fit = german_laws[target]  # CPTLaw().fit(runs, target, names=FIT, n_starts=8), made once
        fit.save(d / f"{target.split(':')[1]}.json")
        fits.append(fit)
    (d / "plan.yaml").write_text(yaml.safe_dump(SPEC))
    planned = schedule_run(d / "plan.yaml", 1600)
    np.testing.assert_allclose(planned.lr, runs[WATCHED].lr, rtol=1e-12)  # the spec is the run's schedule
    run = runs[WATCHED]
    ig, vg = run.observed("general")
    idd, vd = run.observed("german")
    assert np.array_equal(ig, idd)
    vd = vd.copy()
    vd[-1] *= 1.3  # the last evaluation goes wrong: a divergence the watcher must flag
    lines = ["run,step,loss:general,loss:german\n"] + [f"{WATCHED},{int(run.steps[i])},{float(g)!r},{float(x)!r}\n"
                                                       for i, g, x in zip(ig, vg, vd)]
    (d / "source.csv").write_text("".join(lines))
    return d, fits, planned, int(run.steps[ig[-1]])


def test_follows_a_growing_log_and_flags_the_divergence(setup):
    d, fits, planned, last_step = setup
    log = d / "metrics.csv"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(d / "source.csv"), str(log)])
    out, after = [], []

    def sleep(seconds):  # Ctrl-C a few ticks after the writer is done
        if proc.poll() is not None:
            after.append(1)
            if len(after) > 3:
                raise KeyboardInterrupt
        time.sleep(seconds)

    try:
        while not log.exists():
            time.sleep(0.01)
        reports = watch(log, fits, planned, every=0.05, emit=out.append, sleep=sleep)
    finally:
        proc.wait(timeout=30)
    text = "\n".join(out)
    assert reports >= 2  # it saw the log grow
    assert f"loss:german: step {last_step} observed" in text and "forecast at step 1599" in text
    flagged = [ln for ln in out if "warning: loss:german" in ln]
    assert any(f"at step {last_step}:" in ln for ln in flagged)  # the corrupted evaluation is flagged
    n_eval = 2 * len((d / "source.csv").read_text().splitlines()[1:])
    assert len([ln for ln in out if "warning:" in ln]) < 0.25 * n_eval  # and the band is not trivially tight
    assert out[-1] == "stopped (Ctrl-C); the log was only read"
    assert log.read_text() == (d / "source.csv").read_text()  # the log was never written by the watcher


def test_a_log_that_disappears_or_never_was_is_an_error(setup, tmp_path, capsys):
    d, fits, planned, _ = setup
    log = tmp_path / "m.csv"
    log.write_text((d / "source.csv").read_text())
    with pytest.raises(DataError, match="the log is gone"):
        watch(log, fits, planned, every=0.01, emit=lambda s: None, sleep=lambda s: log.unlink())
    argv = ["watch", str(tmp_path / "none.csv"), "--fit", f"{d / 'general.json'},{d / 'german.json'}",
            "--schedule", str(d / "plan.yaml"), "--steps", "1600", "--every", "0.01", "--updates", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "the log is gone" in err and "Traceback" not in err
    log.write_text((d / "source.csv").read_text())
    assert main(argv[:1] + [str(log)] + argv[2:]) == 0
    assert "forecast at step 1599" in capsys.readouterr().out
    with pytest.raises(DataError, match="--every"):
        parse_every("soon")
    assert parse_every("2m") == 120.0


@pytest.mark.parametrize("log", ["hf_run/trainer_state.json", "hf_run/native.csv",
                                 pytest.param("hf_run/tb", marks=needs("tensorboard"))])
def test_hf_and_tensorboard_logs_sit_on_the_plan_by_their_lr(log, capsys):
    """A real HF Trainer job (the ingest fixture): its trainer_state.json, its TensorBoard events and cptlaw's
    callback file count steps from 1; the plan from 0.  Watched with a fit of the same run, every forecast line
    is there and the observations sit on the plan (the fit of this very run raises no alarm)."""
    f = INGEST
    from cptlaw.data import read_runs
    from cptlaw.laws import AnnealingLaw

    native = read_runs(f / "hf_run" / "native.csv")
    fit = AnnealingLaw().fit(native, "loss:general", n_starts=8)
    planned = schedule_run(f / "hf_run.schedule.yaml", 40)
    out = []
    watch(f / log, [fit], planned, every=0.01, updates=1, emit=out.append, sleep=lambda s: None)
    assert out[0].startswith("loss:general: step 39 observed")  # global step 40 = the plan's step 39
    assert not any("warning" in ln for ln in out)


def test_an_unreadable_log_is_retried_once_then_an_error(setup, tmp_path):
    """A bad cell above the last row is bad input at once; a bad last row (maybe a line caught mid-write) is read
    again, and is an error when the log has not changed by then."""
    d, fits, planned, _ = setup
    rows = (d / "source.csv").read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_text(rows[0] + rows[1].replace(rows[1].split(",")[2], "abc", 1) + "".join(rows[2:5]))
    with pytest.raises(DataError, match=r"bad.csv:2: loss:general: not a number"):
        watch(bad, fits, planned, every=0.0, emit=lambda s: None, sleep=lambda s: None)
    tail = tmp_path / "tail.csv"
    tail.write_text("".join(rows[:4]) + rows[4].split(",")[0] + ",999,3.1e\n")
    out = []
    with pytest.raises(DataError, match="not a well-formed CSV file"):  # a line cut short, and it stays so
        watch(tail, fits, planned, every=0.0, emit=out.append, sleep=lambda s: None)
    assert any(line.startswith("(the log is being written") for line in out)
