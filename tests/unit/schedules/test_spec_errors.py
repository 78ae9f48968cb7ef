"""Bad schedule specs, by class: each value is refused with a SpecError naming the key (a typed schema)."""

import pytest

from cptlaw.errors import SpecError
from cptlaw.schedules import from_spec
from cptlaw.schedules.spec import load_spec_file


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
