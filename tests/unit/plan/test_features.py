"""The planner's vectorised inputs equal the per-candidate exact path, under every area convention."""

import numpy as np
import pytest

from cptlaw.errors import SpecError
from cptlaw.laws import CPTLaw
from cptlaw.plan import candidate_design, exact_features, parse_space

SPACE = {
    "pt": {"schedule": {"kind": "warmup", "steps": 50,
                        "schedule": {"kind": "wsd", "peak": 3e-4, "steps": 950, "decay_steps": 300}},
           "transfer": [400, 1000]},
    "cpt": {"family": ["constant", "cosine", "wsd"], "peak_lr": {"min": 5e-5, "max": 4e-4, "num": 4, "scale": "log"},
            "rewarmup_steps": [0, 40], "rewarmup_from": ["zero", "pt_final"], "floor": [0.0, 0.1],
            "steps": [300, 700], "replay": [0.0, 0.5]},
}


@pytest.mark.parametrize("options", [{}, {"momentum": "reset"}, {"warmup": "literal", "lr_index": "exclusive"},
                                     {"lam": 0.99}])
def test_candidate_design_matches_exact_path(options):
    space = parse_space(SPACE)
    cands = list(space.candidates())
    law = CPTLaw(replay="general", **options)
    d = candidate_design(law, space, cands)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(cands), 25, replace=False):
        ref = exact_features(law, space, cands[i])
        for name in ("S1", "S1cpt", "S2pt", "S2cpt", "lr_peak", "lr_peak_cpt", "r_pt"):
            np.testing.assert_allclose(d.features[name][i], ref[name], rtol=1e-10, atol=1e-15, err_msg=name)


def test_space_counts_each_plan_once():
    space = parse_space(SPACE)
    cands = list(space.candidates())
    assert len(cands) == len(set(cands))
    # constant: no floor choice; no re-warmup: no start choice
    assert not any(c.family == "constant" and c.floor == 0.1 for c in cands)
    assert not any(c.rewarmup_steps == 0 and c.rewarmup_from == "pt_final" for c in cands)


@pytest.mark.parametrize("patch, key", [
    ({"cpt": {**SPACE["cpt"], "stepz": [1]}}, "stepz"),
    ({"cpt": {**SPACE["cpt"], "peak_lr": []}}, "cpt.peak_lr"),
    ({"cpt": {**SPACE["cpt"], "family": ["free"]}}, "cpt.family"),
    ({"cpt": {**SPACE["cpt"], "rewarmup_steps": [400]}}, "rewarmup_steps"),
    ({"cpt": {**SPACE["cpt"], "peak_lr": {"min": 1e-4, "max": 1e-5, "num": 3}}}, "cpt.peak_lr"),
    ({"cpt": {**SPACE["cpt"], "steps": [2.5]}}, "cpt.steps"),
    ({"cpt": {**SPACE["cpt"], "floor": ["0.1x"]}}, "cpt.floor"),
    ({"cpt": {**SPACE["cpt"], "floor": [2]}}, "cpt.floor"),
    ({"pt": {**SPACE["pt"], "transfer": [0]}}, "pt.transfer"),
    ({"objective": {"lambda1": 1.5}}, "objective.lambda1"),
    ({"objective": {"lambda1": 0.5, "ood": {"general": 1.0, "domain": 0.0}}}, "objective"),
    ({"constraints": {"max_cpt_tokens": 1e9}}, "tokens_per_step"),
])
def test_bad_spaces_name_the_key(patch, key):
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        parse_space({**SPACE, **patch})


def test_numbers_written_without_a_dot_are_numbers():
    """YAML 1.1 loads 1e-4 as a string; the plan space reads it as the number, as schedule specs do."""
    space = parse_space({**SPACE, "cpt": {**SPACE["cpt"], "peak_lr": "1e-4"}})
    assert space.knobs["peak_lr"] == [1e-4]
