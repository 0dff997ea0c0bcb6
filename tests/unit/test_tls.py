"""The cluster's PKI in its state folder: the API certificate's names, reissued when one is missing,
and the ServiceAccount signing key, kept."""

from __future__ import annotations

from pathlib import Path

from boxk8s.tls import ensure_credentials, ensure_service_account_key, server_names


def test_the_certificate_is_for_the_kubernetes_service_by_every_name(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path, ["10.244.192.1"])
    assert {"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
            "10.244.192.1", "127.0.0.1", "localhost"} <= server_names(creds.cert_path)


def test_a_missing_name_reissues_it_with_the_same_ca(tmp_path: Path) -> None:
    first = ensure_credentials(tmp_path, ["10.244.192.1"])
    before = first.cert_path.read_bytes()
    assert ensure_credentials(tmp_path, ["10.244.192.1"]).cert_path.read_bytes() == before  # nothing new asked
    second = ensure_credentials(tmp_path, ["10.244.192.1", "10.244.0.1"])
    assert second.cert_path.read_bytes() != before
    assert "10.244.0.1" in server_names(second.cert_path)
    assert second.ca_pem == first.ca_pem and second.token == first.token
    assert ensure_credentials(tmp_path, ["10.244.192.1"]).cert_path.read_bytes() == second.cert_path.read_bytes()


def test_the_service_account_key_is_made_once(tmp_path: Path) -> None:
    key = ensure_service_account_key(tmp_path)
    again = ensure_service_account_key(tmp_path)
    assert key.private_numbers() == again.private_numbers()
    assert (tmp_path / "pki" / "sa.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert oct((tmp_path / "pki" / "sa.key").stat().st_mode & 0o777) == "0o600"
