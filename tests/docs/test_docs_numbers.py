"""The accuracy numbers in the documentation are the ones the code produces now.

`cptlaw demo` is run (its default fit) and every metric line of the README's demo block, the rows of
docs/accuracy-pilot.md for the same fits (pilot-gpu-german model m, German; pilot-v1 model m, code), and the 400M
rows of docs/accuracy-mpl.md must match it within a stated
tolerance: R² within 0.01 (1% of |R²| when it exceeds 1), PredE and WorstE within 2% of their value plus 0.005
percentage points.  The fit is deterministic and seed-independent, so the tolerance only absorbs floating-point
differences between machines (BLAS, numpy versions); a change of method or data moves these numbers far more.
"""

import re

import pytest

from cptlaw.demo import run_demo
from tests.helpers import ROOT
LINE = re.compile(r"^\s+(\S+(?: mean)?)\s+R2 (-?[\d.]+)\s+PredE ([\d.]+)%\s+WorstE ([\d.]+)%")
SECTION = re.compile(r"^\s+(loss:\w+|annealing law|mpl law)")
PART = re.compile(r"^\[(\d)/\d\]")


def parse(text: str) -> dict:
    """(part, section, run) -> (R², PredE, WorstE) of every metric line of the demo's output."""
    out, part, section = {}, None, None
    for line in text.splitlines():
        m = PART.match(line)
        if m:
            part, section = m.group(1), None
            continue
        m = SECTION.match(line)
        if m:
            section = (part, m.group(1))
            continue
        m = LINE.match(line)
        if m and section:
            out[(*section, m.group(1))] = tuple(float(v) for v in m.groups()[1:])
    return out


def close(doc, now):
    r2d, pd, wd = doc
    r2n, pn, wn = now
    return (abs(r2d - r2n) <= max(0.01, 0.01 * abs(r2n)) and abs(pd - pn) <= 0.02 * pn + 0.005
            and abs(wd - wn) <= 0.02 * wn + 0.005)


@pytest.fixture(scope="module")
def demo_text(tmp_path_factory):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run_demo(tmp_path_factory.mktemp("demo") / "out")
    return buf.getvalue()


@pytest.fixture(scope="module")
def demo(demo_text):
    return parse(demo_text)


def test_readme_demo_block_is_what_the_demo_prints(demo):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("checked by `tests/docs/test_docs_numbers.py`", 1)[1].split("```", 2)[1]
    documented = parse(block)
    assert len(documented) >= 20
    for key, values in documented.items():
        assert key in demo, key
        assert close(values, demo[key]), (key, values, demo[key])


@pytest.mark.parametrize("part, section, model, domain, n", [("1", "## pilot-gpu-german (", "m", "german", 12),
                                                             ("2", "## pilot-v1 (", "m", "code", 8)])
def test_pilot_accuracy_doc_matches_the_demo_fits(demo, part, section, model, domain, n):
    text = (ROOT / "docs/accuracy-pilot.md").read_text().split(section, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(rf"^\| {model} \| {domain} \| (loss:\w+) \| [-\d.]+ \| (\S+) \| (-?[\d.]+) \| ([\d.]+)% \| "
                      rf"([\d.]+)% \|$", text, flags=re.M)
    assert len(rows) == n
    for target, run, r2, pred, worst in rows:
        assert close((float(r2), float(pred), float(worst)), demo[(part, target, run)]), (target, run)


def test_demo_plans_and_scores_the_plan_against_real_runs(demo_text):
    """Part 1 ends with a plan per lambda1 and the regret of the planner's pick among the real runs, which is
    docs/regret.md's row for the same fits (model m, the replay-0.25 grid)."""
    part1 = demo_text.split("[2/3]")[0]
    doc = (ROOT / "docs/regret.md").read_text().split("## With a realistic PT")[0]
    for l1 in ("0.2", "0.5", "0.8"):
        assert re.search(rf"^  lambda1={l1}: from (const|wsd)@\d+ .* -> general [\d.]+ .* domain [\d.]+", part1, re.M)
        m = re.search(rf"^  lambda1={l1}: pick m_german_(\S+) \(rank (\d+) of (\d+)\), regret ([\d.]+)%", part1, re.M)
        row = re.search(rf"^\| m \| r25 \| default \| {l1} \| \d+ / (\d+) \(\d+\) \| (\S+) \| (\d+) \| ([\d.]+)% \|", doc, re.M)
        assert m and row, l1
        assert (m.group(1), m.group(2), m.group(3)) == (row.group(2), row.group(3), row.group(1)), l1
        assert abs(float(m.group(4)) - float(row.group(4))) <= 0.01 + 0.02 * float(row.group(4)), l1


def test_mpl_accuracy_doc_matches_the_demo_fits(demo):
    text = (ROOT / "docs/accuracy-mpl.md").read_text()
    for law in ("annealing", "mpl"):
        m = re.search(rf"^\| 400M \| {law} \| [\d.]+ \| ([\d.]+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \| ([\d.]+) \|", text,
                      flags=re.M)
        r2, pred, worst = demo[("3", f"{law} law", "held-out mean")]
        assert abs(float(m.group(1)) - r2) <= 0.0001 + 1e-9  # 4 decimals in the doc
        assert abs(100 * float(m.group(2)) - pred) <= 0.01 + 0.02 * pred
        assert abs(100 * float(m.group(3)) - worst) <= 0.01 + 0.02 * worst
