"""The package's structure, enforced: data flows one way (import-linter's layers contract in pyproject.toml: no
layer imports a layer above it, so there is no import cycle), and imports sit at module top, except those of
optional heavy libraries and the command line's per-command dispatch (which keep ``cptlaw --help`` instant)."""

import ast
import subprocess
import sys

import pytest

from tests.helpers import ROOT

SRC = ROOT / "src" / "cptlaw"
# imported only where used: optional extras and the heavy libraries they pull in; pyarrow, jinja2 and tqdm load
# only when a table is read, a report rendered or a bar drawn
LAZY = ("torch", "tensorboard", "mlflow", "wandb", "lightning", "transformers", "tokenizers", "matplotlib",
        "playwright", "google.protobuf", "pyarrow", "jinja2", "tqdm",
        "cptlaw.pilot.train")  # (the trainer imports torch; a sweep's plan and export need none)


def test_layers_contract_is_kept():
    pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[dev]')")
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in out.stdout


def _function_imports(path):
    """(line, absolute module names) of every import inside a function body of ``path``."""
    package = ["cptlaw", *path.relative_to(SRC).parent.parts]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    yield node.lineno, [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = package[:len(package) - node.level + 1] if node.level else []
                    yield node.lineno, [".".join(base + ([node.module] if node.module else []))]


def test_no_imports_inside_functions_but_optional_heavy_ones():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for line, names in _function_imports(path):
            if not all(n.startswith(LAZY) for n in names):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {', '.join(names)}")
    assert not bad, "imports inside function bodies:\n" + "\n".join(bad)


def test_help_imports_no_numerics():
    """``cptlaw --help`` builds the parser only: numpy and scipy are not imported."""
    code = "import sys, cptlaw.cli.args as a; a.build_parser(); print('numpy' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"], out.stderr
