import numpy as np
import pytest

from cptlaw.schedules import AreaOptions, Constant, Continual, Cosine, Cyclic, Warmup, WSD, compute_areas, detect_warmup
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




def test_momentum_is_lfilter_bit_for_bit():
    """The banded solve does lfilter's arithmetic exactly (m_i = d_i - (-lam) m_{i-1}), reset or not."""
    from scipy.signal import lfilter

    from cptlaw.schedules.areas import lr_drops, momentum

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 5000):
        lr = np.abs(rng.normal(size=n)) * 1e-3
        d = lr_drops(lr)
        for lam in (0.0, 0.5, 0.999, 1.0):
            assert np.array_equal(momentum(lr, lam), lfilter([1.0], [1.0, -lam], d))
            if n > 2:
                k = n // 2
                want = np.r_[lfilter([1.0], [1.0, -lam], d[:k]), lfilter([1.0], [1.0, -lam], d[k:])]
                assert np.array_equal(momentum(lr, lam, reset_at=k), want)
