"""cptlaw select: cross-validation over the CPT law's forms on the user's runs, and the parsimony rule."""

import numpy as np
import pytest

from cptlaw.data import write_runs
from cptlaw.datasets.synthetic import CPT_FIG3, simulate_cpt_runs
from cptlaw.errors import CptlawError, DataError
from cptlaw.laws import CPTLaw
from cptlaw.laws import load as load_fit
from cptlaw.select import FORMS, FormScore, choose, folds, form_name, select, selection_lines

SPECS = [("pt_c", "constant", 12000, "constant", 0), ("pt_w", "wsd", 12000, "constant", 0),
         ("a", "constant", 8000, "constant", 4000), ("b", "constant", 8000, "cosine", 4000),
         ("c", "constant", 4000, "cosine", 8000), ("d", "wsd", 8000, "cosine", 4000)]
TRUTH = {**CPT_FIG3["domain"], "w": 0.1}


@pytest.fixture(scope="module")
def sqrt_w_runs():
    """Domain-loss curves made by the sqrt-clock, PT-weighted form (w = 0.1), with 0.1% noise."""
    return simulate_cpt_runs(SPECS, params=TRUTH, target="domain", n_eval=80, noise=1e-3, seed=1,
                             law=CPTLaw(shift="sqrt", pt_weight=True))


def test_folds_leave_one_cpt_run_and_one_transfer_point_out(sqrt_w_runs):
    f = folds(sqrt_w_runs, sqrt_w_runs.names)
    assert [x.held_out for x in f if x.kind == "run"] == [("a",), ("b",), ("c",), ("d",)]
    # a transfer point is a PT history and a step: a and b branch from the constant PT at 8000 (d from the WSD
    # PT at 8000, c at 4000: each alone, already a run fold)
    assert [(x.kind, x.held_out) for x in f if x.kind != "run"] == [("transfer 8000", ("a", "b"))]
    with pytest.raises(DataError, match="at least 2 CPT runs"):
        folds(sqrt_w_runs, ["pt_c", "pt_w", "a"])


def test_select_finds_the_form_that_made_the_curves(sqrt_w_runs, tmp_path):
    sel = select(sqrt_w_runs, "domain", forms=["eq4", "w", "sqrt+w"], fit_options={"n_starts": 16})
    scores = {s.form: s for s in sel.table}
    assert sel.chosen == "sqrt+w"
    assert scores["sqrt+w"].cv_pred_e < 0.5 * scores["eq4"].cv_pred_e
    assert sel.law.params_["w"] == pytest.approx(0.1, rel=0.1)
    assert sel.law.get_params()["shift"] == "sqrt" and sel.law.get_params()["pt_weight"] is True
    record = load_fit(sel.law.save(tmp_path / "f.json")).result_.diagnostics.selection
    assert record["chosen"] == "sqrt+w" and [r["form"] for r in record["table"]] == ["eq4", "w", "sqrt+w"]
    assert len(record["folds"]) == 5 and record["refit"] == "warm"  # four runs, one transfer point
    text = "\n".join(selection_lines(sel))
    assert "CV PredE%" in text and "pooled R²" in text and "<- chosen" in text


def score(form, n, pe, se=0.0):
    return FormScore(form, {}, n, pe, se, pe, None, 0.99, 0.99, 1.0)


def test_parsimony_rule():
    # within 10% of the best: the fewer parameters win
    assert choose([score("eq4", 8, 0.0105), score("w", 9, 0.0100)])[0] == "eq4"
    # beyond 10% and one standard error: the better one wins
    assert choose([score("eq4", 8, 0.0200, 0.001), score("w", 9, 0.0100, 0.001)])[0] == "w"
    # one standard error wider than 10%: still tied
    assert choose([score("eq4", 8, 0.0140), score("w", 9, 0.0100, 0.005)])[0] == "eq4"
    # ties in parameters: the lower CV error
    assert choose([score("sqrt", 8, 0.0101), score("eq4", 8, 0.0100)])[0] == "eq4"


def test_form_names_and_bad_forms():
    for name, opts in FORMS.items():
        assert form_name(CPTLaw(**opts).get_params()) == name
    runs = simulate_cpt_runs(SPECS[2:4], target="domain", n_eval=20)
    with pytest.raises(CptlawError, match="unknown form"):
        select(runs, "domain", forms=["eq5"])
    with pytest.raises(CptlawError, match="set by each form"):
        select(runs, "domain", base_options={"shift": "sqrt"})


def test_cli_select_writes_the_chosen_fit_and_prints_the_table(sqrt_w_runs, tmp_path, run_cli, cli_error):
    data = write_runs(sqrt_w_runs, tmp_path / "d.csv")
    out = tmp_path / "sel.json"
    code, stdout, err = run_cli(["select", str(data), "--target", "domain", "--forms", "eq4,sqrt+w",
                                 "--n-starts", "8", "--out", str(out)])
    assert code == 0 and "<- chosen" in stdout and "sqrt+w" in stdout
    law = load_fit(out)
    assert law.result_.diagnostics.selection["chosen"] == "sqrt+w" and law.get_params()["shift"] == "sqrt"
    assert "exists" in cli_error(["select", str(data), "--target", "domain", "--out", str(out)])
    assert "unknown form" in cli_error(["select", str(data), "--target", "domain", "--forms", "eq9",
                                        "--out", str(tmp_path / "x.json")])
    assert "names no form" in cli_error(["select", str(data), "--target", "domain", "--forms", ",",
                                         "--out", str(tmp_path / "x.json")])
    assert "loss columns present: loss:domain" in cli_error(["select", str(data), "--target", "loss:nothing",
                                                              "--out", str(tmp_path / "x.json")])
    np.testing.assert_array_equal(law.predict(sqrt_w_runs["b"]), load_fit(out).predict(sqrt_w_runs["b"]))


def test_forms_the_runs_cannot_tell_apart_go_by_preference():
    same = [score("fading", 8, 0.0100), score("eq4", 8, 0.0100), score("w", 9, 0.0050)]
    assert choose(same[:2], prefer=("eq4", "fading"))[0] == "eq4"
    assert choose(same[:2], prefer=("fading", "eq4"))[0] == "fading"
    form, rule = choose(same[:2], prefer=("fading", "eq4"))
    assert "cannot tell apart" in rule
    assert choose(same, prefer=("fading", "eq4"))[0] == "w"  # a real difference is not a tie


def test_parallel_forms_give_the_same_selection(small_runs):
    one = select(small_runs, "domain", forms=["eq4", "w"], fit_options={"n_starts": 4}, n_jobs=1)
    two = select(small_runs, "domain", forms=["eq4", "w"], fit_options={"n_starts": 4}, n_jobs=2)
    assert [s.row() for s in one.table] == [s.row() for s in two.table] and one.chosen == two.chosen
    assert one.law.params_ == two.law.params_


def test_a_fading_form_without_an_annealed_cpt_is_its_twin():
    """No CPT run from an annealed PT: the fading credit is zero on every CPT row, so the fading form is not
    fitted again; it takes its lasting twin's fit and scores, and says so."""
    specs = [("pt_c", "constant", 6000, "constant", 0), ("pt_w", "wsd", 6000, "constant", 0),
             ("a", "constant", 4000, "constant", 2000), ("b", "constant", 4000, "cosine", 2000),
             ("c", "constant", 2000, "cosine", 4000)]
    runs = simulate_cpt_runs(specs, target="domain", n_eval=40, noise=1e-3, seed=2)
    sel = select(runs, "domain", forms=["eq4", "fading"], fit_options={"n_starts": 4}, n_jobs=1)
    eq4, fading = sel.table
    assert fading.same_as == "eq4" and eq4.same_as is None
    assert fading.cv_pred_e == eq4.cv_pred_e and fading.n_params == eq4.n_params
    assert sel.laws["fading"].form["pt_credit"] == "fading" and sel.laws["fading"].params_ == sel.laws["eq4"].params_
    np.testing.assert_array_equal(sel.laws["fading"].predict(runs["b"]), sel.laws["eq4"].predict(runs["b"]))
    assert "(= eq4" in "\n".join(selection_lines(sel))


@pytest.fixture(scope="module")
def small_runs():
    """Two PT and two CPT runs, short: enough for two folds."""
    return simulate_cpt_runs(SPECS[:4], params=TRUTH, target="domain", n_eval=40, noise=1e-3, seed=1,
                             law=CPTLaw(shift="sqrt", pt_weight=True))


def test_open_source_mode_cross_validates_cpt_only_runs(small_runs):
    """pt='unknown': the runs are CPT-only (cut at their transfer), every one a CPT run; only the forms without
    PT terms are tried, and asking for one with them is a clear error."""
    from cptlaw.data import RunSet
    from cptlaw.laws.cpt import cpt_part

    cpt = RunSet([cpt_part(r) for r in small_runs if r.transfer])
    sel = select(cpt, "domain", base_options={"pt": "unknown"}, fit_options={"n_starts": 4}, n_jobs=1)
    assert [s.form for s in sel.table] == ["eq4", "sqrt"] and len(sel.folds) == 2
    assert sel.law.get_params()["pt"] == "unknown"
    with pytest.raises(CptlawError, match="need a known PT"):
        select(cpt, "domain", forms=["w"], base_options={"pt": "unknown"})


def test_lam_fit_and_a_failing_fold(small_runs, monkeypatch):
    sel = select(small_runs, "domain", forms=["eq4"], base_options={"lam": "fit"}, fit_options={"n_starts": 4},
                 n_jobs=1)
    assert sel.law.lam_ in (0.95, 0.99, 0.995, 0.999, 0.9995)
    import cptlaw.select as s

    def boom(*args, **kwargs):
        raise DataError("the fitted law predicts -1, which is not a loss")

    monkeypatch.setattr(s, "heldout_errors", boom)
    with pytest.raises(CptlawError, match="no form could predict"):
        select(small_runs, "domain", forms=["eq4"], fit_options={"n_starts": 4}, n_jobs=1)


def test_replay_forms_and_folds_choose_the_factor_that_made_the_curves():
    """With replay, every form is tried with Eq. 8's factor and with r_cpt^a2 (+power), and each replay ratio is
    left out in turn: on curves made with the power factor (a2 = 0.3) at four ratios, select picks it."""
    truth = CPTLaw(replay="domain", replay_factor="power", **FORMS["eq4"])
    params = {**CPT_FIG3["domain"], "a1": 0.0, "a2": 0.3}
    specs = [("pt", "constant", 12000, "constant", 0)] + [
        (f"r{int(100 * r)}{k}", "constant", 8000, k, 4000) for r, k in
        ((0.1, "cosine"), (0.25, "cosine"), (0.25, "constant"), (0.5, "cosine"), (0.75, "cosine"))]
    runs = simulate_cpt_runs(specs, target="domain", n_eval=60)
    rng = np.random.default_rng(3)
    for run in runs:
        if run.transfer is not None:
            run.replay_ratio = float(run.name[1:].rstrip("cosinetal")) / 100
            idx, _ = run.observed("loss:domain")
            run.losses["loss:domain"] = (idx, truth.predict(run, run.steps[idx], params=params)
                                         * np.exp(rng.normal(0, 1e-3, idx.size)))
    kinds = [f.kind for f in folds(runs, runs.names, by_replay=True)]
    assert kinds.count("run") == 5 and kinds[5:] == ["replay 0.25"]
    assert "replay 0.25" not in [f.kind for f in folds(runs, runs.names)]  # without a replay factor: no such fold
    sel = select(runs, "domain", forms=["eq4", "eq4+power"], base_options={"replay": "domain"},
                 fit_options={"n_starts": 8}, n_jobs=1)
    scores = {s.form: s for s in sel.table}
    assert sel.chosen == "eq4+power" and sel.law.replay_factor == "power"
    assert scores["eq4+power"].cv_pred_e < 0.5 * scores["eq4"].cv_pred_e
    assert sel.law.params_["a2"] == pytest.approx(0.3, rel=0.2)
    # a warm-started fold refits the form the all-runs fit resolved (power factor, CPT steps by the domain share)
    from cptlaw.select import _fold_fit
    fold = _fold_fit(sel.law, runs, "loss:domain", [n for n in runs.names if n != "r50cosine"], "warm", {})
    assert fold.replay_form == "power" and fold.share_area
    with pytest.raises(CptlawError, match="need replay"):
        select(runs, "domain", forms=["eq4+power"])
    with pytest.raises(CptlawError, match="unknown form"):
        select(runs, "domain", forms=["eq4+cubic"], base_options={"replay": "domain"})


def test_replay_folds_keep_two_ratios_in_every_fit():
    """With a replay factor, a fold that would leave one replay ratio in the fit is not made (the factor would not
    be identified): here leaving out the transfer point at 8000 would leave only t4, at replay 0.25."""
    runs = simulate_cpt_runs([("pt", "constant", 12000, "constant", 0), ("a", "constant", 8000, "cosine", 4000),
                              ("b", "constant", 8000, "constant", 4000), ("t4", "constant", 4000, "cosine", 8000)],
                             target="domain", n_eval=20)
    for run, ratio in zip(runs, (None, 0.1, 0.5, 0.25)):
        run.replay_ratio = ratio
    assert ("a", "b") in [f.held_out for f in folds(runs, runs.names)]
    assert ("a", "b") not in [f.held_out for f in folds(runs, runs.names, by_replay=True)]
