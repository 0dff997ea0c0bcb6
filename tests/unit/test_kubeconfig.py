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


def test_two_clusters_keep_each_others_entries(tmp_path: Path) -> None:
    creds_a, creds_b = ensure_credentials(tmp_path / "a"), ensure_credentials(tmp_path / "b")
    a, b = kubeconfig.context_name("shop-1a2b3c"), kubeconfig.context_name("blog-4d5e6f")
    assert (a, b) == ("boxk8s-shop-1a2b3c", "boxk8s-blog-4d5e6f")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "prod",
                                    "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
                                    "clusters": [{"name": "prod", "cluster": {"server": "https://prod"}}],
                                    "users": [{"name": "prod", "user": {"token": "p"}}]}))
    kubeconfig.merge_into(path, kubeconfig.render("https://127.0.0.1:6443", creds_a, a))
    kubeconfig.merge_into(path, kubeconfig.render("https://127.0.0.1:6444", creds_b, b))
    kubeconfig.merge_into(path, kubeconfig.render("https://127.0.0.1:6445", creds_a, a))  # a restarts elsewhere
    merged = yaml.safe_load(path.read_text())
    assert merged["current-context"] == a
    servers = {c["name"]: c["cluster"]["server"] for c in merged["clusters"]}
    assert servers == {"prod": "https://prod", a: "https://127.0.0.1:6445", b: "https://127.0.0.1:6444"}
    assert {c["name"]: c["context"] for c in merged["contexts"]} == {
        "prod": {"cluster": "prod", "user": "prod"}, a: {"cluster": a, "user": a}, b: {"cluster": b, "user": b}}
    tokens = {u["name"]: u["user"]["token"] for u in merged["users"]}
    assert tokens == {"prod": "p", a: creds_a.token, b: creds_b.token}
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob(".*.tmp"))

    assert kubeconfig.remove_from(path, a)  # `boxk8s down --purge` of a
    left = yaml.safe_load(path.read_text())
    assert {c["name"] for c in left["contexts"]} == {"prod", b}
    assert {c["name"] for c in left["clusters"]} == {"prod", b} and {u["name"] for u in left["users"]} == {"prod", b}
    assert left["current-context"] == ""  # it was a's
    assert not kubeconfig.remove_from(path, a)


def test_merges_from_several_processes_at_once_lose_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "config"
    code = ("import sys; from pathlib import Path; from boxk8s import kubeconfig; from boxk8s.tls import ensure_credentials; "
            "n = sys.argv[1]; c = ensure_credentials(Path(sys.argv[2]) / n); "
            "[kubeconfig.merge_into(Path(sys.argv[2]) / 'config', kubeconfig.render('https://x', c, 'boxk8s-' + n)) "
            "for _ in range(20)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, f"c{i}", str(tmp_path)]) for i in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    merged = yaml.safe_load(path.read_text())
    assert {c["name"] for c in merged["contexts"]} == {f"boxk8s-c{i}" for i in range(4)}
