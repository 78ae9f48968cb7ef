import math

import numpy as np
import pytest
import yaml

from cptlaw.datasets import MPL_SIZES, load_mpl
from cptlaw.errors import SpecError
from cptlaw.schedules import (WSD, Constant, Continual, Cosine, Cyclic, FromArray, Join, Linear, MultiStep, Warmup,
                              from_spec, to_spec)


def test_constant_linear_cosine_boundaries():
    assert Constant(3e-4)(np.arange(5)).tolist() == [3e-4] * 5
    lin = Linear(1.0, 0.0, 4)
    np.testing.assert_allclose(lin(np.arange(6)), [1, 0.75, 0.5, 0.25, 0, 0])
    cos = Cosine(1.0, 10, floor=0.1)
    assert cos(0) == pytest.approx(1.0)
    assert cos(5) == pytest.approx(0.55)
    assert cos(10) == pytest.approx(0.1) and cos(50) == pytest.approx(0.1)


@pytest.mark.parametrize("shape,mid", [("linear", 0.5), ("cosine", 0.5), ("1-sqrt", 1 - math.sqrt(0.5)),
                                       ("1-square", 0.75), ("exp", math.sqrt(1.0 * 0.01))])
def test_wsd_cooldown_shapes(shape, mid):
    floor = 0.01 if shape == "exp" else 0.0
    s = WSD(1.0, 100, 20, floor=floor, shape=shape)
    assert s(0) == 1.0 and s(79) == 1.0 and s(80) == pytest.approx(1.0)
    expected_mid = mid if shape == "exp" else floor + (1 - floor) * mid
    assert s(90) == pytest.approx(expected_mid)
    assert s(100) == pytest.approx(floor) and s(150) == pytest.approx(floor)


def test_multistep_and_cyclic():
    ms = MultiStep(1.0, [80, 90], [0.316, 0.1])  # 80/10/10
    np.testing.assert_allclose(ms([0, 79, 80, 89, 90, 99]), [1, 1, 0.316, 0.316, 0.1, 0.1])
    cyc = Cyclic(1.0, 10, floor=0.0, shape="cosine")
    np.testing.assert_allclose(cyc([0, 5, 10, 15]), [1, 0.5, 1, 0.5])
    tri = Cyclic(1.0, 10, floor=0.0, shape="triangle")
    np.testing.assert_allclose(tri([0, 5, 10]), [1, 0, 1])


def test_warmup_conventions():
    w = Warmup(Constant(1.0), 4)  # optax: peak first reached at step 4
    np.testing.assert_allclose(w(np.arange(6)), [0, 0.25, 0.5, 0.75, 1, 1])
    we = Warmup(Constant(1.0), 5, endpoint=True)  # numpy linspace(0, 1, 5), then the peak
    np.testing.assert_allclose(we(np.arange(6)), np.r_[np.linspace(0, 1, 5), 1])
    wc = Warmup(Cosine(1.0, 10), 2)
    assert wc(2) == pytest.approx(1.0) and wc(12) == pytest.approx(0.0)


def test_join_and_continual_rewarmup():
    j = Join((Constant(1.0), Linear(0.5, 0.0, 2)), (3,))
    np.testing.assert_allclose(j(np.arange(6)), [1, 1, 1, 0.5, 0.25, 0])
    pt = Cosine(1.0, 10, floor=0.2)
    c0 = Continual(pt, Constant(0.8), transfer=10, rewarmup_steps=4, rewarmup_from="zero")
    np.testing.assert_allclose(c0([9, 10, 12, 14, 20]), [pt(9), 0.0, 0.4, 0.8, 0.8])
    cf = Continual(pt, Constant(0.8), transfer=10, rewarmup_steps=4, rewarmup_from="pt_final")
    start = float(pt(9))
    assert cf(10) == pytest.approx(start) and cf(12) == pytest.approx(start + (0.8 - start) / 2)
    assert cf.transfer_step == 10 and pt.transfer_step is None


def test_from_array_range():
    a = FromArray([3.0, 2.0, 1.0], start=5)
    np.testing.assert_allclose(a([5, 7]), [3.0, 1.0])
    with pytest.raises(SpecError):
        a([4])
    with pytest.raises(SpecError):
        FromArray([1.0, -1.0])


ALL = [Constant(1e-3), Linear(1e-3, 0.0, 100), Cosine(1e-3, 100, 1e-5), WSD(1e-3, 100, 10, 0.0, "1-sqrt"),
       MultiStep(1e-3, [50, 80], [0.3, 0.1]), Cyclic(1e-3, 25, 1e-4, "triangle"), Warmup(Cosine(1e-3, 90), 10),
       Join((Constant(1e-3), Cosine(1e-3, 50)), (50,)), FromArray([1e-3, 5e-4, 1e-4]),
       Continual(Warmup(Constant(2e-4), 10), Cosine(2e-4, 50), 60, rewarmup_steps=5, rewarmup_from="pt_final")]


@pytest.mark.parametrize("sched", ALL, ids=lambda s: s.kind)
def test_spec_roundtrip_through_yaml(sched):
    spec = yaml.safe_load(yaml.safe_dump(to_spec(sched)))
    again = from_spec(spec)
    steps = np.arange(3 if sched.kind == "array" else 130)
    np.testing.assert_array_equal(again(steps), sched(steps))
    assert to_spec(again) == to_spec(sched)


def test_spec_errors_name_the_key():
    with pytest.raises(SpecError, match="unknown key 'peek'.*valid keys: peak, steps, floor"):
        from_spec({"kind": "cosine", "peek": 1e-3, "steps": 10})
    with pytest.raises(SpecError, match="unknown schedule kind 'cosin'"):
        from_spec({"kind": "cosin"})
    with pytest.raises(SpecError, match="missing required key"):
        from_spec({"kind": "cosine", "peak": 1e-3})
    with pytest.raises(SpecError, match=r"schedule\.pt: unknown key 'lrr'"):
        from_spec({"kind": "continual", "transfer": 5, "pt": {"kind": "constant", "lrr": 1}, "cpt": {"kind": "constant", "lr": 1}},
                  "schedule")
    with pytest.raises(SpecError, match="decay shape"):
        from_spec({"kind": "wsd", "peak": 1, "steps": 10, "decay_steps": 2, "shape": "sqrt"})


@pytest.mark.parametrize("size", MPL_SIZES)
def test_mpl_schedules_reproduce_logged_lr(size):
    for run in load_mpl(size):
        steps, logged = run.logged_lr
        np.testing.assert_allclose(run.lr[steps], logged, rtol=1e-12, err_msg=run.name)
