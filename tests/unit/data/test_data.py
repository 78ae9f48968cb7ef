import json

import numpy as np
import pytest

from cptlaw.data import Run, RunSet, read_runs, runs_to_csv, write_runs
from cptlaw.errors import DataError
from cptlaw.schedules import Constant, Continual, Cosine, Warmup

HEADER = "run,step,phase,lr,loss:general,loss:code,replay_ratio\n"


def good_rows():
    rows = []
    for s in range(6):
        phase = "pt" if s < 3 else "cpt"
        code = "" if s < 3 else f"{3.0 - 0.1 * s}"
        rows.append(f"a,{s},{phase},{1e-3 if s < 3 else 5e-4},{3.0 - 0.05 * s},{code},0.25")
    return rows


def write(tmp_path, lines, name="d.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "\n".join(lines) + "\n")
    return p


def test_reads_a_good_file(tmp_path):
    runs = read_runs(write(tmp_path, good_rows()))
    run = runs["a"]
    assert run.transfer == 3 and run.transfer_step == 3
    assert run.replay_ratio == 0.25
    idx, val = run.observed("code")
    assert idx.tolist() == [3, 4, 5]
    assert val[0] == pytest.approx(2.7)
    np.testing.assert_array_equal(run.lr, [1e-3] * 3 + [5e-4] * 3)


@pytest.mark.parametrize("mutate,row,column,message", [
    (lambda r: r.__setitem__(2, "a,2,pt,abc,2.9,,0.25"), 4, "lr", "not a number"),
    (lambda r: r.__setitem__(2, "a,2,pt,nan,2.9,,0.25"), 4, "lr", "not finite"),
    (lambda r: r.__setitem__(2, "a,2,pt,inf,2.9,,0.25"), 4, "lr", "not finite"),
    (lambda r: r.__setitem__(2, "a,2,pt,-1e-3,2.9,,0.25"), 4, "lr", "negative"),
    (lambda r: r.__setitem__(2, "a,1,pt,1e-3,2.9,,0.25"), 4, "step", "duplicated step 1"),
    (lambda r: r.__setitem__(2, "a,0,pt,1e-3,2.9,,0.25"), 4, "step", "decreasing step 0"),
    (lambda r: r.__setitem__(4, "a,4,pt,5e-4,2.8,2.6,0.25"), 6, "phase", "'pt' row after a 'cpt' row"),
    (lambda r: r.__setitem__(1, "a,1,pt,1e-3,0,,0.25"), 3, "loss:general", "finite and > 0"),
    (lambda r: r.__setitem__(1, "a,1,pt,1e-3,-2,,0.25"), 3, "loss:general", "finite and > 0"),
    (lambda r: r.__setitem__(1, "a,1,pt,1e-3,inf,,0.25"), 3, "loss:general", "finite and > 0"),
    (lambda r: r.__setitem__(1, "a,1,pt,1e-3,,nan,0.25"), 3, "loss:code", "finite and > 0"),
    (lambda r: r.__setitem__(5, "a,9,cpt,5e-4,2.75,2.5,0.25"), 7, "lr", "gap in the dense LR"),
    (lambda r: r.__setitem__(1, "a,1.5,pt,1e-3,2.9,,0.25"), 3, "step", "not an integer"),
    (lambda r: r.__setitem__(1, "a,1,ft,1e-3,2.9,,0.25"), 3, "phase", "must be 'pt' or 'cpt'"),
    (lambda r: r.__setitem__(1, "a,1,pt,1e-3,2.9,,0.5"), 3, "replay_ratio", "constant per run"),
    (lambda r: r.__setitem__(1, "a,1,pt,,2.9,,0.25"), 3, "lr", "missing learning rate"),
])
def test_each_problem_names_file_row_and_column(tmp_path, mutate, row, column, message):
    rows = good_rows()
    mutate(rows)
    path = write(tmp_path, rows)
    with pytest.raises(DataError) as exc:
        read_runs(path)
    text = str(exc.value)
    assert f"{path}:{row}: {column}:" in text, text
    assert message in text, text


def test_missing_columns_and_empty_file(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("run,lr,loss:general\na,1e-3,3.0\n")
    with pytest.raises(DataError, match=r"m\.csv:1: step: missing column"):
        read_runs(p)
    p.write_text("run,step,lr\na,0,1e-3\n")
    with pytest.raises(DataError, match=r"loss:<name>: missing column"):
        read_runs(p)
    p.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_runs(p)
    p.write_text(HEADER)
    with pytest.raises(DataError, match="empty"):
        read_runs(p)
    with pytest.raises(DataError, match="no such file"):
        read_runs(tmp_path / "nope.csv")


def test_all_problems_are_reported_together(tmp_path):
    rows = good_rows()
    rows[1] = "a,1,pt,-1,2.9,,0.25"
    rows[4] = "a,4,cpt,5e-4,0,2.6,0.25"
    with pytest.raises(DataError) as exc:
        read_runs(write(tmp_path, rows))
    assert len(exc.value.problems) == 2


def sample_runs():
    sched = Continual(Warmup(Constant(1e-3), 5), Cosine(5e-4, 20), 30, rewarmup_steps=3)
    run = Run.from_schedule("r1", sched, 50, model_size=1.3e6, tokens_per_step=4096.0, replay_ratio=0.1)
    run.losses["loss:general"] = (np.array([0, 10, 30, 49]), np.array([5.0, 4.0, 3.5, 3.2]))
    run.losses["loss:legal"] = (np.array([30, 49]), np.array([4.4, 3.9]))
    pt = Run.from_schedule("r0", Warmup(Constant(1e-3), 5), 40)
    pt.losses["loss:general"] = (np.array([9, 19, 39]), np.array([4.1, 3.8, 3.6]))
    return RunSet([run, pt])


def assert_same(a: RunSet, b: RunSet):
    assert a.names == b.names
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.steps, rb.steps)
        np.testing.assert_allclose(ra.lr, rb.lr, rtol=1e-15)
        assert ra.transfer == rb.transfer
        assert (ra.model_size, ra.tokens_per_step, ra.replay_ratio) == (rb.model_size, rb.tokens_per_step, rb.replay_ratio)
        assert ra.losses.keys() == rb.losses.keys()
        for k in ra.losses:
            np.testing.assert_array_equal(ra.losses[k][0], rb.losses[k][0])
            np.testing.assert_allclose(ra.losses[k][1], rb.losses[k][1], rtol=1e-15)
    assert a.data_hash() == b.data_hash()


def _umask():
    import os

    m = os.umask(0)
    os.umask(m)
    return m


def test_csv_roundtrip_and_no_overwrite(tmp_path):
    runs = sample_runs()
    p = write_runs(runs, tmp_path / "runs.csv")
    assert_same(runs, read_runs(p))
    with pytest.raises(FileExistsError):
        write_runs(runs, p)
    write_runs(runs, p, force=True)
    assert p.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's 0600


def test_jsonl_and_parquet_roundtrip(tmp_path):
    import csv
    import io

    runs = sample_runs()
    records = list(csv.DictReader(io.StringIO(runs_to_csv(runs))))
    jp = tmp_path / "runs.jsonl"
    with jp.open("w") as fh:
        for rec in records:
            out = {k: (None if v == "" else (v if k in ("run", "phase") else float(v))) for k, v in rec.items()}
            fh.write(json.dumps(out) + "\n")
    assert_same(runs, read_runs(jp))
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    cols = {k: [json.loads(line)[k] for line in jp.read_text().splitlines()] for k in records[0]}
    pq.write_table(pa.table(cols), tmp_path / "runs.parquet")
    assert_same(runs, read_runs(tmp_path / "runs.parquet"))


def test_jsonl_bad_line_is_named(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"run": "a", "step": 0, "lr": 1e-3, "loss:general": 3}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2: each line must be a JSON object"):
        read_runs(p)


def test_schedule_side_file_allows_sparse_rows(tmp_path):
    data = tmp_path / "sparse.csv"
    data.write_text("run,step,phase,loss:general,loss:legal\n"
                    "x,100,pt,4.0,\nx,199,pt,3.7,\nx,250,cpt,3.9,4.5\nx,299,cpt,3.8,4.2\n")
    (tmp_path / "sparse.schedules.yaml").write_text(
        "x:\n  kind: continual\n  transfer: 200\n  rewarmup_steps: 10\n"
        "  pt: {kind: warmup, steps: 20, schedule: {kind: constant, lr: 1.0e-3}}\n"
        "  cpt: {kind: cosine, peak: 1.0e-3, steps: 100}\n")
    run = read_runs(data)["x"]
    assert run.steps[0] == 0 and run.steps[-1] == 299 and run.transfer_step == 200
    assert run.lr[200] == 0.0 and run.lr[50] == 1e-3
    assert run.observed("legal")[0].tolist() == [250, 299]
    (tmp_path / "sparse.schedules.yaml").write_text("x: {kind: constant, lrr: 1}\n")
    from cptlaw.errors import SpecError

    with pytest.raises(SpecError, match="unknown key 'lrr'"):
        read_runs(data)
