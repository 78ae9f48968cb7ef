"""`cptlaw report`: one self-contained HTML page, escaped, rendered by a real headless browser.

The browser test drives Debian's Chromium (/usr/bin/chromium, package ``chromium``) with Playwright; it is
skipped, saying why, where either is missing."""

import json
import shutil

import pytest

from cptlaw.cli import main
from cptlaw.data import RunSet, write_runs
from cptlaw.datasets import load
from tests.helpers import GERMAN_FIT as FIT, GERMAN_HELD as HELD

EVIL = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Bundled data with one fitted run renamed to a script tag; two fits, a plan, and the report."""
    d = tmp_path_factory.mktemp("report")
    runs = load("pilot-gpu-german")
    chosen = [runs[n] for n in FIT + [HELD]]
    chosen[2].name = EVIL  # a user's run name is data, never markup
    write_runs(RunSet(chosen), d / "data.csv")
    names = ",".join([EVIL if n == FIT[2] else n for n in FIT])
    for target, out in (("loss:general", "g.json"), ("loss:german", "d.json")):
        assert main(["fit", str(d / "data.csv"), "--law", "cpt", "--target", target, "--runs", names,
                     "--n-starts", "4", "--out", str(d / out)]) == 0  # the page, not the fit, is tested
    (d / "space.yaml").write_text(
        "pt: {schedules: {const: {kind: warmup, steps: 100, schedule: {kind: constant, lr: 2.0e-3}}}, transfer: [300, 600]}\n"
        "cpt: {family: [constant, cosine], peak_lr: [2.0e-3], steps: [1000]}\nobjective: {lambda1: [0.2, 0.8]}\n")
    assert main(["plan", str(d / "space.yaml"), "--general", str(d / "g.json"), "--domain", str(d / "d.json"),
                 "--out", str(d / "plan")]) == 0
    assert main(["report", str(d / "g.json"), str(d / "d.json"), "--data", str(d / "data.csv"), "--heldout", HELD,
                 "--plan", str(d / "plan" / "plan.json"), "--out", str(d / "report.html")]) == 0
    return d


def test_report_is_self_contained_and_escapes_user_strings(made):
    html = (made / "report.html").read_text()
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()  # the page has no script of its own
    assert "http://" not in html and "https://" not in html  # nothing to fetch: offline
    assert html.count("data:image/png;base64,") == 3  # two fits' curves and the plan's front, inline
    for section in ("Fit 1: the cpt law on loss:general", "Fit 2: the cpt law on loss:german", "The plan",
                    "training fit", "held-out", HELD, "data hash", "Diagnostics"):
        assert section in html, section
    g = json.loads((made / "g.json").read_text())
    assert f"{g['params']['L0']:.4g}" in html  # the equation carries the fitted numbers


def test_bad_input_exits_2(made, tmp_path, cli_error):
    (tmp_path / "bad.json").write_text("{not json")
    base = ["--data", str(made / "data.csv"), "--out", str(tmp_path / "r.html")]
    assert "not a JSON fit file" in cli_error(["report", str(tmp_path / "bad.json"), *base])
    other = json.loads((made / "plan" / "plan.json").read_text())
    for fit in other["fits"].values():
        fit["target"] = "loss:math"
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert "none of the reported fits is" in cli_error(["report", str(made / "g.json"), "--plan", str(tmp_path / "other.json"), *base])
    assert "no run named nope" in cli_error(["report", str(made / "g.json"), "--heldout", "nope", *base])
    assert "exists; use --force" in cli_error(["report", str(made / "g.json"), "--data", str(made / "data.csv"),
                                           "--out", str(made / "report.html")])
    assert not (tmp_path / "r.html").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
def test_report_renders_in_a_headless_browser(made):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import matplotlib.image

    errors, dialogs = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((made / "report.html").as_uri())
        text = page.inner_text("body")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        page.goto((made / "report.html").as_uri() + "#fit-1")
        page.screenshot(path=str(made / "shot.png"))
        browser.close()
    assert errors == [] and dialogs == []
    assert EVIL in text  # shown as text, not run
    assert len(images) == 3 and all(w > 100 for w in images)  # every inline figure decoded
    shot = matplotlib.image.imread(made / "shot.png")[..., :3]
    assert shot.std() > 0.05 and (shot.mean(axis=2) < 0.5).mean() > 0.01  # not blank: real ink on the page
