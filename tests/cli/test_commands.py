import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from cptlaw.cli import main
from cptlaw.laws import load as load_fit

def test_fit_writes_a_fit_file(fitted):
    fit = json.loads(fitted.read_text())
    assert fit["law"] == "cpt" and fit["runs"] == ["pt", "c1", "c2"] and fit["target"] == "loss:general"
    assert fit["options"]["lam"] == 0.999 and fit["starts"]["n_starts"] == 8


def test_predict_with_data_and_with_schedule(fitted, data, tmp_path):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(fitted), "--data", str(data), "--runs", "c3", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert rows[0].keys() == {"run", "step", "predicted", "observed", "extrapolated"}
    assert {r["run"] for r in rows} == {"c3"}
    err = [abs(float(r["predicted"]) - float(r["observed"])) / float(r["observed"]) for r in rows]
    assert np.mean(err) < 0.005
    spec = tmp_path / "plan.yaml"
    spec.write_text("kind: continual\ntransfer: 4000\nrewarmup_steps: 100\n"
                    "pt: {kind: warmup, steps: 500, schedule: {kind: constant, lr: 2.0e-4}}\n"
                    "cpt: {kind: cosine, peak: 1.0e-4, steps: 3000}\n")
    out2 = tmp_path / "plan.csv"
    assert main(["predict", str(fitted), "--schedule", str(spec), "--steps", "7000", "--out", str(out2)]) == 0
    rows = list(csv.DictReader(out2.open()))
    assert len(rows) > 100 and rows[-1]["step"] == "6999" and rows[0]["observed"] == ""
    # refuses to overwrite without --force
    assert main(["predict", str(fitted), "--schedule", str(spec), "--steps", "7000", "--out", str(out2)]) == 2
    assert main(["predict", str(fitted), "--schedule", str(spec), "--steps", "7000", "--out", str(out2),
                 "--force"]) == 0


def test_evaluate_json_schema(fitted, data, capsys):
    assert main(["evaluate", str(fitted), "--data", str(data), "--runs", "c3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    keys = {"r2", "mae", "rmse", "pred_e", "worst_e", "n"}
    assert set(report) == {"runs", "overall", "pooled"}  # mean of runs, and every row pooled
    assert set(report["runs"]["c3"]) == keys and set(report["overall"]) == keys == set(report["pooled"])
    assert report["overall"]["pred_e"] < 0.005


def test_plot_png_and_svg(fitted, data, tmp_path):
    for ext in ("png", "svg"):
        out = tmp_path / f"fig.{ext}"
        assert main(["plot", str(fitted), "--data", str(data), "--out", str(out)]) == 0
        assert out.stat().st_size > 5000
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(fitted), "--data", str(data), "--out", str(tmp_path / "fig.png")]) == 2
    assert main(["plot", str(fitted), "--data", str(data), "--out", str(tmp_path / "fig.gif")]) == 2


GOOD = "run,step,lr,loss:general\n" + "".join(f"a,{s},1e-3,{3 - 0.01 * s}\n" for s in range(20))
BAD = {
    "missing_column": ("run,lr,loss:general\na,1e-3,3\n", "step: missing column"),
    "lr_text": (GOOD.replace("a,3,1e-3", "a,3,fast"), ":5: lr: not a number"),
    "lr_nan": (GOOD.replace("a,3,1e-3", "a,3,nan"), ":5: lr: not finite"),
    "lr_inf": (GOOD.replace("a,3,1e-3", "a,3,inf"), ":5: lr: not finite"),
    "lr_negative": (GOOD.replace("a,3,1e-3", "a,3,-1e-3"), ":5: lr: negative"),
    "dup_step": (GOOD.replace("a,3,1e-3", "a,2,1e-3"), ":5: step: duplicated step 2"),
    "decreasing_step": (GOOD.replace("a,3,1e-3", "a,1,1e-3"), ":5: step: decreasing step 1"),
    "loss_zero": (GOOD.replace("a,3,1e-3,2.97", "a,3,1e-3,0"), ":5: loss:general: a loss must be finite and > 0"),
    "loss_inf": (GOOD.replace("a,3,1e-3,2.97", "a,3,1e-3,inf"), ":5: loss:general: a loss must be finite and > 0"),
    "empty": ("", "empty"),
    "gap": (GOOD.replace("a,19,", "a,25,"), ":21: lr: gap in the dense LR"),
    "pt_after_cpt": ("run,step,phase,lr,loss:general\na,0,pt,1e-3,3\na,1,cpt,1e-3,2.9\na,2,pt,1e-3,2.8\n",
                     ":4: phase: a 'pt' row after a 'cpt' row"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_file_row_column(case, tmp_path, capsys):
    text, message = BAD[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    out = tmp_path / "fit.json"
    code = main(["fit", str(path), "--law", "annealing", "--target", "loss:general", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and str(path) in err
    assert "Traceback" not in err
    assert not out.exists()


def test_fit_never_overwrites_without_force(data, tmp_path):
    out = tmp_path / "fit.json"
    out.write_text("precious")
    assert main(["fit", str(data), "--law", "annealing", "--target", "general", "--out", str(out), "--n-starts", "2"]) == 2
    assert out.read_text() == "precious"


def test_bad_fit_file_and_bad_schedule_exit_2(fitted, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["evaluate", str(bad), "--data", str(fitted)]) == 2
    spec = tmp_path / "s.yaml"
    spec.write_text("kind: cosine\npeak: 1e-3\nstepz: 10\n")
    assert main(["predict", str(fitted), "--schedule", str(spec), "--steps", "10", "--out", str(tmp_path / "p.csv")]) == 2
    assert "unknown key 'stepz'" in capsys.readouterr().err
    assert main(["predict", str(fitted), "--out", str(tmp_path / "q.csv")]) == 2


def test_unknown_run_and_target_exit_2(data, tmp_path, capsys):
    out = str(tmp_path / "f.json")
    assert main(["fit", str(data), "--law", "cpt", "--target", "general", "--runs", "nope", "--out", out]) == 2
    assert "no run named 'nope'" in capsys.readouterr().err
    assert main(["fit", str(data), "--law", "cpt", "--target", "loss:code", "--out", out]) == 2
    assert "no observations of 'loss:code'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate", "plot", "demo", "pilot"])
def test_every_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "example" in capsys.readouterr().out


def test_console_script_bad_input_no_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("run,step\n")
    proc = subprocess.run([sys.executable, "-m", "cptlaw.cli", "fit", str(bad), "--law", "cpt", "--target", "general",
                           "--out", str(tmp_path / "f.json")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "error" in proc.stderr


def test_dcpt_fit_from_points_table(tmp_path):
    from cptlaw.laws import DCPTLaw

    law = DCPTLaw()
    N, D, r = np.meshgrid([5e8, 1.8e9, 4e9], np.geomspace(1e8, 2e10, 5), [0.1, 0.33, 0.5, 0.67, 0.9, 1.0])
    d = law.design_points(N.ravel(), D.ravel(), r.ravel())
    y = law.value(np.array([1.6, 1.5, 0.35, 0.5, 0.45, 0.5, 0.03, 0.4, 0.02]), d)
    pts = tmp_path / "points.csv"
    pts.write_text("model_size,tokens,ratio,loss\n" + "".join(
        f"{a},{b},{c},{e}\n" for a, b, c, e in zip(N.ravel(), D.ravel(), r.ravel(), y)))
    out = tmp_path / "dcpt.json"
    assert main(["fit", str(pts), "--law", "dcpt", "--target", "loss:code", "--out", str(out), "--n-starts", "16"]) == 0
    fit = json.loads(out.read_text())
    assert fit["overall"]["r2"] > 0.999 and fit["options"]["corpus"] == "table"  # r is the table's ratio
    assert main(["fit", str(pts), "--law", "dcpt", "--target", "loss:code", "--out", str(out), "--force",
                 "--corpus", "general"]) == 2  # --corpus has no meaning for a table
    assert main(["evaluate", str(out), "--data", str(pts), "--json"]) == 0
    plan = tmp_path / "plan.csv"
    plan.write_text("run,model_size,tokens,ratio\nbig,4e9,3e10,0.5\nbig-domain,4e9,3e10,0.9\n")
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out), "--data", str(plan), "--out", str(pred)]) == 0
    rows = list(csv.DictReader(pred.open()))

    fitted = load_fit(out)
    expected = fitted.value(fitted.theta(), fitted.design_points([4e9, 4e9], [3e10, 3e10], [0.5, 0.9]))
    np.testing.assert_allclose([float(r["predicted"]) for r in rows], expected, rtol=1e-12)
    assert [r["run"] for r in rows] == ["big", "big-domain"]  # the table's labels are kept


def test_bad_points_table_names_row_and_column(tmp_path, capsys):
    pts = tmp_path / "points.csv"
    pts.write_text("model_size,tokens,ratio,loss\n5e8,1e9,0.5,2.1\n5e8,1e9,1.5,2.0\n5e8,,0.5,2.2\n")
    assert main(["fit", str(pts), "--law", "dcpt", "--target", "loss:code", "--out", str(tmp_path / "f.json")]) == 2
    err = capsys.readouterr().err
    assert f"{pts}:3: ratio: must be in [0, 1]" in err and f"{pts}:4: tokens: empty cell" in err


def test_a_convention_flag_the_law_lacks_is_refused(data, tmp_path, cli_error):
    """Each convention flag sets the law option of its name; a law without that option refuses it (it used to be
    ignored)."""
    base = ["fit", str(data), "--target", "loss:general", "--out", str(tmp_path / "x.json")]
    assert "the cpt law has no such option" in cli_error(base + ["--law", "cpt", "--corpus", "general"])
    assert "the mpl law has no such option" in cli_error(base + ["--law", "mpl", "--size"])
    assert "--shift steps: the annealing law has no such option" in cli_error(base + ["--law", "annealing",
                                                                                      "--shift", "steps"])
    assert not (tmp_path / "x.json").exists()


def test_cpt_only_scores_no_row_of_a_pt_only_run(fitted, data, capsys):
    """--cpt-only scores the CPT rows of each run: a PT-only run (pt) has none, so it is not scored."""
    assert main(["evaluate", str(fitted), "--data", str(data), "--runs", "pt,c3", "--cpt-only", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["runs"]) == ["c3"]
