"""Per-cluster CA, server certificate and bearer token, kept in the state folder.

kubectl sends a bearer token only over HTTPS, so the API always serves TLS with a CA the
kubeconfig carries (certificate-authority-data).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Credentials:
    ca_pem: bytes
    cert_path: Path
    key_path: Path
    token: str

    def server_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    def client_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


def _make_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "boxk8s-ca")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, hosts: list[str], now: dt.datetime,
    common_name: str = "boxk8s-apiserver",
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


# kubeadm's apiserver certificate names (certs.GetAPIServerAltNames): the `kubernetes` Service by every
# name a pod may use, and the host. The Service's ClusterIP and the host's address on the cluster
# network come as extra hosts (components.py), as kubeadm adds the first address of the service range.
DEFAULT_HOSTS = ["127.0.0.1", "localhost", "::1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"]


def ensure_credentials(state_dir: Path, extra_hosts: list[str] | None = None) -> Credentials:
    """Load the cluster's CA, server certificate and token, creating what is missing. A server
    certificate lacking one of the names asked for is issued again (with all of them)."""
    pki = state_dir / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key_p = pki / "ca.crt", pki / "ca.key"
    srv_crt, srv_key = pki / "apiserver.crt", pki / "apiserver.key"
    token_p = pki / "token"
    now = dt.datetime.now(dt.UTC)
    hosts = DEFAULT_HOSTS + [h for h in (extra_hosts or []) if h not in DEFAULT_HOSTS]
    if not (ca_crt.exists() and ca_key_p.exists()):
        ca_key, ca = _make_ca(now)
        _write_private(ca_key_p, _pem_key(ca_key))
        ca_crt.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        srv_crt.unlink(missing_ok=True)
    else:
        ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_p.read_bytes(), None)  # type: ignore[assignment]
    if srv_crt.exists() and not set(hosts) <= server_names(srv_crt):
        srv_crt.unlink()
    if not srv_crt.exists() or not srv_key.exists():
        key, cert = _make_server(ca_key, ca, hosts, now)  # type: ignore[arg-type]
        _write_private(srv_key, _pem_key(key))
        srv_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not token_p.exists():
        _write_private(token_p, secrets.token_urlsafe(32).encode())
    return Credentials(
        ca_pem=ca_crt.read_bytes(), cert_path=srv_crt, key_path=srv_key, token=token_p.read_text().strip()
    )


def server_names(cert_path: Path) -> set[str]:
    """The DNS names and IP addresses a server certificate is valid for."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))


def ensure_service_account_key(state_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The key ServiceAccount tokens are signed with (kubeadm's `sa.key` / `sa.pub`), made once."""
    pki = state_dir / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    key_p, pub_p = pki / "sa.key", pki / "sa.pub"
    if key_p.exists():
        key = serialization.load_pem_private_key(key_p.read_bytes(), None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    key = _key()
    _write_private(key_p, _pem_key(key))
    pub_p.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


INGRESS_HOSTS = ["localhost", "127.0.0.1", "::1"]


def issue_certificate(state_dir: Path, hosts: list[str], common_name: str) -> tuple[bytes, bytes]:
    """A server certificate for `hosts` from the cluster's CA: (certificate PEM, key PEM)."""
    ensure_credentials(state_dir)
    pki = state_dir / "pki"
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    key, cert = _make_server(ca_key, ca, hosts, dt.datetime.now(dt.UTC), common_name)  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def ensure_ingress_certificate(state_dir: Path) -> tuple[Path, Path]:
    """The Ingress proxy's default certificate (for `localhost`, from the cluster's CA, which the
    kubeconfig carries): its certificate and key files, made once."""
    pki = state_dir / "pki"
    crt, key_path = pki / "ingress.crt", pki / "ingress.key"
    if not (crt.exists() and key_path.exists()):
        cert, key = issue_certificate(state_dir, INGRESS_HOSTS, "boxk8s-ingress")
        _write_private(key_path, key)
        crt.write_bytes(cert)
    return crt, key_path
