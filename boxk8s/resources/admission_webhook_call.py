"""Admission webhooks, the calling part: where a webhook is (its URL, or its Service resolved to a
ready endpoint), and one AdmissionReview POSTed to it over HTTPS with aiohttp.

As the apiserver's webhook client (util/webhook.ClientManager.HookClient): a Service webhook is
addressed as `https://NAME.NAMESPACE.svc:PORT/PATH`, its TLS server name `NAME.NAMESPACE.svc`
checked against `caBundle`, and the connection dialled to an endpoint the service resolver
picks (proxy.ResolveEndpoint as kube-apiserver's EndpointServiceResolver does it: a random ready
endpoint of the port, its target port). Failures are worded as Go's HTTP client words them
(`Post "URL": dial tcp IP:PORT: connect: connection refused`), for the apiserver's message
`failed calling webhook "NAME": failed to call webhook: …`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import random
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.admission_plugins import ResourceAccess
from boxk8s.resources.endpoint_slices import SERVICE_NAME_LABEL, ready_backends

SERVICES = registry.find("", "v1", "services")
SLICES = registry.find("discovery.k8s.io", "v1", "endpointslices")
assert SERVICES is not None and SLICES is not None


class CallFailed(Exception):
    """The webhook could not be called; str() is the reason as the apiserver words it."""


@dataclass(frozen=True)
class Target:
    url: str  # as the apiserver shows it, `?timeout=Ns` included
    connect: str  # the URL connected to: `url`, or the endpoint's address for a Service
    server_name: str | None  # the TLS server name when connecting by address
    ca_bundle: str


@functools.lru_cache(maxsize=64)
def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """Trust caBundle (PEM, base64 in the configuration), else the system's roots."""
    if not ca_bundle:
        return ssl.create_default_context()
    try:
        pem = base64.b64decode(ca_bundle, validate=True).decode()
        return ssl.create_default_context(cadata=pem)
    except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError) as e:
        raise CallFailed(f"could not get REST client: unable to load root certificates: {e}") from e


def _with_timeout(url: str, timeout: int) -> str:
    return f"{url}{'&' if '?' in url else '?'}timeout={timeout}s"


async def resolve(client_config: dict[str, Any], api: ResourceAccess, timeout: int) -> Target:
    """Where to POST. A Service that cannot be resolved raises CallFailed naming the URL."""
    ca_bundle = str(client_config.get("caBundle") or "")
    url = client_config.get("url")
    if url:
        shown = _with_timeout(str(url), timeout)
        return Target(shown, shown, None, ca_bundle)
    service = client_config.get("service") or {}
    name, namespace = str(service.get("name") or ""), str(service.get("namespace") or "")
    port = int(service.get("port") or 443)
    path = str(service.get("path") or "") or "/"
    server_name = f"{name}.{namespace}.svc"
    shown = _with_timeout(f"https://{server_name}:{port}{path}", timeout)
    try:
        ip, target_port = await _endpoint(api, namespace, name, port)
    except CallFailed as e:
        raise CallFailed(f'failed to call webhook: Post "{shown}": {e}') from e
    host = f"[{ip}]" if ":" in ip else ip
    return Target(shown, _with_timeout(f"https://{host}:{target_port}{path}", timeout), server_name, ca_bundle)


async def _endpoint(api: ResourceAccess, namespace: str, name: str, port: int) -> tuple[str, int]:
    """proxy.ResolveEndpoint: the Service's port of that number, a random ready endpoint for it."""
    assert SERVICES is not None and SLICES is not None
    try:
        svc = await api.get(SERVICES, namespace, name)
    except errors.NotFound as e:
        raise CallFailed(f'service "{name}" not found') from e
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        raise CallFailed(f'service "{name}" is of type ExternalName, not supported for webhooks here')
    ports = [p for p in spec.get("ports") or [] if int(p.get("port") or 0) == port]
    if not ports:
        raise CallFailed(f'no service port {port} found for service "{name}"')
    slices, _ = await api.list(SLICES, namespace)
    mine = [s for s in slices if ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) == name]
    backends = ready_backends(mine, str(ports[0].get("name") or ""))
    if not backends:
        raise CallFailed(f'no endpoints available for service "{name}"')
    return random.choice(backends)


class Poster:
    """POSTs reviews over one client session (per event loop), whose connections are kept a while
    as the apiserver's webhook clients keep theirs: a TLS handshake per call costs more than the call."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # idle connections are dropped before servers usually drop theirs (Go's 90 s, aiohttp's 75 s)
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=15, limit=0))
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None

    async def post(self, target: Target, body: Any, timeout: int) -> Any:
        """POST the review; the decoded answer. CallFailed (`failed to call webhook: …`) on any
        failure, within `timeout` seconds whatever the other side does."""
        return await _post(self._client(), target, body, timeout)


async def _post(session: aiohttp.ClientSession, target: Target, body: Any, timeout: int) -> Any:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, */*"}
    if target.server_name:
        headers["Host"] = urlsplit(target.url).netloc
    try:
        context = _ssl_context(target.ca_bundle)
    except CallFailed as e:
        raise CallFailed(f"failed to call webhook: {e}") from e
    try:
        async with asyncio.timeout(timeout):
            async with session.post(target.connect, data=data, headers=headers, ssl=context,
                                    server_hostname=target.server_name, allow_redirects=False) as resp:
                raw = await resp.read()
                status = resp.status
    except TimeoutError as e:
        raise CallFailed(f'failed to call webhook: Post "{target.url}": context deadline exceeded') from e
    except aiohttp.ClientError as e:
        raise CallFailed(f'failed to call webhook: Post "{target.url}": {_go_words(e, target)}') from e
    except OSError as e:
        raise CallFailed(f'failed to call webhook: Post "{target.url}": {e.strerror or e}') from e
    if not 200 <= status < 300:
        raise CallFailed(f"failed to call webhook: {_server_response(status, raw)}")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise CallFailed(f"failed to call webhook: couldn't get version/kind; json parse error: {e}") from e


def _go_words(e: aiohttp.ClientError, target: Target) -> str:
    """How Go's net/http and crypto/tls word what went wrong."""
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        cert_error = e.certificate_error
        if isinstance(cert_error, ssl.SSLCertVerificationError) and cert_error.verify_code == 62:
            name = target.server_name or urlsplit(target.url).hostname
            return f"tls: failed to verify certificate: x509: certificate is not valid for {name}"
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    if isinstance(e, aiohttp.ClientConnectorError):
        address = f"{e.host}:{e.port}"
        if isinstance(e.os_error, ConnectionRefusedError):
            return f"dial tcp {address}: connect: connection refused"
        return f"dial tcp {address}: {e.os_error.strerror or e.os_error}"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "EOF"
    return str(e) or type(e).__name__


def _server_response(status: int, raw: bytes) -> str:
    """What client-go makes of an answer that is not a 2xx (NewGenericServerResponse), or the
    Status it carries."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status" and body.get("message"):
        return str(body["message"])
    text = raw.decode(errors="replace").strip()
    if status == 404:
        return "the server could not find the requested resource"
    if status >= 500 and text:
        return f'an error on the server ("{text}") has prevented the request from succeeding'
    return f"the server responded with the status code {status} but did not return more information"
