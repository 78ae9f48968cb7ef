"""``lam="fit"`` (``--lam fit``): λ chosen from the MPL paper's grid by the training objective (App. D.2)."""

import json

import numpy as np
import pytest

from cptlaw.cli import main
from cptlaw.data import Run, RunSet, write_runs
from cptlaw.datasets import load_mpl
from cptlaw.datasets.splits import MPL_SPLIT
from cptlaw.errors import CptlawError
from cptlaw.laws import AnnealingLaw, MultiPowerLaw
from cptlaw.laws.base import LAM_GRID
from cptlaw.schedules import WSD, Constant, Cosine, Warmup

TRUE = {"L0": 2.5, "A": 0.6, "alpha": 0.45, "C": 1.5}


def synthetic(lam: float) -> RunSet:
    """Annealing-law curves (Tissue Eq. 1) made with ``lam``, on schedules whose S2 differ in their dynamics."""
    runs = []
    for name, post in (("constant", Constant(3e-4)), ("cosine", Cosine(3e-4, 7800, 3e-5)),
                       ("wsd", WSD(3e-4, 7800, 1500, 3e-5, "linear"))):
        sched = Warmup(post, 200)
        steps = np.arange(8000)
        run = Run(name, steps, sched(steps))
        idx = np.arange(250, 8000, 25)
        run.losses["loss:val"] = (idx, AnnealingLaw(lam=lam).predict(run, steps[idx], params=TRUE))
        runs.append(run)
    return RunSet(runs)


@pytest.mark.parametrize("lam", [0.99, 0.999])
def test_fit_recovers_the_lam_that_made_the_curves(lam):
    law = AnnealingLaw(lam="fit").fit(synthetic(lam), "loss:val")
    assert law.lam_ == lam and law.result_.options["lam"] == lam
    sel = law.result_.diagnostics.lam_selection
    assert sel["grid"] == list(LAM_GRID) and sel["chosen"] == lam
    assert sel["objectives"][LAM_GRID.index(lam)] == min(sel["objectives"])
    assert law.params_["alpha"] == pytest.approx(TRUE["alpha"], rel=1e-3)


def test_lam_fit_refused_where_there_is_no_lam():
    with pytest.raises(CptlawError, match="annealing area S2"):
        MultiPowerLaw(lam="fit").fit(load_mpl(25), "loss:train", names=list(MPL_SPLIT.fit))
    with pytest.raises(CptlawError, match="'fit'"):
        AnnealingLaw(lam="auto")
    with pytest.raises(CptlawError, match="chosen when the law is fitted"):
        AnnealingLaw(lam="fit").predict(synthetic(0.99)["cosine"])


def test_cli_lam_fit_records_the_choice(tmp_path, capsys):
    write_runs(synthetic(0.99), tmp_path / "runs.csv")
    out = tmp_path / "fit.json"
    assert main(["fit", str(tmp_path / "runs.csv"), "--law", "annealing", "--target", "loss:val", "--lam", "fit",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["options"]["lam"] == 0.99 and doc["diagnostics"]["lam_selection"]["chosen"] == 0.99
    capsys.readouterr()
    base = ["fit", str(tmp_path / "runs.csv"), "--target", "loss:val", "--out", str(tmp_path / "b.json")]
    assert main(base + ["--law", "mpl", "--lam", "fit"]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        main(base + ["--law", "annealing", "--lam", "0.5x"])
    assert exc.value.code == 2
    for err in capsys.readouterr().err.split("usage:"):
        assert "Traceback" not in err
    assert not (tmp_path / "b.json").exists()
