"""Bad input, by class: every case exits with status 2 (130 for Ctrl-C), a message naming what is wrong, no
traceback, and nothing written or silently accepted."""

import json

import pytest

from cptlaw.data import write_runs
from cptlaw.datasets.synthetic import simulate_cpt_runs

# the fixtures data and fitted: tests/cli/conftest.py; these runs carry loss:domain only, for evaluate
SPECS = [("pt", "constant", 3000, "constant", 0), ("c1", "constant", 2000, "cosine", 1000),
         ("c2", "wsd", 2000, "constant", 1000)]


@pytest.mark.parametrize("option,value", [("--lam", "1.5"), ("--lam", "nan"), ("--lam", "-0.1"), ("--delta", "0"),
                                          ("--delta", "-1"), ("--delta", "inf"), ("--warmup-steps", "-10"),
                                          ("--n-starts", "0"), ("--seed", "-1"), ("--bootstrap", "-3"),
                                          ("--n-unit", "0"), ("--lam", "abc")])
def test_fit_option_ranges(data, tmp_path, run_cli, option, value):
    out = tmp_path / "f.json"
    code, _, err = run_cli(["fit", str(data), "--law", "cpt", "--target", "general", "--out", str(out), option, value])
    assert code == 2 and option in err and not out.exists()


@pytest.mark.parametrize("option,value", [("--every", "0"), ("--interval", "1.5"), ("--interval", "0"),
                                          ("--steps", "0"), ("--steps", "1e12")])
def test_predict_option_ranges(fitted, data, tmp_path, run_cli, option, value):
    code, _, err = run_cli(["predict", str(fitted), "--data", str(data), "--out", str(tmp_path / "p.csv"), option, value])
    assert code == 2 and option in err


def test_bootstrap_of_one_is_refused(data, tmp_path, run_cli):
    code, _, err = run_cli(["fit", str(data), "--law", "cpt", "--target", "general", "--bootstrap", "1",
                        "--out", str(tmp_path / "f.json")])
    assert code == 2 and "at least 2" in err


def test_fit_out_dash_is_pure_json(data, run_cli):
    code, out, err = run_cli(["fit", str(data), "--law", "annealing", "--target", "general", "--n-starts", "4",
                          "--out", "-"])
    assert code == 0 and json.loads(out)["law"] == "annealing" and "annealing law on" in err


def test_evaluate_json_is_strict(fitted, data, tmp_path, run_cli):
    """A run with a single held-out point has no R² (NaN): the JSON carries null, never NaN."""
    one = simulate_cpt_runs([("one", "constant", 3000, "constant", 0)], target="general", n_eval=2)
    path = write_runs(one, tmp_path / "one.csv")
    code, out, _ = run_cli(["evaluate", str(fitted), "--data", str(path), "--json"])
    assert code == 0 and "NaN" not in out and json.loads(out)["runs"]["one"]["r2"] is None


def test_evaluate_names_runs_without_the_target(fitted, tmp_path, run_cli):
    runs = simulate_cpt_runs(SPECS[:2], target="domain", n_eval=20)
    path = write_runs(runs, tmp_path / "dom.csv")
    code, _, err = run_cli(["evaluate", str(fitted), "--data", str(path), "--runs", "pt,c1"])
    assert code == 2 and "loss:general" in err and "loss:domain" in err


@pytest.mark.parametrize("mutate,message", [
    (lambda f: f["params"].update(L0=float("nan")) or f["parameters"]["L0"].update(value=float("nan")), "not finite"),
    (lambda f: f["params"].update(A=-1.0) or f["parameters"]["A"].update(value=-1.0), "outside its bounds"),
    (lambda f: f["params"].update(A=9.0), "'params' says"),
    (lambda f: f["params"].pop("beta") and f["parameters"].pop("beta"), "not those of the cpt law"),
])
def test_corrupt_fit_files_are_refused(fitted, data, tmp_path, run_cli, mutate, message):
    fit = json.loads(fitted.read_text())
    mutate(fit)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(fit))  # json writes NaN as a bare token, which json.loads reads back
    code, _, err = run_cli(["predict", str(bad), "--data", str(data), "--out", str(tmp_path / "p.csv")])
    assert code == 2 and message in err and not (tmp_path / "p.csv").exists()


def test_ctrl_c_exits_130_without_traceback(data, tmp_path, run_cli, monkeypatch):
    import cptlaw.fit.robust as robust

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(robust, "multistart", interrupted)
    out = tmp_path / "f.json"
    code, _, err = run_cli(["fit", str(data), "--law", "cpt", "--target", "general", "--out", str(out)])
    assert code == 130 and "interrupted" in err and not out.exists() and not list(tmp_path.iterdir())


def test_bad_schedule_file_through_the_cli(fitted, tmp_path, run_cli):
    plan = tmp_path / "plan.yaml"
    plan.write_text("kind: cosine\npeak: 2e-4\nsteps: 100\nsteps: 200\n")
    code, _, err = run_cli(["predict", str(fitted), "--schedule", str(plan), "--steps", "3000", "--out",
                        str(tmp_path / "p.csv")])
    assert code == 2 and "duplicate key 'steps'" in err


def test_jsonl_duplicate_key_and_cli_exit(tmp_path, run_cli):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"run": "a", "step": 0, "lr": 0.001, "loss:general": 3.0, "loss:general": 2.0}\n')
    code, _, err = run_cli(["fit", str(path), "--law", "cpt", "--target", "general", "--out", str(tmp_path / "f.json")])
    assert code == 2 and f"{path}:1: key 'loss:general' given twice" in err


def test_unknown_target_lists_the_loss_columns(data, tmp_path, run_cli):
    code, _, err = run_cli(["fit", str(data), "--law", "cpt", "--target", "loss:nothere", "--out", str(tmp_path / "f.json")])
    assert code == 2 and "'loss:nothere'" in err and "loss columns present: loss:general" in err
