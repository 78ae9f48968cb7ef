"""Bad input, by class: every case exits with status 2 (130 for Ctrl-C), a message naming what is wrong, no
traceback, and nothing written or silently accepted."""

import json

import numpy as np

import pytest

from cptlaw.cli import main
from cptlaw.data import write_runs
from cptlaw.datasets.synthetic import simulate_cpt_runs
from cptlaw.errors import SpecError
from cptlaw.schedules import from_spec
from cptlaw.schedules.spec import load_spec_file

SPECS = [("pt", "constant", 3000, "constant", 0), ("c1", "constant", 2000, "cosine", 1000),
         ("c2", "wsd", 2000, "constant", 1000)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    runs = simulate_cpt_runs(SPECS, target="general", noise=5e-4, n_eval=40, seed=1)
    return write_runs(runs, tmp_path_factory.mktemp("bad") / "runs.csv")


@pytest.fixture(scope="module")
def fitted(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "fit.json"
    assert main(["fit", str(data), "--law", "cpt", "--target", "general", "--n-starts", "8", "--out", str(out)]) == 0
    return out


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize("option,value", [("--lam", "1.5"), ("--lam", "nan"), ("--lam", "-0.1"), ("--delta", "0"),
                                          ("--delta", "-1"), ("--delta", "inf"), ("--warmup-steps", "-10"),
                                          ("--n-starts", "0"), ("--seed", "-1"), ("--bootstrap", "-3"),
                                          ("--n-unit", "0"), ("--lam", "abc")])
def test_fit_option_ranges(data, tmp_path, capsys, option, value):
    out = tmp_path / "f.json"
    code, _, err = run(["fit", str(data), "--law", "cpt", "--target", "general", "--out", str(out), option, value],
                       capsys)
    assert code == 2 and option in err and not out.exists()


@pytest.mark.parametrize("option,value", [("--every", "0"), ("--interval", "1.5"), ("--interval", "0"),
                                          ("--steps", "0"), ("--steps", "1e12")])
def test_predict_option_ranges(fitted, data, tmp_path, capsys, option, value):
    code, _, err = run(["predict", str(fitted), "--data", str(data), "--out", str(tmp_path / "p.csv"), option, value],
                       capsys)
    assert code == 2 and option in err


def test_bootstrap_of_one_is_refused(data, tmp_path, capsys):
    code, _, err = run(["fit", str(data), "--law", "cpt", "--target", "general", "--bootstrap", "1",
                        "--out", str(tmp_path / "f.json")], capsys)
    assert code == 2 and "at least 2" in err


def test_fit_out_dash_is_pure_json(data, capsys):
    code, out, err = run(["fit", str(data), "--law", "annealing", "--target", "general", "--n-starts", "4",
                          "--out", "-"], capsys)
    assert code == 0 and json.loads(out)["law"] == "annealing" and "annealing law on" in err


def test_evaluate_json_is_strict(fitted, data, tmp_path, capsys):
    """A run with a single held-out point has no R² (NaN): the JSON carries null, never NaN."""
    one = simulate_cpt_runs([("one", "constant", 3000, "constant", 0)], target="general", n_eval=2)
    path = write_runs(one, tmp_path / "one.csv")
    code, out, _ = run(["evaluate", str(fitted), "--data", str(path), "--json"], capsys)
    assert code == 0 and "NaN" not in out and json.loads(out)["runs"]["one"]["r2"] is None


def test_evaluate_names_runs_without_the_target(fitted, tmp_path, capsys):
    runs = simulate_cpt_runs(SPECS[:2], target="domain", n_eval=20)
    path = write_runs(runs, tmp_path / "dom.csv")
    code, _, err = run(["evaluate", str(fitted), "--data", str(path), "--runs", "pt,c1"], capsys)
    assert code == 2 and "loss:general" in err and "loss:domain" in err


@pytest.mark.parametrize("mutate,message", [
    (lambda f: f["params"].update(L0=float("nan")) or f["parameters"]["L0"].update(value=float("nan")), "not finite"),
    (lambda f: f["params"].update(A=-1.0) or f["parameters"]["A"].update(value=-1.0), "outside its bounds"),
    (lambda f: f["params"].update(A=9.0), "'params' says"),
    (lambda f: f["params"].pop("beta") and f["parameters"].pop("beta"), "not those of the cpt law"),
])
def test_corrupt_fit_files_are_refused(fitted, data, tmp_path, capsys, mutate, message):
    fit = json.loads(fitted.read_text())
    mutate(fit)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(fit))  # json writes NaN as a bare token, which json.loads reads back
    code, _, err = run(["predict", str(bad), "--data", str(data), "--out", str(tmp_path / "p.csv")], capsys)
    assert code == 2 and message in err and not (tmp_path / "p.csv").exists()


def test_ctrl_c_exits_130_without_traceback(data, tmp_path, capsys, monkeypatch):
    import cptlaw.fit.robust as robust

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(robust, "multistart", interrupted)
    out = tmp_path / "f.json"
    code, _, err = run(["fit", str(data), "--law", "cpt", "--target", "general", "--out", str(out)], capsys)
    assert code == 130 and "interrupted" in err and not out.exists() and not list(tmp_path.iterdir())


# ---- schedule specs: a typed schema ---------------------------------------------------------------------

def test_lr_written_as_yaml_1_1_string_is_coerced(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("kind: cosine\npeak: 2e-4\nsteps: 1e4\n")  # PyYAML reads both as strings
    sched = from_spec(load_spec_file(path))
    assert sched.peak == 2e-4 and sched.steps == 10000 and isinstance(sched.steps, int)


@pytest.mark.parametrize("spec,message", [
    ({"kind": "cosine", "peak": 2e-4, "steps": -5}, "steps"),
    ({"kind": "cosine", "peak": -2e-4, "steps": 5}, "peak"),
    ({"kind": "cosine", "peak": True, "steps": 5}, "boolean"),
    ({"kind": "cosine", "peak": "fast", "steps": 5}, "expected a number"),
    ({"kind": "cosine", "peak": float("nan"), "steps": 5}, "peak"),
    ({"kind": "continual", "pt": {"kind": "constant", "lr": 1e-3}, "cpt": {"kind": "constant", "lr": 1e-3},
      "transfer": 100.5}, "whole number"),
    ({"kind": "constant", "lr": 1e-3, "steps": 10}, "unknown key 'steps'"),
    ({"kind": "multistep", "peak": 1e-3, "milestones": 5, "factors": [0.1]}, "expected a list"),
    ({"kind": "linear", "start": 1e-3, "end": 0, "steps": 10 ** 12}, "steps"),
    ({"kind": "wsd", "peak": 1e-3, "steps": 100, "decay_steps": 10, "shape": 3}, "shape"),
])
def test_bad_spec_values_are_named(spec, message):
    with pytest.raises(SpecError, match=message):
        from_spec(spec)


def test_duplicate_yaml_keys_are_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("kind: cosine\npeak: 2.0e-4\nsteps: 100\npeak: 3.0e-4\n")
    with pytest.raises(SpecError, match="duplicate key 'peak'"):
        load_spec_file(path)


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="nested too deeply"):
        load_spec_file(path)
    spec = {"kind": "constant", "lr": 1e-3}
    for _ in range(40):
        spec = {"kind": "warmup", "steps": 1, "schedule": spec}
    with pytest.raises(SpecError, match="nested deeper"):
        from_spec(spec)


def test_bad_schedule_file_through_the_cli(fitted, tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("kind: cosine\npeak: 2e-4\nsteps: 100\nsteps: 200\n")
    code, _, err = run(["predict", str(fitted), "--schedule", str(plan), "--steps", "3000", "--out",
                        str(tmp_path / "p.csv")], capsys)
    assert code == 2 and "duplicate key 'steps'" in err


# ---- data files ----------------------------------------------------------------------------------------

from cptlaw.data import read_runs  # noqa: E402
from cptlaw.errors import DataError  # noqa: E402

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


def test_jsonl_duplicate_key_and_cli_exit(tmp_path, capsys):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"run": "a", "step": 0, "lr": 0.001, "loss:general": 3.0, "loss:general": 2.0}\n')
    code, _, err = run(["fit", str(path), "--law", "cpt", "--target", "general", "--out", str(tmp_path / "f.json")],
                       capsys)
    assert code == 2 and f"{path}:1: key 'loss:general' given twice" in err


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


def test_unknown_target_lists_the_loss_columns(data, tmp_path, capsys):
    code, _, err = run(["fit", str(data), "--law", "cpt", "--target", "loss:nothere", "--out", str(tmp_path / "f.json")],
                       capsys)
    assert code == 2 and "'loss:nothere'" in err and "loss columns present: loss:general" in err
