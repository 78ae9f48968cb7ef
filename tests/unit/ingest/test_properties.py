"""Property tests of every reader and input format (hypothesis, a dev extra: skipped without it).

* **Round trips.** Runs drawn at random, written as cptlaw's native CSV (plain, compressed, UTF-16) or as a
  training script's table (CSV or JSONL, 0- or 1-based steps), an HF ``trainer_state.json`` or a Megatron log,
  read back equal: every LR, every evaluation at its step.
* **Broken input.** Each format's real file (``tests/fixtures/ingest``) cut short, or with bytes overwritten, is
  either read or refused with a :class:`~cptlaw.errors.CptlawError` (the CLI's exit status 2), never another
  exception (a traceback), and the file is left as it was.
"""

import bz2
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="optional hypothesis not installed (pip install 'cptlaw[dev]')")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cptlaw import ingest  # noqa: E402
from cptlaw.cli import main  # noqa: E402
from cptlaw.data import Run, RunSet, read_runs, write_runs  # noqa: E402
from cptlaw.errors import CptlawError  # noqa: E402
from tests.helpers import INGEST, needs  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def runs(draw):
    """One run: a dense LR over 3..60 steps (optionally a CPT part), evaluations at a random subset of steps."""
    n = draw(st.integers(3, 60))
    first = draw(st.integers(0, 1))
    lr = draw(st.lists(st.floats(1e-6, 1e-2, allow_nan=False), min_size=n, max_size=n))
    evals = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
    loss = draw(st.lists(st.floats(0.5, 9.0, allow_nan=False), min_size=len(evals), max_size=len(evals)))
    transfer = draw(st.one_of(st.none(), st.integers(1, n - 1)))
    steps = np.arange(first, first + n)
    return Run("r", steps, np.asarray(lr), transfer=transfer,
               losses={"loss:general": (np.asarray(evals), np.asarray(loss))})


def same(a, b):
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.lr, b.lr)
    assert a.transfer_step == b.transfer_step
    (ia, va), (ib, vb) = a.observed("general"), b.observed("general")
    np.testing.assert_array_equal(a.steps[ia], b.steps[ib])
    np.testing.assert_array_equal(va, vb)


@settings(max_examples=40, **SETTINGS)
@given(runs(), st.sampled_from(["csv", "csv.gz", "csv.bz2", "utf-16"]))
def test_native_round_trip_in_every_container(tmp_path, run, container):
    plain = tmp_path / "plain.csv"
    write_runs(RunSet([run]), plain, force=True)
    text = plain.read_text()
    path = tmp_path / ("runs.csv" if container == "utf-16" else f"runs.{container}")
    data = {"csv": text.encode(), "csv.gz": gzip.compress(text.encode()), "csv.bz2": bz2.compress(text.encode()),
            "utf-16": text.encode("utf-16")}[container]
    path.write_bytes(data)
    same(read_runs(path)["r"], run)


@settings(max_examples=40, **SETTINGS)
@given(runs(), st.sampled_from(["csv", "jsonl"]), st.integers(0, 1))
def test_a_scripts_table_round_trip(tmp_path, run, fmt, base):
    """A training script's log: step (``base``-based), the LR of every step, val_loss where evaluated."""
    evals = dict(zip(*(x.tolist() for x in run.observed("general"))))
    rows = [{"step": int(s) - int(run.steps[0]) + base, "lr": float(lr),
             **({"val/loss": evals[i]} if i in evals else {})} for i, (s, lr) in enumerate(zip(run.steps, run.lr))]
    path = tmp_path / f"log.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path.write_text("step,lr,val/loss\n" + "".join(f"{r['step']},{r['lr']!r},{r.get('val/loss', '')}\n"
                                                       for r in rows))
    got = ingest.read(path, transfer=None).runs["log"]
    np.testing.assert_array_equal(got.steps - got.steps[0], np.arange(run.steps.size))
    np.testing.assert_array_equal(got.lr, run.lr)
    (i, v), (j, w) = got.observed("val"), run.observed("general")  # (val/loss is the set "val")
    np.testing.assert_array_equal(i, j)
    np.testing.assert_array_equal(v, w)


@settings(max_examples=30, **SETTINGS)
@given(runs())
def test_hf_trainer_state_round_trip(tmp_path, run):
    """A trainer_state.json whose log_history has the LR at every step (logging_steps=1) and eval_loss at the
    evaluations; HF's steps count updates done (global_step from 1)."""
    evals = dict(zip(*(x.tolist() for x in run.observed("general"))))
    history = []
    for i, lr in enumerate(run.lr.tolist()):
        history.append({"step": i + 1, "learning_rate": lr, "loss": 3.0})
        if i in evals:
            history.append({"step": i + 1, "eval_loss": evals[i]})
    (tmp_path / "trainer_state.json").write_text(json.dumps({"global_step": run.lr.size, "log_history": history}))
    got = ingest.read(tmp_path / "trainer_state.json", transfer=None)
    r = next(iter(got.runs))
    np.testing.assert_array_equal(r.steps, np.arange(1, run.lr.size + 1))
    np.testing.assert_allclose(r.lr, run.lr, rtol=0, atol=0)
    (i, v), (j, w) = r.observed("eval"), run.observed("general")  # (HF's eval_loss is the set "eval")
    np.testing.assert_array_equal(i, j)
    np.testing.assert_array_equal(v, w)


FIXTURES = {  # (a real file of each format, the kind to read it as)
    "native": ("pt_cpt.native.csv", "native"),
    "hf": ("hf_run/trainer_state.json", "hf"),
    "megatron": ("megatron.log", "megatron"),
    "table": ("lightning_resume/csv/version_0/metrics.csv", "table"),
    "tensorboard": ("tb_run/" + "{events}", "tensorboard"),
    "wandb": ("wandb_run/{wandb}", "wandb"),
    "mlflow": ("mlflow.db", "mlflow"),
}


def fixture_file(name: str) -> tuple[Path, str]:
    rel, kind = FIXTURES[name]
    if "{events}" in rel:
        return sorted((INGEST / "tb_run").glob("events.out.tfevents.*"))[0], kind
    if "{wandb}" in rel:
        return sorted((INGEST / "wandb_run").rglob("run-*.wandb"))[0], kind
    return INGEST / rel, kind


@pytest.mark.parametrize("name", list(FIXTURES))
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_a_broken_file_is_read_or_refused_never_a_traceback(tmp_path, name, data):
    source, kind = fixture_file(name)
    if kind in ("tensorboard",):
        pytest.importorskip("tensorboard")
    if kind == "wandb":
        pytest.importorskip("wandb")
    raw = bytearray(source.read_bytes())
    how = data.draw(st.sampled_from(["cut", "overwrite", "both"]), label="how")
    if how in ("cut", "both"):
        raw = raw[:data.draw(st.integers(0, max(len(raw) - 1, 0)), label="cut at")]
    if how in ("overwrite", "both") and raw:
        for _ in range(data.draw(st.integers(1, 8), label="bytes")):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / source.name
    path.write_bytes(bytes(raw))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        if kind == "native":
            read_runs(path)
        else:
            ingest.read(path, kind=kind, transfer=None)
    except CptlawError:
        pass  # refused, with a message: the CLI's exit status 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    shutil.rmtree(tmp_path, ignore_errors=True)
    tmp_path.mkdir()


@needs("tensorboard")
@settings(max_examples=15, **SETTINGS)
@given(st.binary(max_size=300))
def test_the_cli_answers_garbage_with_status_2(tmp_path, capsys, garbage):
    """Any bytes as a log, a fit or a plan space: status 2 and a message, no traceback."""
    for name, argv in (("log.csv", ["ingest", "{p}", "--out", "{d}/o.csv"]),
                       ("events.out.tfevents.1", ["ingest", "{p}", "--out", "{d}/o.csv"]),
                       ("fit.json", ["evaluate", "{p}", "--data", str(INGEST / "pt_cpt.native.csv")]),
                       ("space.yaml", ["plan", "{p}", "--general", "{p}", "--domain", "{p}", "--out", "{d}/plan"])):
        path = tmp_path / name
        path.write_bytes(garbage)
        code = main([a.replace("{p}", str(path)).replace("{d}", str(tmp_path)) for a in argv])
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err, err
