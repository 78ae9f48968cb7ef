"""The multi-power law's loss drop (Luo et al. 2025, Eq. 2), laws/_loss_drop.py: the laws.md toy fixture, the
block approximation, and the fit's flat-cell path against the row chunks."""

import numpy as np

from cptlaw.laws._loss_drop import _LDTerms, loss_drop
from cptlaw.schedules import WSD, Cosine, Warmup


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
