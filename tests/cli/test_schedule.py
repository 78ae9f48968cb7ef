"""`cptlaw schedule`: see a schedule before fitting, and write the spec of an HF Trainer's scheduler."""

import pytest
import yaml

from cptlaw.schedules import from_spec
from cptlaw.schedules.hf import hf_schedule
from tests.helpers import FIXTURES

HF = "lr_scheduler_type=cosine,learning_rate=1e-3,warmup_steps=5,max_steps=40"


def test_hf_arguments_give_the_spec_the_fixtures_was_written_by_hand(tmp_path, run_cli, cli_error):
    """The HF job of tests/fixtures/ingest/hf_run was made with these arguments; its spec was written by hand."""
    out = tmp_path / "spec.yaml"
    code, stdout, err = run_cli(["schedule", "--hf", HF, "--out", str(out)])
    assert code == 0 and "40 steps" in stdout and "step         5: lr 0.001  peak" in stdout
    written = from_spec(yaml.safe_load(out.read_text()))
    by_hand = from_spec(yaml.safe_load((FIXTURES / "ingest" / "hf_run.schedule.yaml").read_text()))
    assert (written.dense(40) == by_hand.dense(40)).all()
    code, stdout, _ = run_cli(["schedule", "--hf", HF])  # no --out: the spec is printed
    assert code == 0 and yaml.safe_load(stdout)["kind"] == "warmup"
    kwargs = ('lr_scheduler_type=cosine_with_min_lr,learning_rate=1e-3,max_steps=40,'
              'lr_scheduler_kwargs={"min_lr_rate": 0.1}')
    code, stdout, err = run_cli(["schedule", "--hf", kwargs])  # the spec alone on stdout, the summary on stderr
    spec = yaml.safe_load(stdout)
    assert code == 0 and "40 steps" in err and spec["floor"] == pytest.approx(1e-4)  # (no warmup: a bare cosine)
    assert from_spec(spec).dense(40)[-1] == pytest.approx(hf_schedule({
        "lr_scheduler_type": "cosine_with_min_lr", "learning_rate": 1e-3, "max_steps": 40,
        "lr_scheduler_kwargs": {"min_lr_rate": 0.1}}).dense(40)[-1])
    assert "CPTLAW_MAX_STEPS" in cli_error(["schedule", "--hf", "lr_scheduler_type=cosine,learning_rate=1e-3,"
                                                              "max_steps=1000000000000"])


def test_a_spec_is_summarised_and_plotted(tmp_path, run_cli, cli_error):
    spec = FIXTURES / "ingest" / "megatron.schedule.yaml"
    code, stdout, _ = run_cli(["schedule", str(spec), "--plot", str(tmp_path / "lr.png")])
    assert code == 0 and "transfer (first CPT step)" in stdout and "step     2,000" in stdout
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "exists; use --force" in cli_error(["schedule", str(spec), "--plot", str(tmp_path / "lr.png")])
    (tmp_path / "const.yaml").write_text("kind: constant\nlr: 0.001\n")
    assert "never ends" in cli_error(["schedule", str(tmp_path / "const.yaml")])
    assert "one of them" in cli_error(["schedule"])
    assert "give the schedule as a spec" in cli_error(["schedule", "--hf", "lr_scheduler_type=inverse_sqrt,"
                                                                        "learning_rate=1e-3,max_steps=10"])
    code, _, err = run_cli(["schedule", "--hf", "cosine"])  # an argparse usage error
    assert code == 2 and "KEY=VALUE" in err
