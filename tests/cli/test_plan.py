"""`cptlaw plan` end to end on the bundled pilot-gpu-german fits: the files, their consistency with
`cptlaw predict`, the pilot configs, --force, and bad input (exit status 2, no traceback)."""

import csv
import json

import numpy as np
import pytest
import yaml

from cptlaw.cli import main

SPACE = {
    "pt": {"schedules": {"const": {"kind": "warmup", "steps": 100, "schedule": {"kind": "constant", "lr": 2e-3}},
                         "wsd": {"kind": "warmup", "steps": 100, "schedule": {"kind": "wsd", "peak": 2e-3, "steps": 1100,
                                                                              "decay_steps": 240, "floor": 2e-4}}},
           "transfer": [300, 600, 1200]},
    "cpt": {"family": ["constant", "cosine", "wsd"], "peak_lr": [1e-3, 2e-3, 3e-3],  # the fits saw 2e-3 (guarded)
            "rewarmup_steps": [0, 100], "floor": 0.1, "steps": [500, 1000]},
    "objective": {"lambda1": [0.2, 0.8]},
    "constraints": {"tokens_per_step": 10240},
    "pilot": {"init_from": {"const": "s_pt_const", "wsd": "s_pt_wsd"}, "domain": "german", "replay_ratio": 0.25,
              "batch_size": 40},
}


@pytest.fixture
def fits(german_fits):
    """The session's CPT fits of loss:general and loss:german on the GERMAN_FIT runs (tests/cli/conftest.py)."""
    return german_fits


def write_space(path, space=SPACE):
    path.write_text(yaml.safe_dump(space))
    return path


def run_plan(space, fits, out, *extra):
    return main(["plan", str(space), "--general", str(fits["general"]), "--domain", str(fits["domain"]),
                 "--out", str(out), *extra])


def test_plan_writes_every_output_and_they_agree_with_predict(fits, tmp_path):
    space = write_space(tmp_path / "space.yaml")
    out = tmp_path / "plan"
    assert run_plan(space, fits, out) == 0
    names = {p.name for p in out.iterdir()}
    for rec in ("recommended_lambda1-0.2", "recommended_lambda1-0.8"):
        assert {f"{rec}.yaml", f"{rec}.pilot.yaml"} <= names
    assert {"plan.json", "top.csv", "pareto.csv", "pareto.png", "curves.png", "optima.png"} <= names
    doc = json.loads((out / "plan.json").read_text())
    assert doc["n_candidates"] == 2 * 3 * 3 * 3 * 2 * 2  # PT x transfer x family x peak x re-warmup x steps
    assert [r["objective"] for r in doc["recommendations"]] == ["lambda1=0.2", "lambda1=0.8"]
    top = list(csv.DictReader((out / "top.csv").open()))
    assert top[0]["rank"] == "1" and len(top) == 20
    for rec in doc["recommendations"]:
        p = rec["plan"]
        # the recommended schedule file, read by `cptlaw predict --schedule`, predicts the same final losses
        pred = tmp_path / "pred.csv"
        assert main(["predict", str(fits["general"]), "--schedule", str(out / f"recommended_{rec['objective'].replace('=', '-')}.yaml"),
                     "--steps", str(p["transfer"] + p["steps"]), "--out", str(pred), "--force"]) == 0
        last = list(csv.DictReader(pred.open()))[-1]
        assert int(last["step"]) == p["transfer"] + p["steps"] - 1
        assert float(last["predicted"]) == pytest.approx(p["general"], rel=1e-9)
        assert rec["dynamics"]["pattern"] in ("none", "rises", "rises_then_falls_above", "rises_then_falls_below")
        assert rec["plan"]["tokens"] == p["steps"] * 10240
    # the optimum moves toward the general loss as lambda1 rises
    g = [r["plan"]["general"] for r in doc["recommendations"]]
    d = [r["plan"]["domain"] for r in doc["recommendations"]]
    assert g[1] <= g[0] and d[1] >= d[0]


def test_pilot_config_is_a_valid_run_config_with_the_plans_lrs(fits, tmp_path):
    pytest.importorskip("torch")
    from cptlaw.pilot.train import RunConfig
    from cptlaw.schedules import from_spec

    out = tmp_path / "plan"
    assert run_plan(write_space(tmp_path / "space.yaml"), fits, out) == 0
    for rec in json.loads((out / "plan.json").read_text())["recommendations"]:
        stem = f"recommended_{rec['objective'].replace('=', '-')}"
        cfg = RunConfig.load(out / f"{stem}.pilot.yaml")
        whole = from_spec(yaml.safe_load((out / f"{stem}.yaml").read_text())["schedule"])
        steps = np.arange(cfg.first_step, cfg.last_step)
        assert np.array_equal([cfg.lr_at(int(s)) for s in steps], whole(steps))
        assert cfg.cpt.init_from == {"const": "s_pt_const", "wsd": "s_pt_wsd"}[rec["plan"]["pt"]]
        assert cfg.batch_size == 40 and cfg.cpt.replay_ratio == 0.25


def test_plan_never_overwrites_without_force(fits, tmp_path):
    space = write_space(tmp_path / "space.yaml")
    out = tmp_path / "plan"
    assert run_plan(space, fits, out) == 0
    before = (out / "plan.json").read_bytes()
    (out / "top.csv").write_text("mine")
    assert run_plan(space, fits, out) == 2
    assert (out / "top.csv").read_text() == "mine" and (out / "plan.json").read_bytes() == before
    assert run_plan(space, fits, out, "--force") == 0
    assert (out / "top.csv").read_text() != "mine"


BAD = [
    ({"cpt": {**SPACE["cpt"], "warmup": 3}}, "warmup"),
    ({"cpt": {**SPACE["cpt"], "steps": []}}, "cpt.steps: the list is empty"),
    ({"cpt": {**SPACE["cpt"], "family": "free-form"}}, "parametric schedule families only"),
    ({"cpt": {**SPACE["cpt"], "schedule": {"kind": "array", "values": [1e-3]}}}, "parametric schedule families only"),
    ({"cpt": {**SPACE["cpt"], "rewarmup_steps": 600}}, "cpt.rewarmup_steps"),
    ({"cpt": {**SPACE["cpt"], "peak_lr": {"min": 3e-3, "max": 1e-3, "num": 3}}}, "cpt.peak_lr"),
    ({"pt": {**SPACE["pt"], "transfer": [300, 5000], "steps": 1200}}, "pt.transfer"),
    ({"objective": {"lambda1": 1.5}}, "objective.lambda1"),
    ({"objective": {"ood": {"general": 0.8}}}, "ood"),
    ({"constraints": {"max_cpt_tokens": 1e7}}, "tokens_per_step"),
    ({"pilot": {"init_from": {"const": "a"}, "domain": "german", "replay_ratio": 0.25}}, "pilot.init_from"),
]


@pytest.mark.parametrize("change,message", BAD)
def test_bad_plan_space_exits_2_naming_the_key(fits, tmp_path, run_cli, change, message):
    """In-process (``run_cli``; tests/cli/test_commands.py runs the console script itself once)."""
    space = write_space(tmp_path / "space.yaml", {**SPACE, **change})
    code, _, err = run_cli(["plan", str(space), "--general", str(fits["general"]), "--domain", str(fits["domain"]),
                            "--out", str(tmp_path / "o")])
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_plan_refuses_fits_it_cannot_use(fits, tmp_path):
    space = write_space(tmp_path / "space.yaml")
    other = json.loads(fits["domain"].read_text())
    other["options"]["lam"] = 0.99
    mismatched = tmp_path / "lam.json"
    mismatched.write_text(json.dumps(other))
    assert main(["plan", str(space), "--general", str(fits["general"]), "--domain", str(mismatched),
                 "--out", str(tmp_path / "o")]) == 2
    assert main(["plan", str(space), "--general", str(fits["general"]), "--domain", str(tmp_path / "none.json"),
                 "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_the_cpt_peak_lr_stays_among_the_peaks_the_fits_saw(fits, tmp_path, capsys):
    """docs/accuracy-peak-lr.md: a fit does not transfer across peak LRs, so by default no plan leaves the fits'
    CPT peaks (here 2e-3 only); allow_extrapolation: [peak_lr] lifts that."""
    space = {**SPACE, "cpt": {**SPACE["cpt"], "peak_lr": [1e-3, 3e-3]}}
    assert run_plan(write_space(tmp_path / "a.yaml", space), fits, tmp_path / "a") == 0
    out = capsys.readouterr().out
    assert "no candidate meets the constraints" in out and "fits saw CPT peak LRs in [0.002, 0.002]" in out
    allowed = {**space, "constraints": {**space["constraints"], "allow_extrapolation": ["peak_lr"]}}
    assert run_plan(write_space(tmp_path / "b.yaml", allowed), fits, tmp_path / "b") == 0
    doc = json.loads((tmp_path / "b" / "plan.json").read_text())
    assert all(rec["feasible"] and rec["plan"]["peak_lr"] in (1e-3, 3e-3) for rec in doc["recommendations"])
