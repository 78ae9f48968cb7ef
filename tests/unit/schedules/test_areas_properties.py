"""Property tests of the areas (S1, S2) and of the MPL loss drop against the literal double sums, on random LR
lists drawn by hypothesis (a dev extra: skipped, saying so, without it)."""

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="optional hypothesis not installed (pip install 'cptlaw[dev]')")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cptlaw.laws._loss_drop import loss_drop  # noqa: E402
from cptlaw.schedules import AreaOptions, compute_areas  # noqa: E402
from tests.helpers import naive_ld, naive_s2  # noqa: E402

literal = AreaOptions(lam=0.9, warmup="literal")


lr_lists = st.lists(st.floats(0.0, 1e-3, allow_nan=False), min_size=2, max_size=60)


@settings(max_examples=60, deadline=None)
@given(lr_lists, st.floats(0.0, 0.999))
def test_s1_s2_match_naive_double_sum(lr, lam):
    lr = np.asarray(lr)
    a = compute_areas(lr, AreaOptions(lam=lam, warmup="literal"))
    np.testing.assert_allclose(a.s1, np.cumsum(lr), rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(a.s2, naive_s2(lr, lam), rtol=1e-9, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(lr_lists, st.integers(1, 59))
def test_pt_cpt_split_sums_to_whole_and_s1_monotone(lr, transfer):
    lr = np.asarray(lr)
    transfer = min(transfer, len(lr) - 1)
    a = compute_areas(lr, literal, transfer=transfer)
    np.testing.assert_allclose(a.s1_pt + a.s1_cpt, a.s1, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(a.s2_pt + a.s2_cpt, a.s2, rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(a.s1) >= 0)
    assert np.all(a.s1_cpt[:transfer] == 0) and np.all(a.s2_cpt[:transfer] == 0)


@settings(max_examples=40, deadline=None)
@given(lr_lists)
def test_non_increasing_schedule_has_non_negative_s2(lr):
    lr = np.sort(np.asarray(lr))[::-1]
    assert np.all(compute_areas(lr, literal).s2 >= -1e-15)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1e-3), min_size=3, max_size=40), st.floats(0.1, 5), st.floats(0.05, 0.95),
       st.floats(0.05, 0.95))
def test_loss_drop_vectorised_matches_loop_and_jacobian(lr, C, beta, gamma):
    lr = np.asarray(lr)
    at = np.arange(len(lr))
    ld, jac = loss_drop(lr, at, 300.0, C, beta, gamma, jac=True, max_cells=17)
    np.testing.assert_allclose(ld, [naive_ld(lr, t, 300.0, C, beta, gamma) for t in at], rtol=1e-9, atol=1e-12)
    for j, (dC, db, dg) in enumerate([(1e-6, 0, 0), (0, 1e-6, 0), (0, 0, 1e-6)]):
        hi = loss_drop(lr, at, 300.0, C + dC, beta + db, gamma + dg)
        lo = loss_drop(lr, at, 300.0, C - dC, beta - db, gamma - dg)
        fd = (hi - lo) / (2e-6)
        np.testing.assert_allclose(jac[:, j + 1], fd, rtol=1e-4, atol=1e-7)
