"""The Cross-Domain D-CPT law (Que et al. 2024; K = 1/k1 + w2*k2 from a secondary source, unconfirmed)."""

import numpy as np
import pytest

from cptlaw.data import RunSet
from cptlaw.errors import DataError
from cptlaw.laws.dcpt_cross import CrossDomainDCPTLaw, measure_k, run_domain
from cptlaw.laws import load as load_fit
from tests.helpers import check_jacobian


def test_k_is_measured_from_the_first_probe_steps(cosine_runs):
    run = cosine_runs["s_code_const600_cosine_r25"]
    idx, y = run.observed("code")
    k1, k2 = measure_k(run, 50)
    assert k1 == y[idx == run.transfer - 1][0]  # the PT checkpoint's code loss
    first = y[idx == run.transfer + 49][0]  # the first evaluation 50 CPT steps in
    assert k2 == pytest.approx((k1 - first) / (50 * 10240 / 1e9))
    with pytest.raises(DataError, match="no loss:code evaluation 5000 CPT steps after"):
        measure_k(run, 5000)


@pytest.mark.parametrize("k_form", ["k1+k2", "k1"])
def test_jacobian_matches_finite_differences(cosine_runs, k_form):
    law = CrossDomainDCPTLaw(k_form=k_form)
    design = law.design(list(cosine_runs))
    assert ("w2" in law.param_names) == (k_form == "k1+k2")  # K = 1/k1 alone has no weight for k2
    rng = np.random.default_rng(1)
    theta = np.array([np.exp(rng.uniform(*np.log(p.init))) if p.log else rng.uniform(*p.init)
                      for p in law.parameters(design.y, design)])
    check_jacobian(law, design, theta, rtol=1e-4, atol=1e-7)


def test_saved_fit_keeps_k_and_predicts_the_same(cosine_runs, tmp_path):
    train = RunSet([r for r in cosine_runs if run_domain(r) in ("loss:code", "loss:legal", "loss:bio")])
    law = CrossDomainDCPTLaw().fit(train, n_starts=16)
    assert set(law.result_.options["k"]) == {"loss:code", "loss:legal", "loss:bio"}
    law.result_.save(tmp_path / "f.json")
    again = load_fit(tmp_path / "f.json")
    new = RunSet([r for r in cosine_runs if run_domain(r) == "loss:german"])
    law_g, again_g = law.with_domains(new), again.with_domains(new)
    assert "loss:german" in law_g.k_table() and "loss:german" not in law.k_table()  # a copy: the fit is unchanged
    run = new["m_german_const600_cosine_r50"]
    np.testing.assert_allclose(again_g.predict(run), law_g.predict(run), rtol=1e-12)
    with pytest.raises(DataError, match="no run at replay 0.25 to probe it"):  # one run, not its probe: no K
        law.predict(run)


def test_k_form_is_recorded_and_shown(cosine_runs, tmp_path):
    train = RunSet([r for r in cosine_runs if run_domain(r) in ("loss:code", "loss:legal", "loss:bio")])
    law = CrossDomainDCPTLaw(k_form="k1").fit(train, n_starts=4)
    again = load_fit(law.save(tmp_path / "k1.json"))
    assert again.k_form == "k1" and again.equation().endswith("K = 1/k1") and "w2" not in again.params_
    with pytest.raises(ValueError, match="k_form must be one of"):
        CrossDomainDCPTLaw(k_form="k2")
