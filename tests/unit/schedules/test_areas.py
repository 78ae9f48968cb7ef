import numpy as np
import pytest

from cptlaw.schedules import (AreaOptions, Constant, Continual, Cosine, Cyclic, Warmup, WSD, compute_areas,
                              detect_warmup, loss_drop)
from tests.helpers import naive_s2


literal = AreaOptions(lam=0.9, warmup="literal")


def test_momentum_reset_matches_naive_restarted_sum():
    lr = Continual(Cosine(1e-3, 50, 1e-4), Cosine(5e-4, 50), 50, rewarmup_steps=10).dense(100)
    carry = compute_areas(lr, literal, transfer=50)
    reset = compute_areas(lr, AreaOptions(lam=0.9, warmup="literal", momentum="reset"), transfer=50)
    np.testing.assert_allclose(reset.s2, naive_s2(lr, 0.9, reset_at=50), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(reset.s2_pt, carry.s2_pt)  # PT part unchanged
    assert not np.allclose(reset.s2_cpt, carry.s2_cpt)  # the CPT part does change


@pytest.mark.parametrize("sched", [Warmup(Cyclic(1e-3, 30, 1e-4, "triangle"), 10),
                                   Continual(Warmup(WSD(2e-4, 190, 40), 10), Cosine(2e-4, 100), 200,
                                             rewarmup_steps=20, rewarmup_from="zero")],
                         ids=["cyclic", "rewarmup"])
def test_rewarmup_and_cyclic_against_naive(sched):
    lr = sched.dense(300)
    a = compute_areas(lr, AreaOptions(lam=0.99, warmup="literal"), transfer=sched.transfer_step)
    np.testing.assert_allclose(a.s2, naive_s2(lr, 0.99), rtol=1e-9, atol=1e-15)
    assert a.s2.min() < 0  # re-warmups make S2 negative (Tissue et al. §3.2)


def test_constant_lr_gives_zero_s2():
    a = compute_areas(Constant(3e-4).dense(1000))
    assert np.all(a.s2 == 0.0)
    assert a.s1[-1] == pytest.approx(0.3)


def test_laws_md_toy_fixture():
    """laws.md §6: eta = [1, 1, 0.5, 0.5, 0], lambda = 0.5."""
    a = compute_areas(np.array([1, 1, 0.5, 0.5, 0]), AreaOptions(lam=0.5, warmup="literal"))
    np.testing.assert_allclose(a.s1, [1, 2, 2.5, 3, 3])
    np.testing.assert_allclose(a.s2, [0, 0, 0.5, 0.75, 1.375])
    assert 2 + 1 * a.s1[-1] ** -0.5 - 0.1 * a.s2[-1] == pytest.approx(2.43985027, abs=1e-8)


def test_warmup_as_peak_and_detection():
    lr = Warmup(Cosine(2e-4, 19500, 0.0), 500).dense(20000)
    assert detect_warmup(lr) == 500
    a = compute_areas(lr)  # as_peak: warmup counts as 2e-4, adds nothing to S2
    assert a.s1[-1] == pytest.approx(2.0501, abs=1e-4)
    assert a.s2[-1] == pytest.approx(0.19747, abs=1e-5)
    assert a.s2[499] == 0.0
    lit = compute_areas(lr, AreaOptions(warmup="literal"))
    assert lit.s1[-1] == pytest.approx(a.s1[-1] - 500 * 2e-4 + lr[:500].sum(), rel=1e-12)


def test_cpt_rewarmup_is_never_flattened():
    sched = Continual(Warmup(Constant(2e-4), 100), Constant(2e-4), 1000, rewarmup_steps=100)
    a = compute_areas(sched.dense(2000), transfer=1000)
    assert a.lr[0] == 2e-4 and a.lr[1000] == 0.0  # PT warmup flattened, CPT re-warmup literal
    # re-warming from the PT's annealed final LR gives a negative CPT annealing area (loss goes up)
    sched = Continual(Warmup(WSD(2e-4, 900, 300, floor=2e-5), 100), Constant(2e-4), 1000, rewarmup_steps=100,
                      rewarmup_from="pt_final")
    a = compute_areas(sched.dense(2000), transfer=1000)
    assert a.s2_pt[-1] > 0 and a.s2_cpt[-1] < 0


def test_exclusive_lr_index_shifts_by_one_step():
    lr = Cosine(1e-3, 100).dense(100)
    inc = compute_areas(lr, literal)
    exc = compute_areas(lr, AreaOptions(lam=0.9, warmup="literal", lr_index="exclusive"))
    np.testing.assert_allclose(exc.s1[1:], inc.s1[:-1])
    assert exc.s1[0] == 0.0


def test_mpl_toy_fixture():
    """laws.md §6: eta_0 = 1, post-warmup eta = [0.5, 0.5]; (B, C, beta, gamma) = (1, 2, 0.7, 0.4)."""
    lr = np.array([1.0, 0.5, 0.5])
    ld = loss_drop(lr, np.array([1, 2]), B=1, C=2, beta=0.7, gamma=0.4)
    np.testing.assert_allclose(ld, [0.22254478, 0.29756703], atol=1e-8)
    s1 = np.cumsum(lr[1:])  # S1(t) = sum_{tau=1..t}, S_W = 0
    np.testing.assert_allclose(2 + s1 ** -0.5 - ld, [3.19166878, 2.70243297], atol=1e-8)


def test_loss_drop_blocks_close_to_exact():
    lr = Warmup(Cosine(3e-4, 21840, 3e-5), 2160, endpoint=True).dense(24000)
    at = np.arange(2160, 24000, 128)
    p = dict(B=523.4, C=2.02, beta=0.59, gamma=0.63)
    exact = loss_drop(lr, at, **p)
    approx = loss_drop(lr, at, **p, max_points=1024)
    assert np.max(np.abs(exact - approx)) < 1e-4


def test_loss_drop_flat_cells_match_row_chunks_and_reuse_is_safe():
    """The fit's path (cells stored flat, last parameters' cells reused for the Jacobian) against the row-chunk
    path, on a WSD with evaluation steps before any LR change, repeated, and unsorted."""
    from cptlaw.schedules.areas import _LDTerms

    lr = Warmup(WSD(3e-4, 3000, 900, 3e-5), 100).dense(3101)
    at = np.array([0, 5, 50, 2500, 2500, 3100, 2900, 150])
    flat, rows = _LDTerms(lr, None, at), _LDTerms(lr, None, at, max_cells=0)
    assert flat._cells is not None and rows._cells is None
    for p in [(2.0, 0.6, 0.5), (2.0, 0.6, 0.5), (0.3, 0.2, 0.9), (2.0, 0.6, 0.5)]:
        for jac in (False, True, False):
            a, b = flat.evaluate(at, 7.0, *p, jac=jac), rows.evaluate(at, 7.0, *p, jac=jac)
            for x, y in zip(a if jac else [a], b if jac else [b]):
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)
    coarse = flat.coarse(16, at)
    assert coarse.k.size <= rows.k.size
    exact = rows.evaluate(at, 7.0, 2.0, 0.6, 0.5)
    np.testing.assert_allclose(coarse.evaluate(at, 7.0, 2.0, 0.6, 0.5), exact, atol=0.01 * np.abs(exact).max())
