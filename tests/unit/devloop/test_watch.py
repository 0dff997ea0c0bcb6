"""What the dev loop watches, and which changes wake it (watchfiles' filter), as tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from watchfiles import Change

from boxk8s.client import Client
from boxk8s.devloop.watch import DevLoop


def devloop(*paths: Path) -> DevLoop:
    # the client is not used until `run`: no resource layer needed to ask what is watched
    return DevLoop(Client(None, "boxk8s"), list(paths), project_name="demo")  # type: ignore[arg-type]


@pytest.mark.parametrize(("changed", "wakes"), [
    ("manifests/app.yaml", True),
    ("manifests/sub/app.yml", True),
    ("manifests/app.json", True),
    ("manifests/sub", True),  # a folder created, removed or renamed
    ("manifests", True),  # the folder itself
    ("manifests/README.md", False),
    ("manifests/.app.yaml.swp", False),
    ("manifests/app.yaml~", False),
    ("manifests/#app.yaml#", False),
    ("manifests/.#app.yaml", False),
    ("manifests/4913", False),
    ("manifests/app.yaml.tmp", False),
    ("manifests/.git", False),
    ("manifests/.git/index", False),
    ("manifests/.git/x.yaml", False),
    ("manifests/.idea/x.yaml", False),
    ("src/main.py", False),  # the project beside the manifests
    ("state/boxk8s.db", False),
])
def test_which_changes_wake_the_loop(tmp_path: Path, changed: str, wakes: bool) -> None:
    loop = devloop(tmp_path / "manifests")
    assert loop._relevant(Change.modified, str(tmp_path / changed)) is wakes


def test_a_file_named_on_its_own_wakes_the_loop_whatever_its_name(tmp_path: Path) -> None:
    loop = devloop(tmp_path / "deploy.txt")
    assert loop._relevant(Change.added, str(tmp_path / "deploy.txt"))
    assert not loop._relevant(Change.added, str(tmp_path / "other.yaml"))


def test_the_roots_watched(tmp_path: Path) -> None:
    (tmp_path / "manifests" / "sub").mkdir(parents=True)
    (tmp_path / "one.yaml").write_text("")
    # a folder; a file's folder (a save by rename replaces the file); a missing path's nearest folder
    assert devloop(tmp_path / "manifests")._roots() == [tmp_path / "manifests"]
    assert devloop(tmp_path / "one.yaml")._roots() == [tmp_path]
    assert devloop(tmp_path / "missing" / "deeper")._roots() == [tmp_path]
    # nested roots are watched once, recursively from the outer one
    assert devloop(tmp_path / "manifests", tmp_path / "manifests" / "sub")._roots() == [tmp_path / "manifests"]
    assert devloop(tmp_path / "manifests", tmp_path / "one.yaml")._roots() == [tmp_path]
