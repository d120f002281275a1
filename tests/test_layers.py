"""The layer rules of docs/architecture.md hold, and the check would catch a break of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the `vidlabel` package under `root` with `root`'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()", "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True)


def test_the_package_keeps_its_layer_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("review/stopping.py", "from ..simulation import metrics", "layers"),
    ("video/source.py", "from ..store import project", "layers"),
    ("store/project.py", "import PyQt6.QtCore", "Only the GUI imports Qt"),
])
def test_a_deliberate_violation_breaks_a_contract(tmp_path, module, line, contract):
    shutil.copytree(ROOT / "vidlabel", tmp_path / "vidlabel",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "vidlabel" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate violation\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "1 broken" in result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert (contract if contract != "layers" else "are layers") in broken
    assert f"vidlabel.{module.removesuffix('.py').replace('/', '.')}" in broken
