"""The Ingress proxy over real HTTP: host and path routing, headers, streaming, WebSockets, 404/503.

Backends are aiohttp apps on 127.0.0.1 named by hand-made EndpointSlices of Services without a
selector, so this runs without Docker.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from boxk8s.client import Kind
from tests.integration.controllers_harness import Harness, eventually, harness

Obj = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Backend:
    """An HTTP app answering with its name, the headers it got, a stream the test paces, a WebSocket echo."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = asyncio.Event()  # the stream's last chunk waits on it
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/stream", self.stream)
        app.router.add_get("/ws", self.websocket)
        app.router.add_route("*", "/{tail:.*}", self.hello)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def hello(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"name": self.name, "path": request.path_qs, "body": len(body),
                                  "headers": {k: v for k, v in request.headers.items()
                                              if k.startswith("X-Forwarded") or k == "Host"}})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first\n")
        await self.release.wait()
        await resp.write(b"last\n")
        await resp.write_eof()
        return resp

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"{self.name}:{msg.data}")
        return ws


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Harness, int, dict[str, Backend]]]:
    port = free_port()
    backends = {n: Backend(n) for n in ("web", "api", "blog")}
    for b in backends.values():
        await b.start()
    try:
        async with harness(tmp_path, [], proxy=True, ingress_port=port) as h:
            for b in backends.values():
                await expose(h, b.name, b.port)
            yield h, port, backends
    finally:
        for b in backends.values():
            b.release.set()
            if b.runner:
                await b.runner.cleanup()


async def expose(h: Harness, name: str, port: int, *, ready: bool = True) -> None:
    """A Service `name` (port 80, named http) whose one endpoint is 127.0.0.1:`port`."""
    await h.client.create(Kind.SERVICE, "default", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                                                     "spec": {"ports": [{"name": "http", "port": 80}]}})
    await h.client.create(Kind.ENDPOINTSLICE, "default", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"generateName": f"{name}-", "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": ready}}]})


def rule(host: str | None, *paths: tuple[str, str, str]) -> Obj:
    r: Obj = {"http": {"paths": [{"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": {"number": 80}}}}
                                 for p, kind, svc in paths]}}
    if host:
        r["host"] = host
    return r


async def create_ingress(h: Harness, name: str, *rules: Obj, **spec: Any) -> Obj:
    return await h.client.create(Kind.INGRESS, "default", {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
        "spec": {"rules": list(rules), **spec}})


async def get(port: int, host: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}) as r:
        if r.content_type == "application/json":
            return r.status, await r.json()
        return r.status, await r.text()


async def served_by(port: int, host: str, path: str) -> str | None:
    status, body = await get(port, host, path)
    return body["name"] if status == 200 and isinstance(body, dict) else None


async def test_hosts_and_paths_route_as_the_precedence_rules_say(env: tuple[Harness, int, dict[str, Backend]]) -> None:
    h, port, _ = env
    ing = await create_ingress(h, "site",
                               rule("app.localhost", ("/", "Prefix", "web"), ("/api", "Prefix", "api"),
                                    ("/api/blog", "Exact", "blog")),
                               rule("*.blog.localhost", ("/", "Prefix", "blog")))
    await eventually(lambda: served_by(port, "app.localhost", "/"))
    cases = {("app.localhost", "/"): "web", ("app.localhost", "/index.html"): "web",
             ("app.localhost", "/api"): "api", ("app.localhost", "/api/v1/users?x=1"): "api",
             ("app.localhost", "/apix"): "web",  # not the /api prefix: elements, not characters
             ("app.localhost", "/api/blog"): "blog", ("app.localhost", "/api/blog/x"): "api",  # Exact only
             ("me.blog.localhost", "/anything"): "blog"}
    for (host, path), expected in cases.items():
        assert await served_by(port, host, path) == expected, (host, path)

    status, page = await get(port, "a.b.blog.localhost", "/")  # the wildcard stands for one label
    assert status == 404 and "404" in page and "boxk8s" in page

    status, body = await get(port, "app.localhost", "/api/v1/users?x=1")
    assert body["path"] == "/api/v1/users?x=1"
    assert body["headers"]["Host"] == "app.localhost"
    assert body["headers"]["X-Forwarded-Host"] == "app.localhost"
    assert body["headers"]["X-Forwarded-Proto"] == "http"
    assert body["headers"]["X-Forwarded-For"] == "127.0.0.1"

    async def address() -> list[Obj] | None:
        got = await h.client.get(Kind.INGRESS, "default", "site")
        return ((got.get("status") or {}).get("loadBalancer") or {}).get("ingress")

    assert await eventually(address) == [{"ip": "127.0.0.1"}]
    assert ing["metadata"]["uid"]


async def test_a_change_is_live_and_a_request_body_reaches_the_pod(env: tuple[Harness, int, dict[str, Backend]]) -> None:
    h, port, _ = env
    await create_ingress(h, "site", rule("app.localhost", ("/", "Prefix", "web")))
    await eventually(lambda: served_by(port, "app.localhost", "/"))
    await h.client.patch(Kind.INGRESS, "default", "site", {"spec": {"rules": [rule("app.localhost", ("/", "Prefix", "api"))]}})
    assert await eventually(lambda: _expect(served_by(port, "app.localhost", "/"), "api")) == "api"
    async with aiohttp.ClientSession() as s, s.post(f"http://127.0.0.1:{port}/upload", data=b"x" * 100_000,
                                                     headers={"Host": "app.localhost"}) as r:
        assert (await r.json())["body"] == 100_000


async def test_streamed_responses_and_websockets_pass_through(env: tuple[Harness, int, dict[str, Backend]]) -> None:
    h, port, backends = env
    await create_ingress(h, "site", rule("app.localhost", ("/", "Prefix", "web")))
    await eventually(lambda: served_by(port, "app.localhost", "/"))
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{port}/stream", headers={"Host": "app.localhost"}) as r:
            async with asyncio.timeout(5):
                first = await r.content.readline()  # arrives while the backend still holds the last chunk
            assert first == b"first\n" and not backends["web"].release.is_set()
            backends["web"].release.set()
            assert await r.content.readline() == b"last\n"
        async with s.ws_connect(f"http://127.0.0.1:{port}/ws", headers={"Host": "app.localhost"}) as ws:
            await ws.send_str("ping")
            assert (await ws.receive(timeout=5)).data == "web:ping"
            await ws.send_str("again")
            assert (await ws.receive(timeout=5)).data == "web:again"


async def test_missing_service_and_no_ready_endpoint_answer_503(env: tuple[Harness, int, dict[str, Backend]]) -> None:
    h, port, backends = env
    await expose(h, "down", backends["web"].port, ready=False)
    await create_ingress(h, "broken", rule("app.localhost", ("/nothing", "Prefix", "nowhere"), ("/down", "Prefix", "down")),
                         defaultBackend={"service": {"name": "web", "port": {"name": "http"}}})
    await eventually(lambda: served_by(port, "elsewhere.localhost", "/"))  # the default backend, by port name
    status, page = await get(port, "app.localhost", "/nothing")
    assert status == 503 and "default/nowhere does not exist" in page
    status, page = await get(port, "app.localhost", "/down")
    assert status == 503 and "no ready endpoint" in page

    async def warning() -> Obj | None:
        events = await h.client.list(Kind.EVENT, "default")
        return next((e for e in events if e["reason"] == "ServiceNotFound" and e["involvedObject"]["name"] == "broken"), None)

    event = await eventually(warning)
    assert event["type"] == "Warning" and "nowhere" in event["message"]


async def test_ingresses_of_another_class_are_left_alone(env: tuple[Harness, int, dict[str, Backend]]) -> None:
    h, port, _ = env
    await create_ingress(h, "theirs", rule("app.localhost", ("/", "Prefix", "web")), ingressClassName="nginx")
    await create_ingress(h, "ours", rule("other.localhost", ("/", "Prefix", "api")))
    await eventually(lambda: served_by(port, "other.localhost", "/"))
    status, _ = await get(port, "app.localhost", "/")
    assert status == 404
    theirs = await h.client.get(Kind.INGRESS, "default", "theirs")
    assert not ((theirs.get("status") or {}).get("loadBalancer") or {}).get("ingress")


async def _expect(value: Any, wanted: Any) -> Any:
    got = await value
    return got if got == wanted else None



def self_signed(host: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for `host`, as a user's own TLS Secret would hold."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


async def peer_certificate(port: int, server_name: str, context: ssl.SSLContext) -> bytes:
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=server_name)
    try:
        return writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()


async def test_tls_presents_the_secrets_certificate_by_sni_and_the_cluster_one_otherwise(tmp_path: Path) -> None:
    port, tls_port = free_port(), free_port()
    web_backend = Backend("web")
    await web_backend.start()
    try:
        async with harness(tmp_path, [], proxy=True, ingress_port=port, ingress_tls_port=tls_port) as h:
            await expose(h, "web", web_backend.port)
            cert, key = self_signed("secure.localhost")
            await h.client.create(Kind.SECRET, "default", {
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secure-tls"}, "type": "kubernetes.io/tls",
                "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}})
            await create_ingress(h, "secure", rule("secure.localhost", ("/", "Prefix", "web")),
                                 rule("other.localhost", ("/", "Prefix", "web")),
                                 tls=[{"hosts": ["secure.localhost"], "secretName": "secure-tls"}])
            insecure = ssl.create_default_context()
            insecure.check_hostname = False
            insecure.verify_mode = ssl.CERT_NONE
            wanted = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.decode())).hexdigest()

            async def secure_cert() -> bool:
                der = await peer_certificate(tls_port, "secure.localhost", insecure)
                return hashlib.sha256(der).hexdigest() == wanted

            await eventually(secure_cert)
            # Any other name: the default certificate, which the cluster's CA verifies for *.localhost.
            verified = ssl.create_default_context(cadata=(tmp_path / "pki" / "ca.crt").read_text())
            der = await peer_certificate(tls_port, "other.localhost", verified)
            assert hashlib.sha256(der).hexdigest() != wanted
            async with aiohttp.ClientSession() as s, s.get(
                    f"https://127.0.0.1:{tls_port}/", headers={"Host": "secure.localhost"},
                    server_hostname="secure.localhost", ssl=insecure) as r:
                body = await r.json()
            assert body["name"] == "web" and body["headers"]["X-Forwarded-Proto"] == "https"
    finally:
        await web_backend.runner.cleanup()  # type: ignore[union-attr]
