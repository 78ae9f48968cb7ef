"""The accuracy numbers in the documentation are the ones the code produces now.

`cptlaw demo` is run (its default fit) and every metric line of the README's demo block, the pilot-v1 README
rows of the same fits (model m, code), and the 400M rows of docs/accuracy-mpl.md must match it within a stated
tolerance: R² within 0.01 (1% of |R²| when it exceeds 1), PredE and WorstE within 2% of their value plus 0.005
percentage points.  The fit is deterministic and seed-independent, so the tolerance only absorbs floating-point
differences between machines (BLAS, numpy versions); a change of method or data moves these numbers far more.
"""

import re
from pathlib import Path

import pytest

from cptlaw.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s+(\S+(?: mean)?)\s+R2 (-?[\d.]+)\s+PredE ([\d.]+)%\s+WorstE ([\d.]+)%")
SECTION = re.compile(r"^\s+(loss:\w+|annealing law|mpl law)")


def parse(text: str) -> dict:
    out, section = {}, None
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            section = m.group(1)
            continue
        m = LINE.match(line)
        if m and section:
            out[(section, m.group(1))] = tuple(float(v) for v in m.groups()[1:])
    return out


def close(doc, now):
    r2d, pd, wd = doc
    r2n, pn, wn = now
    return (abs(r2d - r2n) <= max(0.01, 0.01 * abs(r2n)) and abs(pd - pn) <= 0.02 * pn + 0.005
            and abs(wd - wn) <= 0.02 * wn + 0.005)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run_demo(tmp_path_factory.mktemp("demo") / "out")
    return parse(buf.getvalue())


def test_readme_demo_block_is_what_the_demo_prints(demo):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("checked by `tests/test_docs_numbers.py`", 1)[1].split("```", 2)[1]
    documented = parse(block)
    assert len(documented) >= 20
    for key, values in documented.items():
        assert key in demo, key
        assert close(values, demo[key]), (key, values, demo[key])


def test_pilot_v1_readme_table_matches_the_demo_fits(demo):
    text = (ROOT / "src/cptlaw/datasets/pilot-v1/README.md").read_text()
    rows = re.findall(r"^\| m \| code \| (loss:\w+) \| [-\d.]+ \| (\S+) \| (-?[\d.]+) \| ([\d.]+)% \| ([\d.]+)% \|$",
                      text, flags=re.M)
    assert len(rows) == 8
    for target, run, r2, pred, worst in rows:
        assert close((float(r2), float(pred), float(worst)), demo[(target, run)]), (target, run)


def test_mpl_accuracy_doc_matches_the_demo_fits(demo):
    text = (ROOT / "docs/accuracy-mpl.md").read_text()
    for law in ("annealing", "mpl"):
        m = re.search(rf"^\| 400M \| {law} \| [\d.]+ \| ([\d.]+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \| ([\d.]+) \|", text,
                      flags=re.M)
        r2, pred, worst = demo[(f"{law} law", "held-out mean")]
        assert abs(float(m.group(1)) - r2) <= 0.0001 + 1e-9  # 4 decimals in the doc
        assert abs(100 * float(m.group(2)) - pred) <= 0.01 + 0.02 * pred
        assert abs(100 * float(m.group(3)) - worst) <= 0.01 + 0.02 * worst
