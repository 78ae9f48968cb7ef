"""Real curves: the MIT-licensed Multi-Power-Law data (Luo et al. 2025), vendored in cptlaw.datasets."""

import numpy as np
import pytest

from cptlaw.datasets import load_mpl
from cptlaw.datasets.splits import MPL_SPLIT
from cptlaw.evaluate import metrics
from cptlaw.laws import MultiPowerLaw

# Repo src/config.py PARAMS (laws.md §2.4), order L0, A, alpha, B, C, beta, gamma.
REPO_PARAMS = {
    25: [3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257],
    100: [2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644],
    400: [2.37474466, 0.65421216, 0.42878731, 523.42464371, 2.02462735, 0.59350493, 0.63472457],
}
NAMES = ["L0", "A", "alpha", "B", "C", "beta", "gamma"]
# laws.md §6: R² of the 400M repo params on the test curves under the code convention.
R2_400 = {"cosine_72000": 0.9981, "constant_72000": 0.9983, "wsd_20000_24000": 0.9978,
          "wsdld_20000_24000": 0.9985, "wsdcon_3": 0.9943, "wsdcon_18": 0.9996}


def test_published_mpl_params_reproduce_400m_test_curves_with_code_convention():
    runs = load_mpl(400)
    law = MultiPowerLaw(warmup="literal", ld_max_points=None)  # exact LD sum
    params = dict(zip(NAMES, REPO_PARAMS[400]))
    r2 = {}
    for name in MPL_SPLIT.held_out:
        run = runs[name]
        idx, y = run.observed("train")
        r2[name] = metrics(y, law.predict(run, run.steps[idx], params=params))["r2"]
        assert r2[name] == pytest.approx(R2_400[name], abs=1e-4), name
    assert np.mean(list(r2.values())) == pytest.approx(0.9978, abs=1e-4)  # the repo README's 400M mean


@pytest.mark.parametrize("size", [25, 100, 400])
def test_published_params_need_the_code_convention(size):
    """With the warmup flattened (no warmup terms in LD), predictions shift down by ~0.1-0.16 nats."""
    runs = load_mpl(size)
    params = dict(zip(NAMES, REPO_PARAMS[size]))
    run = runs["cosine_24000"]
    idx, y = run.observed("train")
    code = MultiPowerLaw(warmup="literal").predict(run, run.steps[idx], params=params)
    flat = MultiPowerLaw(warmup="as_peak").predict(run, run.steps[idx], params=params)
    assert metrics(y, code)["pred_e"] < 0.004
    assert 0.08 < np.mean(code - flat) < 0.2
