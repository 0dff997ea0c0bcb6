"""HTTPS to a running cluster's API, with the CA and token of its own kubeconfig.

The standard library's http.client: importing aiohttp alone takes longer than `boxk8s status` may
(0.3 s); one keep-alive connection serves the few calls a command makes.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class RemoteError(Exception):
    """A call failed: `code` is the HTTP status (0: the cluster did not answer)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def _entry(config: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    entries = config.get(section) or []
    found = next((e for e in entries if e.get("name") == name), entries[0] if entries else None)
    return dict((found or {}).get(section[:-1]) or {})


@dataclass(frozen=True)
class Access:
    """Where the API is and how to prove who we are, from a kubeconfig's current context."""

    server: str
    ca_pem: str
    token: str
    context: str = ""

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Access:
        try:
            config = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise RemoteError(f"no kubeconfig at {path}: run `boxk8s up` first") from None
        except (OSError, yaml.YAMLError) as exc:
            raise RemoteError(f"cannot read {path}: {exc}") from exc
        if not isinstance(config, dict):
            raise RemoteError(f"{path} is no kubeconfig")
        name = str(config.get("current-context") or "")
        context = _entry(config, "contexts", name)
        cluster = _entry(config, "clusters", str(context.get("cluster", "")))
        user = _entry(config, "users", str(context.get("user", "")))
        try:
            ca = base64.b64decode(cluster.get("certificate-authority-data", "")).decode()
        except ValueError as exc:
            raise RemoteError(f"{path}: certificate-authority-data is not base64") from exc
        if not cluster.get("server"):
            raise RemoteError(f"{path} names no server")
        return cls(str(cluster["server"]), ca, str(user.get("token", "")), name)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and the host name
        if self.ca_pem:
            ctx.load_verify_locations(cadata=self.ca_pem)
        else:
            ctx.load_default_certs()
        return ctx

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        q = {k: v for k, v in (query or {}).items() if v is not None}
        return self.server.rstrip("/") + path + (f"?{urllib.parse.urlencode(q)}" if q else "")


def status_message(body: bytes, code: int) -> str:
    """The message of a Kubernetes `Status` body, or the body itself."""
    text = body.decode(errors="replace").strip()
    try:
        message = json.loads(text).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or text or f"HTTP {code}")


class Api:
    """Request/response calls over one connection."""

    def __init__(self, access: Access, timeout: float = 5.0) -> None:
        self.access = access
        url = urllib.parse.urlsplit(access.server)
        if url.scheme != "https" or not url.hostname:
            raise RemoteError(f"the server {access.server} is not an https:// URL")
        self._conn = http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=timeout,
                                                 context=access.ssl_context())

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                content_type: str = "application/json") -> Any:
        target = urllib.parse.urlsplit(self.access.url(path, query))
        headers = {**self.access.headers, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        try:
            self._conn.request(method, target.path + (f"?{target.query}" if target.query else ""), data, headers)
            resp = self._conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise RemoteError(f"cannot reach the cluster at {self.access.server}: {exc or type(exc).__name__}") \
                from exc
        if not 200 <= resp.status < 300:
            raise RemoteError(status_message(raw, resp.status), resp.status)
        return json.loads(raw) if raw else None

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query)
