"""Fits saved by an earlier cptlaw (git be5ec06, fit format v2) load as fitted laws and predict what that version
predicted (its own output, tests/fixtures/fits: every 10th row of the CPT fit's predictions; every prediction
of two MPL runs, whose loss-drop term is computed on a grid that depends on the steps asked for)."""

import csv

import numpy as np
import pytest

import cptlaw
from cptlaw.datasets import load, load_mpl
from tests.helpers import ROOT

FITS = ROOT / "tests" / "fixtures" / "fits"


@pytest.mark.parametrize("stem, runs", [("be5ec06_cpt_general", lambda: load("pilot-gpu-german")),
                                        ("be5ec06_mpl", lambda: load_mpl(400))])
def test_a_fit_saved_by_be5ec06_loads_and_predicts_as_it_did(stem, runs):
    law = cptlaw.load(FITS / f"{stem}.json")
    assert law.result_.format_version == 2 and law.params_ == law.result_.params
    data = runs()
    rows = list(csv.DictReader((FITS / f"{stem}.predictions.csv").open()))
    assert len(rows) > 20
    for name in {r["run"] for r in rows}:
        mine = [r for r in rows if r["run"] == name]
        steps = [int(r["step"]) for r in mine]
        want = np.array([float(r["predicted"]) for r in mine])
        np.testing.assert_allclose(law.predict(data[name], steps), want, rtol=1e-12)


def test_a_law_from_given_coefficients_saves_and_loads(tmp_path):
    from cptlaw.datasets.synthetic import CPT_FIG3
    from cptlaw.laws import from_params

    law = from_params("cpt", CPT_FIG3["general"], target="loss:general")
    law.save(tmp_path / "published.json")
    again = cptlaw.load(tmp_path / "published.json")
    assert again.params_ == law.params_ and again.result_.overall.pred_e is None
    assert again.result_.starts["method"] == "given coefficients (not fitted)"
