"""The three D-CPT usages (laws.md §4.4): brute-force scans and the Chinchilla closed form pin the search."""

import numpy as np
import pytest

from cptlaw.errors import CptlawError
from cptlaw.laws import DCPTLaw, from_params
from cptlaw.plan.dcpt import compute_split, ratio_limited_domain, ratio_under_general_cap

NAMES = ("E", "A", "alpha", "B", "beta", "eta", "C", "gamma", "epsilon")
GENERAL = dict(zip(NAMES, (1.8, 3.0, 0.3, 0.5, 0.3, 0.5, 0.05, 0.8, 0.01)))
DOMAIN = dict(zip(NAMES, (1.2, 2.5, 0.3, 0.6, 0.35, 0.4, 0.03, 0.7, 0.02)))


G, D = from_params("dcpt", GENERAL, corpus="general"), from_params("dcpt", DOMAIN, corpus="domain")
N, TOKENS = 1.8e9, 10e9


def value(params, n, d, r):
    law = DCPTLaw()
    return law.value(law.theta(params), law.design_points(n, d, r))


def test_ratio_under_cap_is_the_brute_force_optimum_and_the_cap_binds():
    r = np.linspace(0, 1, 1_000_001)
    lg, ld = value(GENERAL, N, TOKENS, 1 - r), value(DOMAIN, N, TOKENS, r)
    g0 = 2.38  # the general loss before CPT: the unconstrained domain optimum (r_d = 0.195) lies 0.85% above
    for cap in (0.002, 0.005, 0.02):
        out = ratio_under_general_cap(G, D, N, TOKENS, g0, cap)
        ok = lg <= g0 * (1 + cap)
        brute = r[ok][np.argmin(ld[ok])]
        assert out["domain_ratio"] == pytest.approx(brute, abs=2e-6)
        assert out["general_increase_relative"] <= cap + 1e-12
    loose, tight = (ratio_under_general_cap(G, D, N, TOKENS, g0, c) for c in (0.02, 0.002))
    assert loose["domain_loss"] < tight["domain_loss"]
    assert tight["general_loss"] == pytest.approx(tight["general_cap"], abs=1e-5)  # it binds
    absolute = ratio_under_general_cap(G, D, N, TOKENS, g0, 0.005 * g0, relative=False)
    assert absolute["domain_ratio"] == pytest.approx(ratio_under_general_cap(G, D, N, TOKENS, g0, 0.005)["domain_ratio"])


def test_limited_domain_data_has_the_brute_force_interior_optimum():
    r = np.linspace(1e-3, 1, 1_000_001)
    dd = 2e9
    ld = value(DOMAIN, N, dd / r, r)
    out = ratio_limited_domain(D, N, dd)
    assert 0.01 < out["domain_ratio"] < 0.99  # interior: more data at a low share vs a higher share
    assert out["domain_ratio"] == pytest.approx(r[np.argmin(ld)], abs=2e-6)
    assert out["tokens"] == pytest.approx(dd / out["domain_ratio"])
    two = ratio_limited_domain(D, N, dd, epochs=2.0)
    assert two["domain_loss"] < out["domain_loss"]
    with pytest.raises(CptlawError, match="general fit"):
        ratio_limited_domain(D, N, dd, max_increase=0.03)


def test_compute_split_matches_the_chinchilla_closed_form():
    ratio, compute = 0.7, 1e21
    out = compute_split(D, compute, ratio)
    p = DOMAIN
    b_eff = p["B"] * ratio ** p["eta"]
    c = compute / (6 * 1e6 * 1e9)  # N*D in the fit's units
    g = (p["alpha"] * p["A"] / (p["beta"] * b_eff)) ** (1 / (p["alpha"] + p["beta"]))
    n_star = g * c ** (p["beta"] / (p["alpha"] + p["beta"])) * 1e6
    assert out["model_size"] == pytest.approx(n_star, rel=1e-4)
    assert out["model_size"] * out["tokens"] * 6 == pytest.approx(compute)
    assert not out["at_search_bound"]
    assert compute_split(D, compute, ratio, n_max=1e8)["at_search_bound"]


def test_fits_must_model_the_right_share():
    with pytest.raises(CptlawError, match="--corpus general"):
        ratio_under_general_cap(D, D, N, TOKENS, 2.5, 0.03)


def test_cli_usages(tmp_path, run_cli):
    """``cptlaw dcpt-plan`` (bad input in-process: ``run_cli``; tests/cli/test_commands.py runs the console script
    itself once)."""
    import json

    from cptlaw.cli import main
    from cptlaw.fit import fit_design

    rng = np.random.default_rng(0)
    n, d, r = (rng.choice([5e8, 1.8e9, 4e9], 300), rng.uniform(1e9, 3e10, 300), rng.choice(np.linspace(0.1, 0.9, 9), 300))
    paths = {}
    for label, params, share in (("general", GENERAL, 1 - r), ("domain", DOMAIN, r)):
        law = DCPTLaw(corpus=label)
        y = value(params, n, d, share)
        res = fit_design(law, law.design_points(n, d, share, y), target=f"loss:{label}", data_hash="x", n_starts=8)
        paths[label] = tmp_path / f"{label}.json"
        paths[label].write_text(res.to_json())
    out = tmp_path / "ratio.json"
    assert main(["dcpt-plan", "ratio", "--general", str(paths["general"]), "--domain", str(paths["domain"]),
                 "--model-size", "1.8e9", "--tokens", "1e10", "--general-before", "2.38",
                 "--max-general-increase", "0.005", "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    want = ratio_under_general_cap(G, D, N, TOKENS, 2.38, 0.005)
    assert got["domain_ratio"] == pytest.approx(want["domain_ratio"], abs=0.01)  # fitted on exact law values
    assert main(["dcpt-plan", "compute", "--domain", str(paths["domain"]), "--compute", "1e21", "--ratio", "0.7",
                 "--out", str(out)]) == 2  # exists, no --force
    code, _, err = run_cli(["dcpt-plan", "limited", "--domain", str(paths["domain"]), "--model-size", "1.8e9"])
    assert code == 2 and "--domain-tokens" in err and "Traceback" not in err
    code, _, err = run_cli(["dcpt-plan", "ratio", "--general", str(paths["domain"]), "--domain", str(paths["domain"]),
                            "--model-size", "1.8e9", "--tokens", "1e10", "--general-before", "2.38",
                            "--max-general-increase", "0.005"])
    assert code == 2 and "--corpus general" in err and "Traceback" not in err
    assert got["extrapolation"] == []  # 1.8e9 parameters and 1e10 tokens: inside what both fits saw
    # a model 125 times the largest fitted one: the answer says so, in the JSON and on standard error
    code, stdout, err = run_cli(["dcpt-plan", "ratio", "--general", str(paths["general"]), "--domain",
                                 str(paths["domain"]), "--model-size", "5e11", "--tokens", "1e10",
                                 "--general-before", "2.38", "--max-general-increase", "0.005"])
    far = json.loads(stdout)["extrapolation"]
    assert code == 0 and {(x["fit"], x["input"]) for x in far} >= {("domain", "model size"), ("general", "model size")}
    assert next(x for x in far if x["fit"] == "domain")["by"] == pytest.approx(5e11 / 4e9, rel=1e-6)
    assert "extrapolation: model size 5e+11 is 125x above the largest the domain fit saw (4e+09)" in err
