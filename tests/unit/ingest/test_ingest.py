"""Readers (cptlaw.ingest) against the same runs in native format, made by the real libraries
(tests/fixtures/ingest/make_fixtures.py), through to a fitted law; and bad input through the CLI."""

import csv
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from cptlaw import ingest
from cptlaw.cli import main
from cptlaw.data import read_runs
from cptlaw.errors import CptlawError, DataError
from cptlaw.ingest.log import Series, rewarmup, sampled, supersede
from cptlaw.laws import make_law
from cptlaw.schedules import from_spec, load_spec_file
from tests.helpers import INGEST, needs

F = INGEST
TRUTH = read_runs(F / "pt_cpt.native.csv")["pt_cpt"]
HF_NATIVE = read_runs(F / "hf_run" / "native.csv")["hf_run"]


def spec(name):
    return from_spec(load_spec_file(F / name))


def same_run(a, b, rtol):
    """Steps, transfer, LR and every loss of ``b`` equal in ``a`` (to ``rtol``: TensorBoard stores float32)."""
    np.testing.assert_array_equal(a.steps, b.steps)
    assert a.transfer_step == b.transfer_step
    np.testing.assert_allclose(a.lr, b.lr, rtol=rtol, atol=0)
    assert set(a.targets) == set(b.targets)
    for c in b.targets:
        (ia, va), (ib, vb) = a.observed(c), b.observed(c)
        np.testing.assert_array_equal(a.steps[ia], b.steps[ib])
        np.testing.assert_allclose(va, vb, rtol=rtol, atol=0)


def fitted_predictions(run, target, law="cpt"):
    law = make_law(law)
    law.fit([run], target, n_starts=8, polish=2)
    return law.predict(run)


@needs("tensorboard")
def test_tensorboard_resumed_run_equals_native_and_fits_alike():
    got = ingest.read(F / "tb_run")
    run = got.runs["tb_run"]
    same_run(run, TRUTH, rtol=1e-6)  # the abandoned branch (losses x1.05 at 2100-2199) is gone
    assert any("later write wins" in n for n in got.notes) and any("re-warmup" in n for n in got.notes)
    a, b = fitted_predictions(run, "loss:general"), fitted_predictions(TRUTH, "loss:general")
    ok = np.isfinite(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4)


def test_megatron_log_with_schedule_equals_native():
    got = ingest.read(F / "megatron.log", schedules=spec("megatron.schedule.yaml"))
    run = got.runs["megatron"]
    same_run(run, TRUTH, rtol=1e-6)  # losses printed with 7 significant digits
    assert any("matches the 300 logged LR points" in n for n in got.notes)
    a, b = fitted_predictions(run, "loss:german"), fitted_predictions(TRUTH, "loss:german")
    ok = np.isfinite(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4)


@needs("mlflow")
@pytest.mark.parametrize("source", ["mlruns", "."])
def test_mlflow_store_equals_native_and_fits_alike(source):
    """An MLflow file store written by MlflowClient as a 0-based loop logs (update k at step k), resumed once:
    the native run shifted by one step, with the resumed write winning and the params as metadata."""
    got = ingest.read(F / source, kind="mlflow")
    run = got.runs["pt_cpt"]
    same_run(dataclasses.replace(run, steps=run.steps + 1), TRUTH, rtol=1e-12)
    assert run.model_size == 1.2e8 and run.tokens_per_step == 1048576
    assert any("steps 2099-2198 were written again" in n for n in got.notes)
    a, b = fitted_predictions(run, "loss:german"), fitted_predictions(TRUTH, "loss:german")
    ok = np.isfinite(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4)


@needs("tensorboard")
def test_hf_launches_in_the_trainers_default_layout_stitch_at_the_first_cpt_step(tmp_path):
    """Two HF launches (PT, then CPT resumed from the PT checkpoint), each with its own runs/<date>_<host>/
    TensorBoard folder: read together with --stitch, one run whose LR and evaluations are the callbacks' truth
    and whose transfer is the CPT launch's first update; the folder of runs/ and the two folders read alike.  A
    lone log cannot be stitched: an error says what to give."""
    root = F / "hf_launches"
    pt, cpt = read_runs(root / "pt.native.csv")["pt"], read_runs(root / "cpt.native.csv")["cpt"]
    launches = sorted((root / "runs").iterdir())
    for source in ([root / "runs"], launches):
        got = ingest.read(source, stitch=True)
        run = next(iter(got.runs))
        assert run.transfer_step == int(cpt.steps[0]) == int(pt.steps[-1]) + 1
        np.testing.assert_array_equal(run.steps, np.r_[pt.steps, cpt.steps])
        np.testing.assert_allclose(run.lr, np.r_[pt.lr, cpt.lr], rtol=1e-6, atol=1e-12)  # float32 events
        for col in ("loss:general", "loss:german"):
            (i, v), (ip, vp), (ic, vc) = run.observed(col), pt.observed(col), cpt.observed(col)
            np.testing.assert_array_equal(run.steps[i], np.r_[pt.steps[ip], cpt.steps[ic]])
            np.testing.assert_allclose(v, np.r_[vp, vc], rtol=1e-6)
        assert not any("is not in the log" in n for n in got.notes)  # the CPT log's LR continues the PT's
    write_runs_path = tmp_path / "stitched.csv"
    assert main(["ingest", str(root / "runs"), "--stitch", "--out", str(write_runs_path)]) == 0
    assert next(iter(read_runs(write_runs_path))).transfer_step == int(cpt.steps[0])  # it reads what it wrote
    with pytest.raises(DataError, match="--stitch joins a PT log and a CPT log, and one log was found"):
        ingest.read([launches[0]], stitch=True)


@pytest.mark.parametrize("source,stitch", [
    pytest.param("tb", False, marks=needs("tensorboard")), ("csv", False),
    pytest.param(("tb/version_0", "tb/version_1"), True, marks=needs("tensorboard")),
    (("csv/version_0/metrics.csv", "csv/version_1/metrics.csv"), True)])
def test_a_lightning_fit_resumed_from_a_checkpoint_reads_whole_at_its_true_steps(source, stitch):
    """Lightning labels the first fit's steps 0-based and the resumed fit's one later (its first step is 31 after
    29): the logger folder (TensorBoard or CSV) reads as one run, every LR and evaluation at the step of the
    callbacks' truth in the first fit's labels (update k + 1 at step k), the transfer at the first CPT update."""
    root = F / "lightning_resume"
    pt, cpt = read_runs(root / "pt.native.csv")["lit"], read_runs(root / "cpt.native.csv")["lit"]
    paths = [root / p for p in ((source,) if isinstance(source, str) else source)]
    got = ingest.read(paths, stitch=stitch)
    assert len(got.runs) == 1
    run = next(iter(got.runs))
    np.testing.assert_array_equal(run.steps + 1, np.r_[pt.steps, cpt.steps])
    np.testing.assert_allclose(run.lr, np.r_[pt.lr, cpt.lr], rtol=1e-6)  # (TensorBoard keeps float32)
    assert run.transfer_step + 1 == int(cpt.steps[0])
    for col in ("loss:general", "loss:german"):
        (i, v), (ip, vp), (ic, vc) = run.observed(col), pt.observed(col), cpt.observed(col)
        np.testing.assert_array_equal(run.steps[i] + 1, np.r_[pt.steps[ip], cpt.steps[ic]])
        np.testing.assert_allclose(v, np.r_[vp, vc], rtol=1e-6)
    assert any("labels its steps one later" in n for n in got.notes)


def test_a_lightning_resume_is_not_shifted_where_the_logs_cannot_prove_it():
    """With log_every_n_steps=5 the LR is not logged at every step: whether the resumed fit's labels moved by one
    cannot be told from the labels (a review found runs where they do not), so they are kept as logged, and a note
    says to check them with a spec."""
    from cptlaw.ingest import lightning, table

    logs = table.read(F / "lightning_resume_every5" / "csv")
    merged = lightning.merge_versions(logs)
    assert len(merged) == 1
    steps = np.sort(np.unique(np.concatenate([s.steps for s in merged[0].scalars.values()])))
    originals = np.sort(np.unique(np.concatenate([s.steps for log in logs for s in log.scalars.values()])))
    np.testing.assert_array_equal(steps, originals)  # nothing moved
    assert any("cannot tell: give the schedule" in n for n in merged[0].notes)


@needs("wandb")
def test_wandb_resume_is_told_in_the_runs_own_step_metric():
    """Logged against a declared step metric (as the HF and Lightning integrations log), W&B's own _step restarts
    at 0 in an offline resume: the resume is at the step metric's 2099, in the notes and for --transfer resume."""
    got = ingest.read(F / "wandb_step_metric_run")
    run = got.runs["pt_cpt"]
    same_run(dataclasses.replace(run, steps=run.steps + 1), TRUTH, rtol=1e-12)
    assert any("resumes at step 2099, before the previous session's last step 2198" in n for n in got.notes)
    assert not any("resumes at step 0" in n for n in got.notes)
    resumed = ingest.read(F / "wandb_step_metric_run", transfer="resume").runs["pt_cpt"]
    assert resumed.transfer_step == 2099


def test_mlflow_sqlite_store_needs_no_mlflow_and_is_never_written(tmp_path, monkeypatch):
    """MLflow 3's default store, ``mlflow.db`` (written by the full mlflow 3.17 package): the same run as the file
    store, read with sqlite3 alone (mlflow is made unimportable here), read-only: the file is byte-identical and
    nothing is written beside it or under $HOME."""
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now fails
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(F / "mlflow.db", store / "mlflow.db")
    before = (store / "mlflow.db").read_bytes()
    for source in (store / "mlflow.db", store):  # the file, or the folder that holds it
        got = ingest.read(source)
        run = got.runs["pt_cpt"]
        same_run(dataclasses.replace(run, steps=run.steps + 1), TRUTH, rtol=1e-12)
        assert run.model_size == 1.2e8 and run.tokens_per_step == 1048576
        assert any("steps 2099-2198 were written again" in n for n in got.notes)
    assert (store / "mlflow.db").read_bytes() == before and [p.name for p in store.iterdir()] == ["mlflow.db"]
    assert not any(home.iterdir())


@needs("mlflow")
def test_reading_a_file_store_writes_nothing_under_home(tmp_path):
    """MLflow's client writes ~/.config/mlflow/telemetry.json on a read; cptlaw's read of the same store writes
    nothing there (in a fresh process: the telemetry is set up when mlflow is first imported)."""
    import os
    import subprocess

    code = f"from cptlaw import ingest; ingest.read({str(F / 'mlruns')!r})"
    ci = ("PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "JENKINS_URL", "BUILDKITE")  # (mlflow keeps quiet there)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k not in ci}
    subprocess.run([sys.executable, "-c", code], check=True, env={**env, "HOME": str(tmp_path)}, timeout=120)
    assert not any(tmp_path.rglob("*"))


def test_an_sqlite_file_that_is_not_a_store_or_a_schema_we_cannot_read_is_left_untouched(tmp_path):
    import sqlite3

    other = tmp_path / "app.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (id INTEGER, text TEXT)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(DataError, match="not an MLflow tracking store.*left untouched"):
        ingest.read(other, kind="mlflow")
    assert other.read_bytes() == before  # no MLflow table created in the user's database
    changed = tmp_path / "mlflow.db"  # a store whose schema has moved on: a column renamed
    shutil.copy(F / "mlflow.db", changed)
    con = sqlite3.connect(changed)
    con.execute("ALTER TABLE metrics RENAME COLUMN step TO step_index")
    con.commit()
    con.close()
    before = changed.read_bytes()
    with pytest.raises(DataError, match=r"cannot read this MLflow store \(schema revision \w+\)"):
        ingest.read(changed)
    assert changed.read_bytes() == before  # never migrated in place


@needs("wandb")
def test_wandb_run_folders_equal_native_and_fit_alike():
    """A W&B offline run written by ``wandb`` as a 0-based loop logs (``step=k``), resumed once into a second
    folder of the same run id: the native run shifted by one step, the resumed write winning, the config as
    metadata.  The whole ``wandb/`` folder, and the parent of it, read the same."""
    for source in ("wandb_run", "wandb_run/wandb"):
        got = ingest.read(F / source)
        assert got.runs.names == ["pt_cpt"]
        run = got.runs["pt_cpt"]
        same_run(dataclasses.replace(run, steps=run.steps + 1), TRUTH, rtol=1e-12)
        assert run.model_size == 1.2e8 and run.tokens_per_step == 1048576
        assert any("resumes at step 2099" in n for n in got.notes)
        assert any("steps 2099-2198 were written again" in n for n in got.notes)
    a, b = fitted_predictions(run, "loss:german"), fitted_predictions(TRUTH, "loss:german")
    ok = np.isfinite(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4)


class RecordedRun:
    """A ``wandb.apis.public.Run`` replaying recorded ``scan_history`` rows; ``history()`` (sampled) fails."""

    def __init__(self, recorded):
        self.name, self.id, self.config, self._rows = (recorded[k] for k in ("name", "id", "config", "rows"))
        self.scans = []

    def scan_history(self, keys=None, page_size=1000, min_step=0, max_step=None):
        self.scans.append(dict(keys=keys, page_size=page_size, min_step=min_step, max_step=max_step))
        return iter(self._rows)

    def history(self, *args, **kwargs):
        raise AssertionError("history() returns a sampled history")


class RecordedApi:
    def __init__(self, run):
        self.run_, self.paths = run, []

    def run(self, path):
        self.paths.append(path)
        if path != "team/hf-run/" + self.run_.id:
            raise ValueError(f"Could not find run {path}")
        return self.run_


def test_wandb_api_reads_every_row_of_a_recorded_run(monkeypatch):
    """The W&B API reader on ``scan_history`` rows recorded from the HF job's W&B run (its step metric
    ``train/global_step``, not ``_step``): the same run as the Trainer's own callback recorded."""
    from cptlaw.ingest import wandb_api

    recorded = RecordedRun(json.loads((F / "wandb_api_run.json").read_text()))
    api = RecordedApi(recorded)
    monkeypatch.setattr(wandb_api, "_api", lambda: api)
    ref = f"wandb:team/hf-run/{recorded.id}"
    assert ingest.detect(Path(ref)) == "wandb-api"
    got = ingest.read(ref, schedules=spec("hf_run.schedule.yaml"), transfer=None, name="hf_run")
    same_run(got.runs["hf_run"], HF_NATIVE, rtol=1e-6)
    assert recorded.scans == [dict(keys=None, page_size=wandb_api.PAGE_SIZE, min_step=0, max_step=None)]
    with pytest.raises(DataError, match="wandb:team/hf-run/nope: cannot read the W&B run: Could not find run"):
        ingest.read("wandb:team/hf-run/nope")
    with pytest.raises(CptlawError, match="wandb:ENTITY/PROJECT/RUN_ID"):
        ingest.read("wandb:hf-run")


@needs("wandb")
def test_wandb_file_reader_agrees_with_the_recorded_rows():
    """The run-file reader (our framing, W&B's protobuf) and W&B's own reader (the recorded rows) give the same
    points for every tag."""
    from cptlaw.ingest import wandb as wb
    from cptlaw.ingest.wandb_api import log_of

    recorded = json.loads((F / "wandb_api_run.json").read_text())
    (log,) = wb.read(F / "hf_run" / "wandb")
    ref = log_of(recorded["rows"], recorded["config"], recorded["name"], "recorded")
    assert set(log.scalars) == set(ref.scalars) and log.step_base == ref.step_base == 1
    for tag, s in ref.scalars.items():
        np.testing.assert_array_equal(log.scalars[tag].steps, s.steps)
        np.testing.assert_array_equal(log.scalars[tag].values, s.values)


@needs("wandb")
def test_wandb_bad_files(tmp_path, cli_error):
    src = next((F / "wandb_run").rglob("run-*.wandb"))
    cut = tmp_path / "run-cut.wandb"
    cut.write_bytes(src.read_bytes()[:200_001])  # killed mid-record: read up to there, and say so
    got = ingest.read(cut, transfer=None, schedules=None)
    assert any("ends inside a record" in n for n in got.notes)
    assert got.runs["pt_cpt"].steps[-1] < 2000
    (tmp_path / "run-x.wandb").write_bytes(b"not a wandb file")
    err = cli_error(["ingest", str(tmp_path / "run-x.wandb"), "--out", str(tmp_path / "o.csv")])
    assert "run-x.wandb: not a W&B run file" in err
    data = bytearray(src.read_bytes())
    data[7 + 6] = 9  # the first chunk's type
    (tmp_path / "run-y.wandb").write_bytes(bytes(data))
    err = cli_error(["ingest", str(tmp_path / "run-y.wandb"), "--out", str(tmp_path / "o.csv")])
    assert "run-y.wandb: byte 7: not a W&B record chunk" in err
    data = bytearray(src.read_bytes())
    data[7 + 7:7 + 17] = b"\xff" * 10  # the first record's payload
    (tmp_path / "run-z.wandb").write_bytes(bytes(data))
    err = cli_error(["ingest", str(tmp_path / "run-z.wandb"), "--out", str(tmp_path / "o.csv")])
    assert "run-z.wandb: byte 7: not a W&B record" in err
    assert not (tmp_path / "o.csv").exists()


@needs("mlflow")
def test_mlflow_bad_stores(tmp_path):
    with pytest.raises(DataError, match="not an MLflow file store"):
        ingest.read(tmp_path, kind="mlflow")
    exp = next(p for p in (F / "mlruns").iterdir() if p.name not in ("0", ".trash"))
    with pytest.raises(DataError, match="one MLflow experiment or run folder"):
        ingest.read(exp, kind="mlflow")
    (tmp_path / "runs.db").write_text("not a database")
    with pytest.raises(DataError, match="a file must be an SQLite database"):
        ingest.read(tmp_path / "runs.db", kind="mlflow")
    bad = tmp_path / "mlruns"
    shutil.copytree(F / "mlruns", bad)
    for f in bad.rglob("metrics/lr"):
        f.write_text("1700000000010 0.001 0\nnot a metric line\n")
    with pytest.raises(DataError, match=r"mlruns: cannot read the MLflow store"):
        ingest.read(bad)


@pytest.mark.parametrize("source", ["hf_run", "hf_run/trainer_state.json", pytest.param("hf_run/tb", marks=needs("tensorboard")),
                                    pytest.param("hf_run/wandb", marks=needs("wandb"))])
def test_hf_trainer_run_matches_its_callback(source):
    """A real Trainer job: trainer_state.json (and its TensorBoard events) with the schedule spec give the LR
    the optimizer applied at every step, as recorded by cptlaw's callback (the step convention, measured)."""
    got = ingest.read(F / source, schedules=spec("hf_run.schedule.yaml"), transfer=None, name="hf_run")
    same_run(got.runs["hf_run"], HF_NATIVE, rtol=1e-6)
    a = fitted_predictions(got.runs["hf_run"], "loss:general", law="annealing")
    b = fitted_predictions(HF_NATIVE, "loss:general", law="annealing")
    np.testing.assert_allclose(a, b, rtol=1e-6)


@needs("wandb")
def test_an_hf_run_on_wandb_needs_no_spec_its_training_arguments_give_the_schedule():
    """Zero glue: the HF job's W&B run holds its TrainingArguments (cosine, 1e-3, 5 warmup steps, 40 steps), and
    its LR is logged every 5 steps only; the schedule rebuilt from them gives the LR the optimizer applied at
    every step (the callback's truth), and the notes say so."""
    got = ingest.read(F / "hf_run" / "wandb", transfer=None, name="hf_run")
    same_run(got.runs["hf_run"], HF_NATIVE, rtol=1e-6)
    assert any("rebuilt from the run's HF TrainingArguments (lr_scheduler_type=cosine" in n for n in got.notes)
    assert any("the schedule spec matches the 8 logged LR points" in n for n in got.notes)


def test_hf_sparse_lr_without_schedule_says_what_to_supply():
    with pytest.raises(DataError, match=r"trainer_state.json: learning_rate: the LR is logged every 5 steps.*--schedule"):
        ingest.read(F / "hf_run")


def test_schedule_that_does_not_match_the_logged_lr_is_refused():
    wrong = from_spec({"kind": "warmup", "steps": 5, "schedule": {"kind": "cosine", "peak": 2e-3, "steps": 35}})
    with pytest.raises(DataError, match=r"does not follow the schedule spec: at step \d+ the log has"):
        ingest.read(F / "hf_run", schedules=wrong)


def write_table(path, rows, columns):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, columns)
        w.writeheader()
        w.writerows(rows)


def table_rows(run, lo, hi, step_offset=0):
    """A nanoGPT-style script's CSV: iter, lr every step; val/loss and val/german at evaluations."""
    evals = {c: dict(zip(run.steps[i].tolist(), v.tolist())) for c, (i, v) in run.losses.items()}
    rows = []
    for s, lr in zip(run.steps.tolist(), run.lr.tolist()):
        if lo <= s <= hi:
            rows.append({"iter": s - step_offset, "lr": repr(lr), "val/loss": evals["loss:general"].get(s, ""),
                         "val/german": evals["loss:german"].get(s, "")})
    return rows


def test_table_with_a_mapping_and_stitched_pt_cpt_logs(tmp_path):
    cols = ["iter", "lr", "val/loss", "val/german"]
    write_table(tmp_path / "pt.csv", table_rows(TRUTH, 1, 2000), cols)
    write_table(tmp_path / "cpt.csv", table_rows(TRUTH, 2001, 3000, step_offset=2000), cols)  # restarts at 1
    mapping = ingest.parse_map("step=iter,lr=lr,loss:general=val/loss,loss:german=val/german")
    got = ingest.read([tmp_path / "pt.csv", tmp_path / "cpt.csv"], stitch=True, mapping=mapping, name="pt_cpt")
    same_run(got.runs["pt_cpt"], TRUTH, rtol=1e-12)
    assert any("where the CPT log begins" in n for n in got.notes)


@needs("tensorboard")
def test_cli_ingest_then_fit_equals_fit_on_native(tmp_path, capsys):
    out = tmp_path / "runs.csv"
    assert main(["ingest", str(F / "megatron.log"), "--schedule", str(F / "megatron.schedule.yaml"), "--out", str(out),
                 "--name", "pt_cpt"]) == 0
    assert "pt_cpt: steps 1-3000, CPT from step 2001" in capsys.readouterr().out
    same_run(read_runs(out)["pt_cpt"], TRUTH, rtol=1e-6)
    assert main(["ingest", str(F / "megatron.log"), "--out", str(out)]) == 2  # exists: no --force
    for data, fit in ((str(out), "a.json"), (str(F / "tb_run"), "b.json")):
        assert main(["fit", data, "--law", "cpt", "--target", "loss:general", "--n-starts", "8",
                     "--out", str(tmp_path / fit)]) == 0
    a, b = (json.loads((tmp_path / f).read_text())["parameters"] for f in ("a.json", "b.json"))
    for k in a:
        assert a[k]["value"] == pytest.approx(b[k]["value"], rel=1e-3, abs=1e-9), k


@needs("tensorboard")
def test_bad_tensorboard_input_exits_2_naming_file_and_entry(tmp_path, cli_error):
    # a truncated event file
    tb = tmp_path / "tb"
    shutil.copytree(F / "tb_run", tb)
    f = sorted(tb.iterdir())[0]
    f.write_bytes(f.read_bytes()[:-7])
    err = cli_error(["ingest", str(tb), "--out", str(tmp_path / "o.csv")])
    assert f.name in err and "record" in err and "truncated" in err
    # mixed runs in one folder
    err = cli_error(["ingest", str(F / "tb_mixed"), "--out", str(tmp_path / "o.csv")])
    assert "mixed runs in one folder" in err
    assert not (tmp_path / "o.csv").exists()


def test_bad_input_exits_2_naming_file_and_entry(tmp_path, cli_error):
    # a log_history without an LR
    state = json.loads((F / "hf_run" / "trainer_state.json").read_text())
    for e in state["log_history"]:
        e.pop("learning_rate", None)
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    err = cli_error(["ingest", str(tmp_path / "trainer_state.json"), "--out", str(tmp_path / "o.csv")])
    assert "trainer_state.json: no LR in the log" in err and "--schedule" in err
    # non-monotonic steps in one trainer_state.json
    state = json.loads((F / "hf_run" / "trainer_state.json").read_text())
    state["log_history"][3]["step"] = 1
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    err = cli_error(["ingest", str(tmp_path / "trainer_state.json"), "--schedule", str(F / "hf_run.schedule.yaml"),
                     "--out", str(tmp_path / "o.csv")])
    assert "log_history[3]: step 1 after step" in err
    # a wrong mapping
    write_table(tmp_path / "m.csv", table_rows(TRUTH, 1, 400), ["iter", "lr", "val/loss", "val/german"])
    err = cli_error(["ingest", str(tmp_path / "m.csv"), "--map", "step=iter,loss:general=val_loss",
                     "--out", str(tmp_path / "o.csv")])
    assert "m.csv: --map loss:general=val_loss: no tag or column 'val_loss'" in err and "val/loss" in err
    err = cli_error(["ingest", str(tmp_path / "m.csv"), "--map", "steps=iter", "--out", str(tmp_path / "o.csv")])
    assert "'steps' is not step, lr or loss:<set>" in err
    assert not (tmp_path / "o.csv").exists()


def test_supersede_keeps_the_later_branch():
    s = Series([1, 2, 3, 4, 5, 3, 4, 6], [1, 2, 3, 4, 5, 30, 40, 60], "x")
    got, note = supersede(s, "loss:a")
    assert got.steps.tolist() == [1, 2, 3, 4, 6] and got.values.tolist() == [1, 2, 30, 40, 60]
    assert "3 point(s) at steps 3-5" in note


def test_sampled_history_is_flagged():
    rng = np.random.default_rng(0)
    steps = np.sort(rng.choice(10**6, 10_000, replace=False))
    assert "10,000-point reservoir" in sampled(Series(steps, np.ones(steps.size), "f"), "loss:a")
    assert sampled(Series(np.arange(0, 10**6, 100), np.ones(10_000), "f"), "loss:a") is None  # every 100 steps
    steps = np.sort(rng.choice(50_000, 500, replace=False))
    assert "scan_history" in sampled(Series(steps, np.ones(500), "f"), "loss:a")


def test_wandb_panel_export_is_read_and_flagged(tmp_path):
    idx, val = TRUTH.losses["loss:general"]
    rows = [{"Step": int(TRUTH.steps[i]), "run-a - eval/general_loss": v, "run-a - eval/general_loss__MIN": v,
             "run-a - eval/general_loss__MAX": v, "run-a - lr": TRUTH.lr[i]} for i, v in zip(idx, val)]
    write_table(tmp_path / "export.csv", rows, list(rows[0]))
    with pytest.raises(DataError, match="the LR is logged"):
        ingest.read(tmp_path / "export.csv")
    got = ingest.read(tmp_path / "export.csv", schedules=spec("megatron.schedule.yaml"), transfer=None)
    assert got.runs.names == ["run-a"] and any("W&B panel export, bucketed" in n for n in got.notes)


def test_rewarmup_detection():
    lr = np.r_[np.linspace(0, 1, 10), np.ones(20), np.linspace(0.5, 0.1, 5)]
    assert rewarmup(lr) is None  # warmup, stable, decay: PT only
    assert rewarmup(np.r_[lr, 0.0, np.linspace(0.2, 1, 5)]) == lr.size  # re-warmup from 0: the drop is step one
    assert rewarmup(np.r_[np.ones(5), 2 * np.ones(5)]) == 5  # an LR jump
    assert rewarmup(np.tile(np.r_[np.linspace(0, 1, 5), np.linspace(1, 0, 5)], 3)) is None  # cyclic: ambiguous
    # a jump after a PT that decays at every step (cosine, linear): the first step at the new LR, not the step
    # before it (every PT step is a "drop" there; only a drop that breaks the trend starts a re-warmup)
    cosine = np.r_[np.linspace(0, 1, 5), 0.1 + 0.45 * (1 + np.cos(np.pi * np.arange(50) / 50))]
    linear = np.r_[np.linspace(0, 1, 5), np.linspace(1, 0.1, 50)]
    for pt in (cosine, linear):
        assert rewarmup(np.r_[pt, 0.5 * np.ones(10)]) == pt.size
        assert rewarmup(np.r_[pt, 0.0, np.linspace(0.1, 0.5, 5)]) == pt.size  # from 0: still the drop


@needs("tensorboard")
def test_a_real_loops_lr_jump_is_the_transfer_and_every_point_sits_at_its_update():
    """A 0-based PyTorch loop logged with SummaryWriter (tests/fixtures/ingest/lr_jump): cosine PT, then a jump to
    a new LR with no ramp.  Against the optimizer's own record: the LR of update k + 1 at step k, each evaluation
    after update n at step n - 1, and the transfer at the first update at the new LR."""
    truth = json.loads((F / "lr_jump" / "truth.json").read_text())
    run = next(iter(ingest.read(F / "lr_jump" / "tb").runs))
    np.testing.assert_array_equal(run.steps, np.arange(60))
    np.testing.assert_allclose(run.lr, truth["lr"], rtol=1e-6)  # (float32 events)
    assert run.transfer_step == 40 and truth["lr"][40] != truth["lr"][39]
    i, v = run.observed("val")
    np.testing.assert_array_equal(run.steps[i] + 1, [int(n) for n in truth["evals"]])
    np.testing.assert_allclose(v, list(truth["evals"].values()), rtol=1e-6)


def test_a_cpt_lr_jump_in_a_zero_based_loop_is_the_transfer(tmp_path):
    """A 0-based training loop logs the LR each update applied; CPT jumps to a new constant LR with no ramp.
    The transfer is the first update at the new LR (issue 22)."""
    pt = [1e-3 * 0.5 * (1 + np.cos(np.pi * s / 300)) + 1e-5 for s in range(300)]
    lr = pt + [4e-4] * 200
    rows = [{"step": s, "lr": lr[s], **({"eval_loss": 3.0 - 1e-3 * s} if s % 20 == 0 else {})} for s in range(500)]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = ingest.read(tmp_path / "log.jsonl").runs["log"]
    assert run.transfer_step == 300 and run.lr[run.transfer] == 4e-4 and run.lr[run.transfer - 1] < 1e-4


def test_callback_recorder_resumes_and_writes_atomically(tmp_path):
    from cptlaw.ingest.recorder import Recorder

    rec = Recorder(tmp_path / "r.csv", "r", transfer_step=3, replay_ratio=0.25)
    for s in range(1, 6):
        rec.log_lr(s, 1e-3 * s)
    rec.log_loss(4, "general", 3.0)
    rec.log_lr(4, 9e-3)  # a resume rewrites step 4
    rec.write()
    run = read_runs(tmp_path / "r.csv")["r"]
    assert run.lr.tolist() == [1e-3, 2e-3, 3e-3, 9e-3, 5e-3] and run.transfer_step == 3 and run.replay_ratio == 0.25
    assert run.observed("loss:general")[1].tolist() == [3.0]


def test_detect():
    assert ingest.detect(F / "hf_run") == "hf"
    assert ingest.detect(F / "tb_run") == "tensorboard"
    assert ingest.detect(F / "megatron.log") == "megatron"
    assert ingest.detect(F / "wandb_run") == ingest.detect(F / "hf_run" / "wandb") == "wandb"
    assert ingest.detect(F / "pt_cpt.native.csv") == "native"
    with pytest.raises(DataError, match="no such file"):
        ingest.detect(F / "nothing")


def test_stitched_logs_with_one_spec_for_the_whole_run(tmp_path):
    """Megatron-style sparse LR in a PT log and a CPT log whose iterations restart: one spec covers both."""
    import re

    lines = (F / "megatron.log").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if "german loss at iteration 2000 " in line) + 2  # (a dashes line)
    (tmp_path / "pt.log").write_text("\n".join(lines[:cut]) + "\n")
    cpt = [re.sub(r"(iteration\s+)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) - 2000), line)
           for line in lines[cut:]]
    (tmp_path / "cpt.log").write_text("\n".join(cpt) + "\n")
    got = ingest.read([tmp_path / "pt.log", tmp_path / "cpt.log"], kind="megatron", stitch=True, name="pt_cpt",
                      schedules=spec("megatron.schedule.yaml"))
    same_run(got.runs["pt_cpt"], TRUTH, rtol=1e-6)


def test_hf_run_folder_reads_the_latest_checkpoint(tmp_path):
    state = json.loads((F / "hf_run" / "trainer_state.json").read_text())
    early = dict(state, global_step=20, log_history=[e for e in state["log_history"] if e["step"] <= 20])
    for n, st in ((20, early), (40, state)):
        (tmp_path / f"checkpoint-{n}").mkdir()
        (tmp_path / f"checkpoint-{n}" / "trainer_state.json").write_text(json.dumps(st))
    (tmp_path / "checkpoint-best").mkdir()  # not a step: ignored
    got = ingest.read(tmp_path, schedules=spec("hf_run.schedule.yaml"), transfer=None, name="hf_run")
    same_run(got.runs["hf_run"], HF_NATIVE, rtol=1e-6)
    assert any("checkpoint-40" in n for n in got.notes)


@needs("torch", "lightning")
def test_lightning_callback_records_the_applied_lr_and_every_validation_loss(tmp_path):
    """A real Lightning Trainer job on CPU (a linear model, LambdaLR warmup + decay stepped every update,
    gradient accumulation 2, validation on two sets every 10 updates): the native file has the LR the
    optimizer applied at every update and both sets' losses at the validation steps."""
    import torch
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset

    from cptlaw.ingest.lightning_callback import CptlawLightningCallback

    def factor(k):  # the LambdaLR factor of update k + 1 (k = scheduler steps taken)
        return min(1.0, (k + 1) / 5) * (1.0 - 0.5 * k / 40)

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def validation_step(self, batch, _, dataloader_idx=0):
            x, y = batch
            name = ("general", "german")[dataloader_idx]
            self.log(f"val/{name}_loss", torch.nn.functional.mse_loss(self.net(x), y), add_dataloader_idx=False)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.01)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    torch.manual_seed(0)
    data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    out = tmp_path / "runs.csv"
    trainer = pl.Trainer(max_steps=30, accumulate_grad_batches=2, val_check_interval=20, check_val_every_n_epoch=None,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1,
                         callbacks=[CptlawLightningCallback(out, run="lit", model_size=5, tokens_per_step=8)])
    trainer.fit(Module(), DataLoader(data, batch_size=4),
                [DataLoader(data, batch_size=16), DataLoader(data, batch_size=16)])
    run = read_runs(out)["lit"]
    np.testing.assert_array_equal(run.steps, np.arange(1, 31))
    np.testing.assert_allclose(run.lr, [0.01 * factor(s - 1) for s in run.steps], rtol=1e-12)
    # validation every 20 micro-batches = every 10 updates
    for col in ("loss:general", "loss:german"):
        np.testing.assert_array_equal(run.steps[run.observed(col)[0]], [10, 20, 30])
    assert run.model_size == 5 and run.tokens_per_step == 8
