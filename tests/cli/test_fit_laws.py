"""``cptlaw fit`` of the laws beyond Eq. 4: --law ood (and its saved fit in predict and plan), --law dcpt-cross,
--pt unknown with --drop-pt; and their bad input (exit status 2, no traceback, nothing written)."""

import json

import pytest

from cptlaw.cli import main
from cptlaw.data import write_runs
from cptlaw.datasets import load
from cptlaw.errors import CptlawError
from cptlaw.laws.ood import OODLaw
from cptlaw.laws import load as load_fit
from tests.helpers import GERMAN_FIT, GERMAN_HELD


def test_cli_fit_predict_plan_and_bad_input(german_fits, tmp_path, capsys, cli_error):
    """From the session's CPT fits of loss:general and loss:german (german_fits: 16 starts, GERMAN_FIT runs)."""
    runs = load("pilot-gpu-german")
    names = GERMAN_FIT
    data = str(german_fits["data"])
    sel = ",".join(names)
    g_json, d_json = german_fits["general"], german_fits["domain"]
    frm = f"{g_json},{d_json}"
    assert main(["fit", data, "--law", "ood", "--target", "loss:bio", "--from", frm, "--runs", sel,
                 "--out", str(tmp_path / "bio.json")]) == 0
    out = capsys.readouterr().out
    assert "fitted run by run (stability): l1" in out and "sum of squared errors" in out
    doc = json.loads((tmp_path / "bio.json").read_text())
    assert doc["law"] == "ood" and doc["options"]["general"]["target"] == "loss:general"
    assert main(["predict", str(tmp_path / "bio.json"), "--data", data, "--runs", GERMAN_HELD,
                 "--out", str(tmp_path / "p.csv")]) == 0
    (tmp_path / "space.yaml").write_text(
        "pt: {schedules: {const: {kind: warmup, steps: 100, schedule: {kind: constant, lr: 2.0e-3}}}, transfer: [600]}\n"
        "cpt: {family: [constant, cosine], peak_lr: [1.0e-3, 2.0e-3], steps: [1000]}\n")
    assert main(["plan", str(tmp_path / "space.yaml"), "--general", str(g_json), "--domain",
                 str(d_json), "--ood", str(tmp_path / "bio.json"), "--out", str(tmp_path / "plan")]) == 0
    assert json.loads((tmp_path / "plan" / "plan.json").read_text())["space"]["ood"]["general"] == doc["params"]["l1"]
    capsys.readouterr()

    base = ["fit", data, "--law", "ood", "--runs", sel, "--out", str(tmp_path / "x.json")]
    assert "needs --from" in cli_error(base + ["--target", "loss:bio"])
    assert "a fit of loss:general itself" in cli_error(base + ["--target", "loss:general", "--from", frm])
    assert "no observations of 'loss:math'" in cli_error(base + ["--target", "loss:math", "--from", frm])
    assert "not an OOD fit" in cli_error(["plan", str(tmp_path / "space.yaml"), "--general", str(g_json),
                                      "--domain", str(d_json), "--ood", str(g_json),
                                      "--out", str(tmp_path / "plan2")])
    assert "--from applies to --law ood only" in cli_error(["fit", data, "--law", "cpt", "--target", "loss:bio",
                                                        "--from", frm, "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(CptlawError, match="both of loss:general"):
        g = load_fit(g_json).result_
        OODLaw(general=g, domain=g).fit(runs.select(names), "loss:bio")


def test_cli_fit_and_bad_input(cosine_runs, tmp_path, capsys, cli_error):
    write_runs(cosine_runs, tmp_path / "d.csv")
    data = str(tmp_path / "d.csv")
    assert main(["fit", data, "--law", "dcpt-cross", "--target", "domain", "--n-starts", "16",
                 "--out", str(tmp_path / "f.json")]) == 0
    out = capsys.readouterr().out
    assert "K of loss:german: k1 = " in out
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["law"] == "dcpt-cross" and doc["options"]["probe_steps"] == 50 and len(doc["options"]["k"]) == 4

    base = ["fit", data, "--law", "dcpt-cross", "--out", str(tmp_path / "x.json")]
    assert "give --target domain" in cli_error(base + ["--target", "loss:code"])
    assert "no run at replay 0.6" in cli_error(base + ["--target", "domain", "--probe-replay", "0.6"])
    one = "s_code_const600_cosine_r25,s_legal_const600_cosine_r25"
    assert "too few CPT points" in cli_error(base + ["--target", "domain", "--runs", one])
    assert "cover only loss:code" in cli_error(base + ["--target", "domain", "--runs",
                                                    "s_code_const600_cosine_r25,s_code_const600_cosine_r50"])
    assert "Python API" in cli_error(["predict", str(tmp_path / "f.json"), "--data", data, "--out", str(tmp_path / "p.csv")])
    assert not (tmp_path / "x.json").exists()


def test_cli_pt_unknown_with_drop_pt(tmp_path, capsys):
    runs = load("pilot-gpu-german").select(["s_pt_const", "s_german_const600_cosine_r25", "s_german_const300_cosine_r25"])
    write_runs(runs, tmp_path / "runs.csv")
    out = tmp_path / "fit.json"
    base = ["fit", str(tmp_path / "runs.csv"), "--law", "cpt", "--target", "loss:german", "--pt", "unknown",
            "--n-starts", "4", "--out", str(out)]
    assert main(base) == 2
    assert "takes CPT-only runs" in capsys.readouterr().err
    assert main(base + ["--drop-pt"]) == 0
    doc = json.loads(out.read_text())
    assert doc["options"]["pt"] == "unknown" and sorted(doc["runs"]) == ["s_german_const300_cosine_r25",
                                                                      "s_german_const600_cosine_r25"]
    assert main(["fit", str(tmp_path / "runs.csv"), "--law", "annealing", "--target", "loss:german", "--pt", "unknown",
                 "--out", str(tmp_path / "b.json")]) == 2
    assert "--pt" in capsys.readouterr().err
