"""Static fit figures (cptlaw.plots.fit_figure): the data stays clear and the figure labels what it scores."""

import numpy as np

from cptlaw.datasets import load
from tests.helpers import GERMAN_FIT as FIT


def test_fit_figure_keeps_data_clear_and_labels_what_it_scores(german_laws):
    """The legend sits outside the axes; every prediction at an observed step is inside the y-limits (the worst
    held-out error is in view); transfers are labelled; a CPT panel zooms on the CPT phase; the title names the
    training-fit and the held-out scores; a tokens axis appears when tokens_per_step is known."""
    from cptlaw.plots import fit_figure

    runs = load("pilot-gpu-german")
    held = ["s_german_const1200_rewarm_cosine_r25", "s_german_wsd1200_rewarm_low_r25"]
    law = german_laws["loss:german"]  # CPTLaw().fit(runs, "loss:german", names=FIT, n_starts=8), made once
    fig = fit_figure(law, runs, FIT + held)
    ax_loss, ax_cpt = fig.axes[0], fig.axes[1]
    fig.canvas.draw()
    legend = ax_loss.get_legend().get_window_extent()
    assert legend.x0 >= ax_loss.get_window_extent().x1  # right of the axes: it covers no data
    lo, hi = ax_loss.get_ylim()
    for name in held:
        r = runs[name]
        idx, _ = r.observed("german")
        pred = law.predict(r, r.steps[idx])
        assert np.nanmax(pred) <= hi and np.nanmin(pred) >= lo
    labels = [t.get_text() for t in ax_loss.texts]
    assert {"transfer 300", "transfer 600", "transfer 1200"} <= set(labels)
    assert "CPT phase" in ax_cpt.get_ylabel() and ax_cpt.get_xlim()[0] < 300 < ax_cpt.get_xlim()[0] + 50
    title = ax_loss.get_title()
    assert "training fit: mean per-run R²" in title and "held-out PredE" in title and "2 runs, CPT rows" in title
    top = [c for c in ax_loss.get_children() if type(c).__name__ == "SecondaryAxis"]
    assert top and top[0].get_xlabel() == "tokens (millions)"  # the secondary (top) axis
