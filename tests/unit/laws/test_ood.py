"""Out-of-domain sets: Eq. 6 (``cptlaw fit --law ood``), its saved fit, the planner's OOD objective, bad input."""

import json

import numpy as np
import pytest

from cptlaw.cli import main
from cptlaw.data import write_runs
from cptlaw.datasets import load
from cptlaw.datasets.synthetic import CPT_FIG3, simulate_cpt_runs
from cptlaw.errors import CptlawError
from cptlaw.fit import FitResult
from cptlaw.laws import CPTLaw
from cptlaw.laws.ood import fit_ood

C4 = (0.867, 0.152)  # the paper's Fig. 9: C4 = 0.867 * L_Dpt + 0.152 * L_Dcpt (FineWeb -> Knowledge Pile)


def test_recovers_published_coefficients_and_saves_a_fit_that_predicts_alone(tmp_path):
    runs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000),
                              ("c", "constant", 4000, "constant", 0)], target="general", n_eval=40)
    g, d = CPTLaw(), CPTLaw()
    g.params_, d.params_ = dict(CPT_FIG3["general"]), dict(CPT_FIG3["domain"])
    fits = []
    for law, target in ((g, "loss:general"), (d, "loss:domain")):
        for r in runs:
            idx, _ = r.observed("general")
            r.losses[target] = (idx, law.predict(r, r.steps[idx]))
        fits.append(law.fit(runs, target, n_starts=8).result_)
    rng = np.random.default_rng(0)
    for r in runs:
        idx, _ = r.observed("general")
        y = C4[0] * r.losses["loss:general"][1] + C4[1] * r.losses["loss:domain"][1]
        r.losses["loss:c4"] = (idx, y * np.exp(rng.normal(0, 1e-4, idx.size)))
    ood = fit_ood(fits[0], fits[1], runs, "loss:c4")
    assert ood.params["l1"] == pytest.approx(C4[0], abs=0.01) and ood.params["l2"] == pytest.approx(C4[1], abs=0.01)
    spread = ood.diagnostics["coefficient_spread"]
    assert spread["l1"]["std"] < 0.02 and set(ood.diagnostics["per_run_coefficients"]) == {"a", "b", "c"}
    ood.save(tmp_path / "ood.json")
    again = FitResult.load(tmp_path / "ood.json").law()
    run = runs["a"]
    want = C4[0] * fits[0].law().predict(run) + C4[1] * fits[1].law().predict(run)
    np.testing.assert_allclose(again.predict(run), want, rtol=0.01)


def test_cli_fit_predict_plan_and_bad_input(tmp_path, capsys, cli_error):
    runs = load("pilot-gpu-german")
    names = ["s_pt_const", "s_pt_wsd", "s_german_const600_constant_r25", "s_german_const600_cosine_r25",
             "s_german_const300_cosine_r25"]
    write_runs(runs.select(names + ["s_german_const600_wsd_r25"]), tmp_path / "d.csv")
    data = str(tmp_path / "d.csv")
    sel = ",".join(names)
    for target, out in (("loss:general", "g.json"), ("loss:german", "d.json")):
        assert main(["fit", data, "--law", "cpt", "--target", target, "--runs", sel, "--n-starts", "16",
                     "--out", str(tmp_path / out)]) == 0
    frm = f"{tmp_path / 'g.json'},{tmp_path / 'd.json'}"
    assert main(["fit", data, "--law", "ood", "--target", "loss:bio", "--from", frm, "--runs", sel,
                 "--out", str(tmp_path / "bio.json")]) == 0
    out = capsys.readouterr().out
    assert "fitted run by run (stability): l1" in out and "sum of squared errors" in out
    doc = json.loads((tmp_path / "bio.json").read_text())
    assert doc["law"] == "ood" and doc["options"]["general"]["target"] == "loss:general"
    assert main(["predict", str(tmp_path / "bio.json"), "--data", data, "--runs", "s_german_const600_wsd_r25",
                 "--out", str(tmp_path / "p.csv")]) == 0
    (tmp_path / "space.yaml").write_text(
        "pt: {schedules: {const: {kind: warmup, steps: 100, schedule: {kind: constant, lr: 2.0e-3}}}, transfer: [600]}\n"
        "cpt: {family: [constant, cosine], peak_lr: [1.0e-3, 2.0e-3], steps: [1000]}\n")
    assert main(["plan", str(tmp_path / "space.yaml"), "--general", str(tmp_path / "g.json"), "--domain",
                 str(tmp_path / "d.json"), "--ood", str(tmp_path / "bio.json"), "--out", str(tmp_path / "plan")]) == 0
    assert json.loads((tmp_path / "plan" / "plan.json").read_text())["space"]["ood"]["general"] == doc["params"]["l1"]
    capsys.readouterr()

    base = ["fit", data, "--law", "ood", "--runs", sel, "--out", str(tmp_path / "x.json")]
    assert "needs --from" in cli_error(base + ["--target", "loss:bio"])
    assert "a fit of loss:general itself" in cli_error(base + ["--target", "loss:general", "--from", frm])
    assert "no observations of 'loss:math'" in cli_error(base + ["--target", "loss:math", "--from", frm])
    assert "not an OOD fit" in cli_error(["plan", str(tmp_path / "space.yaml"), "--general", str(tmp_path / "g.json"),
                                      "--domain", str(tmp_path / "d.json"), "--ood", str(tmp_path / "g.json"),
                                      "--out", str(tmp_path / "plan2")])
    assert "--from applies to --law ood only" in cli_error(["fit", data, "--law", "cpt", "--target", "loss:bio",
                                                        "--from", frm, "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(CptlawError, match="both of loss:general"):
        g = FitResult.load(tmp_path / "g.json")
        fit_ood(g, g, runs.select(names), "loss:bio")
