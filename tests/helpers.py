"""Plain helpers shared by test modules: ``from tests.helpers import ...`` (fixtures live in conftest.py).

``tests`` is a package (every test folder has an ``__init__.py``), so pytest puts the repository root on
``sys.path`` and this module imports without any ``sys.path`` edit of our own."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
INGEST = FIXTURES / "ingest"

# The bundled pilot-gpu-german runs that most CLI, plan, report and watch tests fit (model s, German, replay 0.25),
# and the held-out run of the same grid.
GERMAN_FIT = ["s_pt_const", "s_pt_wsd", "s_german_const600_constant_r25", "s_german_const600_cosine_r25",
              "s_german_const300_cosine_r25"]
GERMAN_HELD = "s_german_const600_wsd_r25"

# Optional extras: the module each needs, and the pip extra that brings it.
EXTRAS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb", "lightning": "lightning",
          "torch": "pilot", "tokenizers": "pilot", "transformers": "hf", "playwright": "dev", "hypothesis": "dev", "accelerate": "dev"}


def _missing(modules):
    return [m for m in modules if importlib.util.find_spec(m) is None]


def needs(*modules):
    """A skip marker for tests of an optional extra: skipped, saying what to install, where a module is absent.

    Usage: ``@needs("tensorboard")`` on a test, or ``pytest.param(..., marks=needs("wandb"))`` on one case.
    Only looks the modules up (``find_spec``), so collecting tests never imports torch and friends."""
    missing = _missing(modules)
    extras = sorted({EXTRAS.get(m, m) for m in missing})
    reason = f"optional {', '.join(missing)} not installed (pip install 'cptlaw[{','.join(extras)}]')"
    return pytest.mark.skipif(bool(missing), reason=reason)


def check_jacobian(law, design, theta, rtol=2e-5, atol=1e-8):
    """The analytic Jacobian against central finite differences, column by column."""
    J = law.jacobian(theta, design)
    assert J.shape == (design.n, theta.size)
    for j in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        fd = (law.value(up, design) - law.value(dn, design)) / (2 * h)
        np.testing.assert_allclose(J[:, j], fd, rtol=rtol, atol=atol, err_msg=law.param_names[j])


# ---- reference implementations, literal and slow ----------------------------------------------------------

def naive_s2(lr, lam, reset_at=None):
    """Tissue et al. Eq. 5 as the literal double sum, O(n^2)."""
    n = len(lr)
    eta_prev = np.r_[lr[0], lr[:-1]]
    drop = eta_prev - lr
    s2 = np.zeros(n)
    total = 0.0
    for i in range(n):
        k0 = 0 if reset_at is None or i < reset_at else reset_at
        total += sum(drop[k] * lam ** (i - k) for k in range(k0, i + 1))
        s2[i] = total
    return s2


def naive_ld(lr, t, B, C, beta, gamma):
    total = 0.0
    for k in range(1, t + 1):
        s = lr[k:t + 1].sum()
        total += (lr[k - 1] - lr[k]) * (1 - (C * lr[k] ** (-gamma) * s + 1) ** (-beta)) if lr[k] > 1e-10 else (lr[k - 1] - lr[k])
    return B * total
