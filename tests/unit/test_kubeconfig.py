from __future__ import annotations

import ssl
from pathlib import Path

import yaml

from boxk8s import kubeconfig
from boxk8s.tls import ensure_credentials


def test_merge_keeps_other_contexts_and_replaces_ours(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path / "state")
    existing = {
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod"}},
                     {"name": "boxk8s", "cluster": {"server": "https://old"}}],
        "users": [{"name": "prod", "user": {"token": "p"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(existing))
    kubeconfig.merge_into(path, kubeconfig.render("https://127.0.0.1:7000", creds))
    merged = yaml.safe_load(path.read_text())
    assert merged["current-context"] == "boxk8s"
    clusters = {c["name"]: c["cluster"]["server"] for c in merged["clusters"]}
    assert clusters == {"prod": "https://prod", "boxk8s": "https://127.0.0.1:7000"}
    assert {u["name"] for u in merged["users"]} == {"prod", "boxk8s"}
    assert {c["name"] for c in merged["contexts"]} == {"prod", "boxk8s"}


def test_credentials_are_stable_and_verify(tmp_path: Path) -> None:
    first = ensure_credentials(tmp_path)
    second = ensure_credentials(tmp_path)
    assert first.token == second.token and first.ca_pem == second.ca_pem
    assert (tmp_path / "pki" / "ca.key").stat().st_mode & 0o777 == 0o600
    server = first.server_ssl_context()
    client = first.client_ssl_context()
    assert isinstance(server, ssl.SSLContext) and client.verify_mode == ssl.CERT_REQUIRED
