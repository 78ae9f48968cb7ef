"""A mixture law against the baseline it must beat: linear interpolation in the ratio between the fitted runs
(``cptlaw evaluate`` on a D-CPT fit, issue 21).  The law wins where the data follow it; where they carry
step-to-step noise common to every run, interpolation carries it along, the law cannot, and cptlaw says so."""

import json

import numpy as np

from cptlaw.laws import DCPTLaw

TRUE = {"E": 1.5, "A": 0.0, "alpha": 0.3, "B": 0.8, "beta": 0.3, "eta": 0.5, "C": 0.4, "gamma": 1.5, "epsilon": 0.1}
RATIOS = (0.2, 0.4, 0.6, 0.8)


def table(path, loss_of):
    D = np.geomspace(1e9, 2e10, 12)
    lines = ["run,model_size,tokens,ratio,loss"]
    for r in RATIOS:
        for i, d in enumerate(D):
            lines.append(f"r{int(100 * r)},1e8,{d:.6g},{r},{loss_of(r, d, i):.9g}")
    path.write_text("\n".join(lines) + "\n")
    return path


def law_value(r, d, i):
    law = DCPTLaw(corpus="domain")
    return float(law.value(np.array(list(TRUE.values())), law.design_points(1e8, d, r))[0])


def fit_and_evaluate(tmp_path, run_cli, loss_of):
    data = table(tmp_path / "points.csv", loss_of)
    fit = tmp_path / "fit.json"
    code, _, _ = run_cli(["fit", str(data), "--law", "dcpt", "--target", "loss:domain", "--runs", "r20,r60,r80",
                          "--n-starts", "16", "--out", str(fit)])
    assert code == 0 and json.loads(fit.read_text())["runs"] == ["r20", "r60", "r80"]  # --runs picks the table's runs
    code, _, err = run_cli(["fit", str(data), "--law", "dcpt", "--target", "loss:domain", "--runs", "r20,r99",
                            "--out", str(tmp_path / "other.json")])
    assert code == 2 and "no points of run(s) r99" in err
    code, out, _ = run_cli(["evaluate", str(fit), "--data", str(data), "--runs", "r40"])
    assert code == 0
    _, js, _ = run_cli(["evaluate", str(fit), "--data", str(data), "--runs", "r40", "--json"])
    return out, json.loads(js)["interpolation"]


def test_the_law_beats_interpolation_where_the_data_follow_it(tmp_path, run_cli):
    out, base = fit_and_evaluate(tmp_path, run_cli, law_value)
    assert base["n"] == 12 and not base["law_loses"]
    assert base["law"]["pred_e"] < 0.2 * base["interpolation"]["pred_e"]  # the ratio curve is not linear
    assert "baseline on the 12 held-out point(s)" in out and "warning" not in out


def test_cptlaw_says_so_when_interpolation_wins(tmp_path, run_cli):
    # a loss linear in the ratio, with noise common to every run at a step (the same validation batches): 1% up
    # and down with the step
    out, base = fit_and_evaluate(tmp_path, run_cli,
                                 lambda r, d, i: (2.0 - 0.3 * r + 0.5 * (d / 1e9) ** -0.3) * (1 + 0.01 * (-1) ** i))
    assert base["law_loses"] and base["interpolation"]["pred_e"] < base["law"]["pred_e"]
    assert "warning: the law predicts these held-out ratios worse than interpolating" in out


def test_runs_held_out_alone_still_get_the_baseline_from_the_fitted_runs(tmp_path, run_cli):
    """``evaluate --runs HELD`` on native runs: the fitted runs are read from the same data for the baseline."""
    from cptlaw.data import write_runs
    from cptlaw.datasets import load

    runs = load("pilot-gpu-domains")
    data = write_runs(runs.select([n for n in runs.names if n.startswith("s_code_const600_cosine")]),
                      tmp_path / "code.csv")
    fit = tmp_path / "fit.json"
    code, _, _ = run_cli(["fit", str(data), "--law", "dcpt", "--target", "loss:code", "--n-starts", "4", "--runs",
                          "s_code_const600_cosine_r10,s_code_const600_cosine_r25,s_code_const600_cosine_r75",
                          "--out", str(fit)])
    assert code == 0
    _, js, _ = run_cli(["evaluate", str(fit), "--data", str(data), "--runs", "s_code_const600_cosine_r50", "--json"])
    base = json.loads(js)["interpolation"]
    assert base["n"] == json.loads(js)["runs"]["s_code_const600_cosine_r50"]["n"] > 0
