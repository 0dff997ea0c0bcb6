"""The kubeconfig boxk8s writes for itself, and merging its context into the user's.

Each cluster has its own context, cluster and user entries, named `boxk8s-<cluster name>`, so
clusters of several projects sit side by side in one kubeconfig and never replace each other's.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from boxk8s.tls import Credentials

NAME = "boxk8s"  # the entries' name when no cluster name is given
LOCK_SECONDS = 10.0  # how long a merge waits for another writer's lock before taking it as stale


def context_name(cluster: str) -> str:
    """The kubeconfig context (and cluster and user entries) of cluster `cluster`."""
    return f"{NAME}-{cluster}" if cluster else NAME


def render(server: str, creds: Credentials, name: str = NAME) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(creds.ca_pem).decode(),
        }}],
        "users": [{"name": name, "user": {"token": creds.token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def write(path: Path, config: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two clusters may write one file at once
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def default_user_path() -> Path:
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def plan_merge(existing: dict[str, Any] | None, ours: dict[str, Any], name: str = NAME) -> dict[str, Any]:
    """Replace our cluster, user and context entries; keep every other entry as it is."""
    merged: dict[str, Any] = dict(existing or {})
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    for section in ("clusters", "users", "contexts"):
        others = [e for e in (merged.get(section) or []) if e.get("name") != name]
        merged[section] = others + [e for e in ours[section] if e.get("name") == name]
    merged["current-context"] = name
    return merged


def plan_unmerge(existing: dict[str, Any], name: str) -> dict[str, Any]:
    """Remove our cluster, user and context entries (and the current context, if it was ours)."""
    left: dict[str, Any] = dict(existing)
    for section in ("clusters", "users", "contexts"):
        if section in left:
            left[section] = [e for e in (left.get(section) or []) if e.get("name") != name]
    if left.get("current-context") == name:
        left["current-context"] = ""
    return left


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """kubectl's own lock: `<path>.lock`, created exclusively, removed after; so a merge never
    interleaves with another cluster's, nor with `kubectl config`."""
    lock = path.with_name(path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            if time.monotonic() > deadline:  # left by a writer that died: take it over
                break
            time.sleep(0.01)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any] | None:
    existing = yaml.safe_load(path.read_text()) if path.exists() else None
    return existing if isinstance(existing, dict) else None


def merge_into(path: Path, ours: dict[str, Any]) -> None:
    name = ours["current-context"]
    with _locked(path):
        write(path, plan_merge(_read(path), ours, name))


def remove_from(path: Path, name: str) -> bool:
    """Take our entries out of the kubeconfig at `path`; False when it had none."""
    with _locked(path):
        existing = _read(path)
        if existing is None or not any(e.get("name") == name for e in existing.get("contexts") or []):
            return False
        write(path, plan_unmerge(existing, name))
        return True
