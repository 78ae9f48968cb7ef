"""cptlaw pilots: the pilot kinds read from LR schedules, coverage of a set of runs, and a runnable sweep file."""

import pytest
import yaml

from cptlaw.datasets import load
from cptlaw.datasets.splits import gpu_german_split
from cptlaw.errors import CptlawError
from cptlaw.pilots import KINDS, coverage, kinds_of, sweep


@pytest.fixture(scope="module")
def german():
    return load("pilot-gpu-german")


def test_kinds_are_read_from_the_schedules(german):
    assert kinds_of(german["m_pt_const"]) == {"pt_constant"}
    assert kinds_of(german["m_pt_wsd"]) == {"pt_annealed"}
    assert kinds_of(german["m_german_const600_constant_r25"]) == {"cpt_constant"}
    assert kinds_of(german["m_german_const600_cosine_r25"]) == {"cpt_decaying"}
    assert kinds_of(german["m_german_const600_rewarm_cosine_r25"]) == {"rewarmup", "cpt_decaying"}
    assert kinds_of(german["m_german_wsd1200_rewarm_low_r25"]) == {"from_annealed", "rewarmup", "cpt_decaying"}


def test_the_five_pilots_are_the_starting_set_and_miss_the_two_that_tell_forms_apart(german):
    cover = coverage(german, list(gpu_german_split("m").fit))
    starting = {k.key for k in KINDS if k.starting}
    assert {k for k, v in cover.items() if v} == starting
    assert cover["second_transfer"] == ["m_german_const300_cosine_r25"]
    full = coverage(german, [n for n in german.names if n.startswith("m_")])
    assert all(full.values())


def test_sweep_file_trains_each_kind(tmp_path, run_cli):
    pytest.importorskip("torch", reason="the pilot trainer's sweep reader needs the pilot extra")
    from cptlaw.pilot.sweep import SweepConfig, expand

    out = tmp_path / "p.yaml"
    code, _, _ = run_cli(["pilots", "--pt-steps", "1200", "--cpt-steps", "1000", "--peak-lr", "2e-3",
                          "--domain", "german", "--out", str(out)])
    assert code == 0
    pt, cpt = expand(SweepConfig.model_validate(yaml.safe_load(out.read_text())))
    assert sorted(r["name"] for r in pt) == ["s_pt_const", "s_pt_wsd"]
    assert sorted(r["name"] for r in cpt) == ["s_german_const300_cosine_r25", "s_german_const600_constant_r25",
                                              "s_german_const600_cosine_r25", "s_german_const600_rewarm_cosine_r25",
                                              "s_german_wsd1200_rewarm_cosine_r25"]


def test_missing_only_trains_what_the_runs_lack(german, tmp_path, run_cli, cli_error):
    from cptlaw.data import write_runs

    data = write_runs(german.select(list(gpu_german_split("m").fit)), tmp_path / "d.csv")
    out = tmp_path / "p.yaml"
    code, stdout, _ = run_cli(["pilots", "--data", str(data), "--pt-steps", "1200", "--cpt-steps", "1000",
                               "--peak-lr", "2e-3", "--domain", "german", "--missing-only", "--out", str(out)])
    assert code == 0 and stdout.count("MISSING") == 2
    grids = yaml.safe_load(out.read_text())["cpt"]["grids"]
    assert grids == [{"pt": ["const"], "transfer": [600], "schedule": ["rewarm_cosine"], "replay": [0.25]},
                     {"pt": ["wsd"], "transfer": [1200], "schedule": ["rewarm_cosine"], "replay": [0.25]}]
    assert "needs --pt-steps" in cli_error(["pilots", "--out", str(tmp_path / "q.yaml")])
    assert "exists" in cli_error(["pilots", "--pt-steps", "1200", "--cpt-steps", "1000", "--peak-lr", "2e-3",
                                  "--domain", "german", "--out", str(out)])
    assert "must end before the earlier transfer" in cli_error(
        ["pilots", "--pt-steps", "100", "--cpt-steps", "100", "--peak-lr", "1e-3", "--warmup", "100", "--domain", "x",
         "--out", str(tmp_path / "w.yaml")])
    assert "needs --data" in cli_error(["pilots", "--missing-only", "--out", str(tmp_path / "m.yaml")])
    with pytest.raises(CptlawError, match="unknown kind"):
        sweep(pt_steps=100, cpt_steps=100, peak_lr=1e-3, domain="x", kinds=["bogus"])
