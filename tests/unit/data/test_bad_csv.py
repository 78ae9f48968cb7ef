"""Bad data files, by class: each is refused with a DataError naming the file, row and column."""

import numpy as np
import pytest

from cptlaw.cli import main
from cptlaw.data import read_runs
from cptlaw.errors import DataError

HEADER = "run,step,phase,lr,loss:general\n"


def rows(n=5, phase="pt", start=0):
    return "".join(f"a,{s},{phase},1e-3,{3 - s * 0.01}\n" for s in range(start, start + n))


@pytest.mark.parametrize("body,message", [
    (HEADER + 'a,0,pt,1e-3,"3.0\na,1,pt,1e-3,2.9\n', ":2: loss:general: not a number.*never closed"),
    ("run,step,lr,loss:general,loss:general\na,0,1e-3,3,3\n", "loss:general: column given twice"),
    (HEADER + rows(2) + "a,2,pt,1e-3,1e308\n", ":4: loss:general: a loss above 30 nats: is this a perplexity"),
    (HEADER + rows(2) + "a,2,pt,1e-3,45.2\n", "perplexity"),
    (HEADER + rows(2) + "a,2,pt,nan,2.9\n", ":4: lr: not finite"),
    (HEADER + rows(2) + "a,2,pt,true,2.9\n", ":4: lr: not a number"),
    (HEADER + rows(3, "cpt"), "starts in CPT: a CPT run must carry its PT prefix"),
    (HEADER + rows(2) + "a,2.5,pt,1e-3,2.9\n", ":4: step: not an integer"),
    (HEADER + rows(2) + "a,-3,pt,1e-3,2.9\n", "step: a step must be >= 0"),
    (HEADER + rows(3) + "a,1,pt,1e-3,2.9\n", ":5: step: decreasing step 1 after 2"),
])
def test_bad_csv_classes(tmp_path, body, message):
    path = tmp_path / "runs.csv"
    path.write_text(body)
    with pytest.raises(DataError, match=message):  # each message is a regex
        read_runs(path)


def test_mistyped_huge_step_fails_before_allocating(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run,step,loss:general\na,100,3.0\na,1000000000,2.9\n")
    (tmp_path / "runs.schedules.yaml").write_text("a: {kind: constant, lr: 1.0e-3}\n")
    with pytest.raises(DataError, match="would span 1000000001 steps"):
        read_runs(path)


def test_dcpt_from_runs_needs_no_lr(tmp_path):
    lines = ["run,step,phase,loss:code,model_size,tokens_per_step,replay_ratio"]
    for n in (2e6, 8e6):
        for rep in (0.0, 0.25, 0.5):
            lines += [f"n{n:g}r{rep},{s},{'cpt' if s >= 100 else 'pt'},{5.0 if s < 100 else 2 + 50 / (s - 90) ** 0.3 + rep},"
                      f"{n},8192,{rep}" for s in range(0, 600, 25)]
    path = tmp_path / "dcpt.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="missing learning rate"):
        read_runs(path)
    runs = read_runs(path, need_lr=False)
    assert all(np.isnan(r.lr).all() and r.transfer == 100 for r in runs)
    code = main(["fit", str(path), "--law", "dcpt", "--target", "code", "--n-starts", "8",
                 "--out", str(tmp_path / "f.json")])
    assert code == 0
