"""The CPT law's forms beyond Eq. 4 (issue 20): the square-root-LR clock of the shift, the fading PT annealing
credit and the PT-step weight w.  Each reduces to Eq. 4 where it should, has an analytic Jacobian, is recorded in
the saved fit and shown in the equation, and is planned exactly."""

import numpy as np
import pytest

from cptlaw.data import Run
from cptlaw.datasets.synthetic import published_law, simulate_cpt_runs
from cptlaw.laws import CPTLaw
from cptlaw.laws import load as load_fit
from cptlaw.laws import from_result
from cptlaw.laws.cpt import DEFAULT_FORMS, EQ4_FORM, cpt_part
from cptlaw.plan.features import candidate_design, exact_features
from cptlaw.plan.space import parse_space
from cptlaw.schedules import Constant, Continual, Cosine, Warmup, WSD
from tests.helpers import check_jacobian

P = {"L0": 2.0, "A": 0.5, "alpha": 0.4, "C1": 0.3, "C2": 0.3, "B": -0.5, "E": 300.0, "beta": 0.5}


def runs_with_meta():
    rs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000),
                            ("c", "constant", 4000, "constant", 0)], target="general", n_eval=40)
    for i, r in enumerate(rs):
        r.model_size = [20e6, 80e6, 300e6][i]
        r.replay_ratio = [0.1, 0.3, 0.0][i]
    return rs


FORMS = [dict(shift="sqrt"), dict(pt_credit="fading"), dict(pt_weight=True),
         dict(shift="sqrt", pt_credit="fading", pt_weight=True),
         dict(shift="steps", pt_credit="fading", pt_weight=True),
         dict(shift="sqrt", pt_credit="fading", pt_weight=True, size=True, replay="domain"),
         dict(replay="general", replay_factor="power"), dict(replay="domain", replay_factor="power", shift="sqrt"),
         dict(replay="domain", cpt_share=True, pt_weight=True), dict(replay="domain", cpt_share=True, pt="unknown"),
         dict(shift="sqrt", pt="unknown")]


@pytest.mark.parametrize("options", FORMS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_analytic_jacobian_matches_finite_differences(options):
    law = CPTLaw(**options)
    runs = runs_with_meta()
    if law.unknown:
        runs = [cpt_part(r) for r in runs if r.transfer]
    design = law.design(list(runs), "loss:general")
    rng = np.random.default_rng(1)
    params = law.parameters(design.y, design)
    theta = np.array([np.exp(rng.uniform(np.log(p.init[0]), np.log(p.init[1]))) if p.log
                      else rng.uniform(*p.init) for p in params])
    check_jacobian(law, design, theta)


def run_at(cpt_lr, pt_peak=3e-4):
    return Run.from_schedule("c", Continual(Warmup(Constant(pt_peak), 100), cpt_lr, transfer=1000), 2000)


def test_sqrt_clock_is_s1cpt_at_the_pt_peak_and_grows_like_the_root_of_the_lr():
    """x = Σ_cpt sqrt(eta * eta_pt): at a CPT LR equal to the PT peak it is S1cpt (the two laws agree); at a quarter
    of it, half of that, where S1cpt is a quarter."""
    run = run_at(Constant(3e-4))
    np.testing.assert_allclose(CPTLaw(shift="sqrt").predict(run, params=P), CPTLaw().predict(run, params=P),
                               rtol=1e-12)
    law = CPTLaw(shift="sqrt")
    at = {"c": np.array([1999])}
    full = law.design([run_at(Constant(3e-4))], at=at).features
    quarter = law.design([run_at(Constant(0.75e-4))], at=at).features
    assert quarter["S1cpt_sqrt"][0] == pytest.approx(0.5 * full["S1cpt_sqrt"][0], rel=1e-12)
    assert quarter["S1cpt"][0] == pytest.approx(0.25 * full["S1cpt"][0], rel=1e-12)
    exclusive = CPTLaw(shift="sqrt", lr_index="exclusive").design([run], at={"c": np.array([999, 1000, 1001])})
    inclusive = law.design([run], at={"c": np.array([999, 1000, 1001])})
    np.testing.assert_allclose(exclusive.features["S1cpt_sqrt"], [0.0, 0.0, 3e-4])
    np.testing.assert_allclose(inclusive.features["S1cpt_sqrt"], [0.0, 3e-4, 6e-4])


def test_fading_credit_and_weight_one_are_eq4_where_they_should_be():
    run = Run.from_schedule("r", Continual(Warmup(WSD(3e-4, 900, 100), 100), Cosine(2e-4, 1000), transfer=1000),
                            2000)
    eq4 = CPTLaw().predict(run, params=P)
    np.testing.assert_allclose(CPTLaw(pt_weight=True).predict(run, params={**P, "w": 1.0}), eq4, rtol=1e-12)
    fading = CPTLaw(pt_credit="fading").predict(run, params=P)
    np.testing.assert_allclose(fading[:1000], eq4[:1000], rtol=1e-12)  # no shift yet: the whole credit
    credit = CPTLaw().design([run], at={"r": np.array([1999])}).features["S2pt"][0] * P["C1"]
    assert credit > 0
    u = 1 + P["E"] * CPTLaw().design([run], at={"r": np.array([1999])}).features["S1cpt"][0]
    assert fading[1999] - eq4[1999] == pytest.approx(credit * (1 - u ** -P["beta"]), rel=1e-9)
    # w < 1: the PT rows are A·(w·S1pt)^-alpha, so a PT step counts w times a CPT step
    w = CPTLaw(pt_weight=True).predict(run, params={**P, "w": 0.1})
    assert w[500] > eq4[500]


def test_options_are_recorded_saved_and_shown(tmp_path):
    runs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000),
                              ("c", "constant", 4000, "constant", 2000)], target="domain", n_eval=60, seed=2)
    law = CPTLaw(shift="sqrt", pt_credit="fading", pt_weight=True).fit(runs, "domain", n_starts=8)
    o = law.result_.options
    assert o["shift"] == "sqrt" and o["pt_credit"] == "fading" and o["pt_weight"] is True
    assert "w" in law.params_ and 1e-4 <= law.params_["w"] <= 1.0
    text = law.equation()
    assert "Σ√(η·η_pt)" in text and f"{law.params_['w']:.4g}·S1pt" in text and ")^(−" in text.split("S2pt")[1]
    again = load_fit(law.save(tmp_path / "f.json"))
    assert again.get_params() == law.get_params()
    np.testing.assert_array_equal(again.predict(runs["c"]), law.predict(runs["c"]))
    eq4 = CPTLaw(shift="area", pt_credit="lasting", pt_weight=False).fit(runs, "domain", n_starts=8)
    assert {k: eq4.result_.options[k] for k in ("shift", "pt_credit", "pt_weight")} == EQ4_FORM  # always recorded
    old = eq4.result_.model_copy(update={"options": {k: v for k, v in eq4.result_.options.items()
                                                     if k not in EQ4_FORM}})  # a fit saved before v3
    assert from_result(old).form == EQ4_FORM


def test_default_form_follows_the_role_of_the_loss():
    """cptlaw's defaults (DEFAULT_FORMS, chosen by cross-validation on the bundled sets): Eq. 4 for the general
    loss, the sqrt clock + fading credit + PT weight for a domain's.  The role is the name loss:general, or else
    the sign of the loss's change when CPT starts (the paper's sign of B)."""
    specs = [("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000)]
    general = simulate_cpt_runs(specs, target="general", n_eval=60)  # B > 0: rises at the transfer
    domain = simulate_cpt_runs(specs, target="domain", n_eval=60)  # B < 0: falls
    law = CPTLaw()
    assert law.role_of(general, "loss:general") == "general"
    for runs, col, role in ((general, "loss:general", "general"), (domain, "loss:domain", "domain")):
        renamed = simulate_cpt_runs(specs, target=col.split(":")[1], n_eval=60)
        for r in renamed:  # the same curves under a name that says nothing
            r.losses = {"loss:val": r.losses[col]}
        assert law.role_of(renamed, "loss:val") == role
    # a CPT log from its transfer on: the PT run it branches from tells the change
    cut = simulate_cpt_runs(specs + [("pt", "wsd", 3000, "constant", 0)], target="domain", n_eval=60)
    for r in cut:
        if r.transfer is not None:
            idx, y = r.losses["loss:domain"]
            keep = r.steps[idx] >= r.transfer_step
            r.losses["loss:domain"] = (idx[keep], y[keep])
    assert law.role_of([cut["a"]], "loss:domain") == "general"  # nothing to tell: Eq. 4's role
    assert law.role_of(cut, "loss:domain") == "domain"
    fitted = CPTLaw().fit(domain, "domain", n_starts=4)
    assert fitted.role_ == "domain" and fitted.form == DEFAULT_FORMS["domain"] and "w" in fitted.params_
    assert {k: fitted.result_.options[k] for k in ("shift", "pt_credit", "pt_weight")} == DEFAULT_FORMS["domain"]
    g = CPTLaw().fit(general, "general", n_starts=4)
    assert g.role_ == "general" and g.form == DEFAULT_FORMS["general"] and "w" not in g.params_
    assert CPTLaw(shift="steps").fit(domain, "domain", n_starts=4).form["shift"] == "steps"  # given wins
    assert CPTLaw(pt="unknown").default_form("domain") == DEFAULT_FORMS["general"]  # no CV evidence there: Eq. 4
    assert CPTLaw().form == DEFAULT_FORMS["general"]  # from given coefficients: the paper's law


def test_unknown_pt_refuses_the_pt_forms():
    with pytest.raises(ValueError, match="known PT"):
        CPTLaw(pt="unknown", pt_weight=True)
    with pytest.raises(ValueError, match="known PT"):
        CPTLaw(pt="unknown", pt_credit="fading")
    with pytest.raises(ValueError, match="pt_credit"):
        CPTLaw(pt_credit="sometimes")


def test_planner_features_of_a_sqrt_clock_are_exact_per_peak():
    """The square-root clock is not affine in the CPT peak LR: the planner computes it per peak, and every
    candidate's features equal those of its own trajectory."""
    law = published_law({**P, "w": 0.3}, shift="sqrt", pt_weight=True, pt_credit="fading")
    sp = parse_space({"pt": {"schedule": {"kind": "wsd", "peak": 3e-4, "steps": 3000, "decay_steps": 300},
                             "transfer": [2000, 3000]},
                      "cpt": {"family": ["cosine"], "peak_lr": {"min": 5e-5, "max": 4e-4, "num": 4},
                              "steps": [500, 1500], "rewarmup_steps": [0, 100]}})
    cands = list(sp.candidates())
    d = candidate_design(law, sp, cands)
    for i, c in enumerate(cands):
        ref = exact_features(law, sp, c)
        for name in ("S1cpt_sqrt", "S1pt", "S1cpt", "S2pt"):
            assert d.features[name][i] == pytest.approx(ref[name], rel=1e-9, abs=1e-15), (name, c)


def test_cli_flags_set_the_forms_and_refuse_what_does_not_go_together(tmp_path, run_cli, cli_error):
    from cptlaw.data import write_runs

    runs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000)],
                             target="domain", n_eval=40, seed=3)
    data = write_runs(runs, tmp_path / "d.csv")
    code, out, err = run_cli(["fit", str(data), "--law", "cpt", "--target", "domain", "--shift", "sqrt",
                              "--pt-credit", "fading", "--pt-weight", "--n-starts", "4", "--out", str(tmp_path / "f.json")])
    assert code == 0
    opts = load_fit(tmp_path / "f.json").get_params()
    assert opts["shift"] == "sqrt" and opts["pt_credit"] == "fading" and opts["pt_weight"] is True
    assert "known PT" in cli_error(["fit", str(data), "--law", "cpt", "--target", "domain", "--pt", "unknown",
                                    "--pt-weight", "--out", str(tmp_path / "g.json")])
    assert "no such option" in cli_error(["fit", str(data), "--law", "annealing", "--target", "domain",
                                          "--pt-credit", "fading", "--out", str(tmp_path / "h.json")])


def test_w_at_one_is_eq4_not_a_bound_warning():
    """Curves made by Eq. 4 (every PT step counts fully): a PT-weighted fit ends at w = 1, its reference bound,
    which is reported as Eq. 4's form (at_bound marks it) and not as a warning."""
    runs = simulate_cpt_runs([("a", "wsd", 3000, "cosine", 2000), ("b", "constant", 2000, "wsd", 3000),
                              ("c", "constant", 4000, "constant", 2000)], target="domain", n_eval=60)
    law = CPTLaw(pt_weight=True, shift="area", pt_credit="lasting").fit(runs, "domain", n_starts=8)
    assert law.params_["w"] == pytest.approx(1.0, abs=1e-6)
    bounds = {b["param"]: b for b in law.result_.diagnostics.at_bound}
    assert bounds["w"].get("reference") is True
    assert not any(w.startswith("w = ") for w in law.result_.warnings)


def test_power_replay_factor_is_the_domain_share_to_a2_and_is_recorded(tmp_path):
    """replay_factor="power": the shift term is B·shift·r_cpt^a2 for either loss, so g(1) = 1 (no replay) and
    g(0) = 0 (all replay); it is what a fit without the option uses and records, while a law from given
    coefficients (and a fit saved before the option) is Eq. 8's exponential."""
    runs = runs_with_meta()
    p = {**P, "a1": 0.0, "a2": 0.5}
    for role in ("general", "domain"):
        law = CPTLaw(replay=role, replay_factor="power")
        d = law.design(list(runs), "loss:general")
        parts = dict(zip(law.param_names, law.jacobian(law.theta(p), d).T))
        r_cpt = 1.0 - d.features["r_pt"]
        without = CPTLaw(replay=role, replay_factor="power").jacobian(law.theta({**p, "a2": 1e-12}), d).T
        # B's column is shift * g: with a2 -> 0 it is the bare shift (g = 1 wherever r_cpt > 0)
        bare = dict(zip(law.param_names, without))["B"]
        np.testing.assert_allclose(parts["B"], bare * r_cpt ** 0.5, rtol=1e-9, atol=1e-15)
    assert CPTLaw(replay="domain").options()["replay_factor"] == "exp"  # unfitted (e.g. published coefficients)
    assert "replay_factor" not in CPTLaw().options()
    default = CPTLaw(replay="domain").fit(runs, "loss:general", n_starts=2)
    assert default.replay_factor is None and default.replay_form == "power"
    assert default.options()["replay_factor"] == "power" and "r_cpt^" in default.equation()
    # a fit saved before the option existed has no replay_factor: it was Eq. 8's, and loads as such
    import json
    saved = json.loads(CPTLaw(replay="domain", replay_factor="exp").fit(runs, "loss:general", n_starts=2)
                       .save(tmp_path / "exp.json").read_text())
    del saved["options"]["replay_factor"]
    (tmp_path / "old.json").write_text(json.dumps(saved))
    assert load_fit(tmp_path / "old.json").replay_form == "exp"
    law = CPTLaw(replay="domain", replay_factor="power").fit(runs, "loss:general", n_starts=2)
    again = load_fit(law.save(tmp_path / "f.json"))
    assert again.replay_factor == "power" and "r_cpt^" in again.equation()
    with pytest.raises(ValueError, match="replay_factor must be one of"):
        CPTLaw(replay="domain", replay_factor="linear")
    with pytest.raises(ValueError, match="needs replay"):  # never silently ignored
        CPTLaw(replay_factor="power")


def test_cpt_share_counts_cpt_steps_by_the_domain_share():
    """cpt_share: A·(S1pt + r_cpt·S1cpt)^−α; on by default in a replay="domain" fit, off for a law from given
    coefficients (Eq. 8), recorded and shown; only with replay="domain"."""
    runs = runs_with_meta()
    law = CPTLaw(replay="domain", cpt_share=True)
    d = law.design(list(runs), "loss:general")
    p = {**P, "a1": 0.0, "a2": 0.5}
    area = dict(zip(law.param_names, law.jacobian(law.theta(p), d).T))["A"]  # A's column: s1^-alpha
    s1 = d.features["S1"] - d.features["r_pt"] * d.features["S1cpt"]
    np.testing.assert_allclose(area, s1 ** -P["alpha"], rtol=1e-12)
    assert CPTLaw(replay="domain").share_area is False and CPTLaw(replay="domain").options()["cpt_share"] is False
    fitted = CPTLaw(replay="domain").fit(runs, "loss:general", n_starts=2)
    assert fitted.share_area and fitted.options()["cpt_share"] is True and "r_cpt·S1cpt" in fitted.equation()
    assert "cpt_share" not in CPTLaw(replay="general").fit(runs, "loss:general", n_starts=2).options()
    with pytest.raises(ValueError, match="needs replay='domain'"):
        CPTLaw(replay="general", cpt_share=True)
