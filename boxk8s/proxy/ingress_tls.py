"""The Ingress proxy's TLS certificates, chosen per connection by SNI.

An Ingress's `spec.tls` names a `kubernetes.io/tls` Secret for its hosts; a client asking for one
of those names gets that Secret's certificate. A name under `.localhost` that no Secret covers gets a
certificate of its own, issued by the cluster's CA on first use (TLS clients refuse a `*.localhost`
wildcard: it sits right under a top-level name); anything else gets the default certificate.
Python's ssl loads certificates from files only, so each is written (owner-only) below the state
folder; a Secret's files are named by its uid and resourceVersion, so a changed Secret is loaded afresh.
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from boxk8s.proxy.ingress_plan import tls_host_for

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


class Certificates:
    def __init__(self, default_cert: Path, default_key: Path, directory: Path,
                 issue: Callable[[str], tuple[bytes, bytes]] | None = None) -> None:
        """`issue(host)`: a (certificate, key) PEM pair for a `.localhost` name, from the cluster CA."""
        self.directory = directory
        self.issue = issue
        self._issued: dict[str, ssl.SSLContext] = {}
        self.server_context = _context(default_cert, default_key)
        self.server_context.sni_callback = self._choose
        self._by_host: dict[str, ssl.SSLContext] = {}
        self._loaded: dict[str, ssl.SSLContext] = {}  # "<uid>-<resourceVersion>" → context

    def update(self, hosts: Mapping[str, tuple[str, str]], secret: Callable[[str], Obj | None]) -> list[str]:
        """Serve each host with its Secret's certificate; returns why some could not be (missing
        Secrets, bad PEM), for the controller to report. Those hosts get the default certificate."""
        problems: list[str] = []
        by_host: dict[str, ssl.SSLContext] = {}
        for host, (namespace, name) in hosts.items():
            obj = secret(f"{namespace}/{name}")
            if obj is None:
                problems.append(f"secret {namespace}/{name} for host {host} does not exist")
                continue
            try:
                by_host[host] = self._load(obj)
            except (ssl.SSLError, ValueError, KeyError, OSError) as e:
                problems.append(f"secret {namespace}/{name} for host {host} holds no usable tls.crt/tls.key: {e}")
        self._by_host = by_host
        return problems

    def _load(self, secret: Obj) -> ssl.SSLContext:
        md = secret["metadata"]
        tag = f"{md['uid']}-{md['resourceVersion']}"
        if tag not in self._loaded:
            data = secret.get("data") or {}
            self._loaded[tag] = self._write(tag, base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"]))
        return self._loaded[tag]

    def _write(self, tag: str, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        cert, key = self.directory / f"{tag}.crt", self.directory / f"{tag}.key"
        for path, data in ((cert, cert_pem), (key, key_pem)):
            path.write_bytes(data)
            os.chmod(path, 0o600)
        return _context(cert, key)

    def _choose(self, sock: ssl.SSLObject, server_name: str | None, _initial: ssl.SSLContext) -> None:
        name = (server_name or "").lower()
        host = tls_host_for(self._by_host, name)
        if host is not None:
            sock.context = self._by_host[host]
        elif name.endswith(".localhost") and self.issue is not None:
            if name not in self._issued:
                self._issued[name] = self._write(f"localhost-{name}", *self.issue(name))
            sock.context = self._issued[name]
