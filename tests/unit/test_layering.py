"""The layering contract (pyproject.toml) holds, and catches the imports it exists to forbid.

Each case copies the package beside the contract, adds one scratch module, and runs import-linter
on the copy: a contract that passed whatever the code did would prove nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LINT], cwd=tree, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "boxk8s", tmp_path / "boxk8s", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_every_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "line", "complaint"), [
    # siblings are independent: a controller does not reach into a kubelet...
    ("controllers/scratch.py", "from boxk8s.kubelet import agent",
     "boxk8s.controllers is not allowed to import boxk8s.kubelet"),
    # ... nor a kubelet into the API server
    ("kubelet/scratch.py", "from boxk8s.api import app", "boxk8s.kubelet is not allowed to import boxk8s.api"),
    # lower layers know nothing above them
    ("resources/scratch.py", "from boxk8s.client import Client", "boxk8s.resources is not allowed to import boxk8s.client"),
    ("store/scratch.py", "from boxk8s.resources import registry", "boxk8s.store is not allowed to import boxk8s.resources"),
    # the dev loop is a component like the others: no reaching into the API server or the supervisor...
    ("devloop/scratch.py", "from boxk8s.api import app", "boxk8s.devloop is not allowed to import boxk8s.api"),
    ("devloop/scratch.py", "from boxk8s.cluster import running",
     "boxk8s.devloop is not allowed to import boxk8s.cluster"),
    # ... nor past the client into the libraries under it
    ("devloop/scratch.py", "import aiohttp", "boxk8s.devloop is not allowed to import aiohttp"),
    # a new top-level package must be placed in the contract before it is used
    ("newthing/__init__.py", "", "boxk8s.newthing"),
    # a cycle between two modules of one package
    ("kubelet/plan.py", "from boxk8s.kubelet import status  # noqa", "No cycles are allowed in boxk8s.kubelet"),
])
def test_a_wrong_import_breaks_the_contract(tree: Path, module: str, line: str, complaint: str) -> None:
    target = tree / "boxk8s" / module
    target.parent.mkdir(parents=True, exist_ok=True)
    if module == "kubelet/plan.py":  # status imports plan today: plan importing status closes a cycle
        assert "boxk8s.kubelet.plan" in (tree / "boxk8s/kubelet/status.py").read_text()
        target.write_text(target.read_text() + f"\n{line}\n")
    else:
        target.write_text(f"{line}\n")
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert complaint in result.stdout, result.stdout
