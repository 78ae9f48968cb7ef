"""The README's two set-up promises: ``cptlaw demo`` writes its outputs (and never over an earlier run's without
--force), and the README's Python example runs as written on the files the demo wrote."""

from cptlaw.cli import main
from tests.helpers import ROOT


def test_demo_quick_then_readme_python_example(tmp_path, capsys, monkeypatch):
    demo = tmp_path / "cptlaw-demo"
    assert main(["demo", "--out", str(demo), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "held-out mean" in out and "pilot-v1" in out
    assert (demo / "fit_annealing.png").exists() and (demo / "fit_mpl.json").exists()
    assert (demo / "fit_cpt_code.png").exists() and (demo / "pilot_code.csv").exists()
    assert main(["demo", "--out", str(demo), "--quick"]) == 2  # no silent overwrite
    readme = (ROOT / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "fit_code.json").exists()
