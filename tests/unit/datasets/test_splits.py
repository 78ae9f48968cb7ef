"""cptlaw.datasets.splits: every split names runs that the bundled datasets hold, fitted and held-out runs are
disjoint, and the benchmarks package runs by name."""

import pytest

from cptlaw.datasets import load, load_mpl
from cptlaw.datasets.splits import (MPL_SPLIT, Split, gpu_german_rest_split, gpu_german_split, pilot_split,
                                    regret_fit)


def _check(split: Split, runs):
    assert set(split.fit) <= set(runs.names) and set(split.held_out) <= set(runs.names)
    assert not set(split.fit) & set(split.held_out)


def test_mpl_split_is_the_papers():
    _check(MPL_SPLIT, load_mpl(25))
    assert len(MPL_SPLIT.fit) == 3 and len(MPL_SPLIT.held_out) == 6


@pytest.mark.parametrize("model", ["s", "m"])
@pytest.mark.parametrize("domain", ["code", "legal"])
def test_pilot_split(model, domain):
    runs = load("pilot-v1")
    split = pilot_split(model, domain).present(runs)
    _check(split, runs)
    assert split.held_out and split.fit[0] == f"{model}_pt_const"


@pytest.mark.parametrize("model", ["s", "m", "l"])
def test_gpu_german_splits(model):
    runs = load("pilot-gpu-german")
    demo = gpu_german_split(model).present(runs)
    rest = gpu_german_rest_split(model, runs.names)
    _check(demo, runs)
    _check(rest, runs)
    assert rest.fit == demo.fit and set(demo.held_out) <= set(rest.held_out)
    assert set(regret_fit(model, "r25")) <= set(runs.names)
    if model != "l":
        assert regret_fit(model, "r25") == demo.fit and set(regret_fit(model, "all")) <= set(runs.names)


def test_benchmarks_list_by_name(capsys):
    from benchmarks.__main__ import main

    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "pilot_fit " in out and "harness" not in out and "_cases" not in out
    assert main(["no_such_benchmark"]) == 2
