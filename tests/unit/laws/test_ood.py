"""Out-of-domain sets: Eq. 6 (``cptlaw fit --law ood``), its saved fit (the CLI, the planner's OOD objective and bad input:
tests/cli/test_fit_laws.py)."""

import numpy as np
import pytest

from cptlaw.datasets.synthetic import CPT_FIG3, simulate_cpt_runs
from cptlaw.laws import CPTLaw
from cptlaw.laws.ood import OODLaw
from cptlaw.laws import load as load_fit

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
        fits.append(law.fit(runs, target, n_starts=8))
    rng = np.random.default_rng(0)
    for r in runs:
        idx, _ = r.observed("general")
        y = C4[0] * r.losses["loss:general"][1] + C4[1] * r.losses["loss:domain"][1]
        r.losses["loss:c4"] = (idx, y * np.exp(rng.normal(0, 1e-4, idx.size)))
    ood = OODLaw(general=fits[0].result_, domain=fits[1].result_).fit(runs, "loss:c4").result_
    assert ood.params["l1"] == pytest.approx(C4[0], abs=0.01) and ood.params["l2"] == pytest.approx(C4[1], abs=0.01)
    spread = ood.diagnostics.coefficient_spread
    assert spread["l1"]["std"] < 0.02 and set(ood.diagnostics.per_run_coefficients) == {"a", "b", "c"}
    ood.save(tmp_path / "ood.json")
    again = load_fit(tmp_path / "ood.json")
    run = runs["a"]
    want = C4[0] * fits[0].predict(run) + C4[1] * fits[1].predict(run)
    np.testing.assert_allclose(again.predict(run), want, rtol=0.01)
