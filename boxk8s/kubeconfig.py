"""The kubeconfig boxk8s writes for itself, and merging its context into the user's."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from boxk8s.tls import Credentials

NAME = "boxk8s"


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
    tmp = path.with_suffix(path.suffix + ".tmp")
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


def merge_into(path: Path, ours: dict[str, Any]) -> None:
    existing = yaml.safe_load(path.read_text()) if path.exists() else None
    write(path, plan_merge(existing if isinstance(existing, dict) else None, ours))
