"""The rows of docs/accuracy-dcpt-cross.md, docs/accuracy-ood.md and docs/accuracy-open-source.md are what their
benchmark scripts compute now (one case of each, recomputed; the tolerance only absorbs floating-point
differences between machines)."""

import re

import numpy as np
import pytest

from tests.helpers import ROOT


def test_leave_one_domain_out_row_is_what_the_doc_says():
    from benchmarks import dcpt_cross

    (r,) = dcpt_cross.experiment(domains=["loss:german"])
    doc = (ROOT / "docs" / "accuracy-dcpt-cross.md").read_text()
    m = re.search(r"^\| german \| .* \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \| "
                  r"([\d.]+)% \| \d+ \|$", doc, re.M)
    assert m
    doc_vals = [float(v) for v in m.groups()]
    np.testing.assert_allclose(doc_vals, [100 * r[k] for k in ("probe_share", "cross", "no_probe", "k1_only", "no_k",
                                                               "own")], rtol=0.02, atol=0.011)
    assert r["probe_share"] < 0.01  # the probe costs under 1% of the domain's runs


def test_bio_doc_rows_are_what_the_script_computes():
    from benchmarks import ood_fit

    (r,) = ood_fit.experiment(sizes=("s",))
    doc = (ROOT / "docs" / "accuracy-ood.md").read_text()
    m = re.search(r"^\| s \| (-?[\d.]+) \| (-?[\d.]+) \| [^|]+ \| ([\d.]+)% \| ([\d.]+)% \(", doc, re.M)
    assert m
    assert (float(m.group(1)), float(m.group(2))) == pytest.approx((r["l1"], r["l2"]), abs=0.002)
    assert float(m.group(4)) == pytest.approx(100 * r["held"]["pred_e"], rel=0.02, abs=0.01)


def test_docs_open_source_rows_are_what_the_script_computes():
    """docs/accuracy-open-source.md's wsd1200 rows at 50 %, recomputed (benchmarks/open_source_pt.py)."""
    from benchmarks import open_source_pt as bench

    rows = bench.experiment(cases=[c for c in bench.CASES if c[0] == "wsd1200"], fractions=(0.5,))
    doc = (ROOT / "docs" / "accuracy-open-source.md").read_text()
    for r in rows:
        m = re.search(rf"^\| wsd1200 \| s \| {r['target']} \| 50% \| {r['mode']} \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \|",
                      doc, re.M)
        assert m, (r["target"], r["mode"])
        got = [100 * r["fit_pred_e"], 100 * np.nanmean(r["rest"]), 100 * np.nanmean(r["other"])]
        np.testing.assert_allclose([float(x) for x in m.groups()], got, rtol=0.02, atol=0.011)
    unknown = [r for r in rows if r["mode"] == "unknown"]
    known = [r for r in rows if r["mode"] == "known"]
    assert all(np.nanmean(u["other"]) > 3 * np.nanmean(k["other"]) for u, k in zip(unknown, known))


def test_forms_doc_default_and_eq4_rows_are_what_the_laws_give():
    """docs/accuracy-forms.md's five-pilot row for pilot-gpu-german s, German loss: Eq. 4's and the default form's
    held-out PredE, recomputed (the page itself is cached per case by benchmarks/forms.py)."""
    from benchmarks.forms import heldout
    from cptlaw.datasets import load
    from cptlaw.datasets.splits import gpu_german_split
    from cptlaw.laws import CPTLaw
    from cptlaw.select import FORMS

    runs = load("pilot-gpu-german")
    split = gpu_german_split("s").present(runs)
    now = {label: heldout(law.fit(runs, "loss:german", names=list(split.fit)), runs, list(split.held_out),
                          "loss:german")["pred_e"]
           for label, law in (("eq4", CPTLaw(**FORMS["eq4"])), ("default", CPTLaw()))}
    doc = (ROOT / "docs" / "accuracy-forms.md").read_text()
    m = re.search(r"^\| pilot-gpu-german \| s \| loss:german \| sqrt\+fading\+w \| ([\d.]+)% \| [\d.]+% \| [\d.]+% \| "
                  r"([\d.]+)% \|", doc, re.M)
    assert m
    assert float(m.group(1)) == pytest.approx(100 * now["eq4"], rel=0.02, abs=0.01)
    assert float(m.group(2)) == pytest.approx(100 * now["default"], rel=0.02, abs=0.01)
    assert now["default"] < 0.7 * now["eq4"]  # the reason for the default


def test_replay_factor_page_is_its_cache_and_one_fold_is_recomputed():
    """docs/accuracy-replay.md is the table of benchmarks/results/replay_factor.json, and one fold of that cache
    (pilot-gpu-german s, the German loss, fitted on replay 0.1 and 0.5) is what the script computes now."""
    import json

    from benchmarks import replay_factor as bench

    results = json.loads(bench.CACHE.read_text())
    assert bench.table(results) in (ROOT / "docs" / "accuracy-replay.md").read_text()
    fold = next(f for f in bench.folds() if f[:5] == ("pilot-gpu-german", "s", "german", "loss:german", (0.1, 0.5)))
    for factor in bench.FACTORS:
        k, got = bench.run_fold((*fold, factor))
        for ratio, e in results[k]["held"].items():
            assert got["held"][ratio] == pytest.approx(e, rel=0.02, abs=2e-4), (k, ratio)


def test_dcpt_mixing_page_is_what_the_script_computes(shared_dir):
    """docs/accuracy-dcpt-mixing.md: the D-CPT law beside linear interpolation on the mixing-laws CPT runs,
    every fold recomputed (benchmarks/dcpt_mixing.py)."""
    from benchmarks import dcpt_mixing as bench

    got = [line.split("|")[1:-1] for line in bench.table(bench.experiment()).splitlines()[2:]]
    doc = (ROOT / "docs" / "accuracy-dcpt-mixing.md").read_text()
    want = [line.split("|")[1:-1] for line in doc.splitlines() if line.startswith("| python |")
            or line.startswith("| general |")]
    assert len(got) == len(want) == 6
    for g, w in zip(got, want):
        assert g[:3] == w[:3] and g[-1] == w[-1], (g, w)  # loss, shares, runs; which is better
        for a, b in zip(g[3:7], w[3:7]):
            assert float(a.strip(" %")) == pytest.approx(float(b.strip(" %")), rel=0.02, abs=0.002)


def test_dcpt_usages_page_is_what_the_script_computes():
    """docs/accuracy-dcpt-usages.md: the D-CPT ratio usage against the real replay sweeps, recomputed."""
    from benchmarks import dcpt_usages as bench

    rows = bench.experiment()
    doc = (ROOT / "docs" / "accuracy-dcpt-usages.md").read_text()
    number = re.compile(r"-?\d+\.?\d*")
    got = bench.table(rows) + "".join(bench.summary(rows, s) for s in ("fitted", "wide"))
    want = doc[doc.index("| domain |"):]
    assert number.sub("#", got.replace("\n", "")) in number.sub("#", want.replace("\n- ", "").replace("\n", ""))
    np.testing.assert_allclose([float(x) for x in number.findall(got)],
                               [float(x) for x in number.findall(want)][:len(number.findall(got))], rtol=0.02, atol=0.011)
