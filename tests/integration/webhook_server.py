"""An admission webhook served over HTTPS by the test process (aiohttp), with its own CA: each path
answers with what the test says and remembers the reviews it was sent."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from boxk8s.tls import ensure_credentials, issue_certificate

Obj = dict[str, Any]
Answer = Callable[[Obj], Obj]  # the AdmissionRequest -> the AdmissionResponse's fields (uid added)


def allow(_: Obj) -> Obj:
    return {"allowed": True}


def deny(message: str, code: int = 403) -> Answer:
    return lambda _: {"allowed": False, "status": {"message": message, "code": code}}


def add_labels(labels: dict[str, str] | Callable[[Obj], dict[str, str]], warnings: list[str] | None = None) -> Answer:
    """A JSONPatch adding labels (the object's labels map created when missing)."""
    def answer(request: Obj) -> Obj:
        wanted = labels(request) if callable(labels) else labels
        has_labels = "labels" in ((request.get("object") or {}).get("metadata") or {})
        ops: list[Obj] = [] if has_labels else [{"op": "add", "path": "/metadata/labels", "value": {}}]
        ops += [{"op": "add", "path": f"/metadata/labels/{k.replace('/', '~1')}", "value": v} for k, v in wanted.items()]
        out: Obj = {"allowed": True, "patchType": "JSONPatch",
                    "patch": base64.b64encode(json.dumps(ops).encode()).decode()}
        if warnings:
            out["warnings"] = warnings
        return out
    return answer


@dataclass
class WebhookServer:
    port: int
    ca_bundle: str  # base64 PEM, for clientConfig.caBundle
    cert: bytes
    key: bytes
    answers: dict[str, Answer] = field(default_factory=dict)
    reviews: dict[str, list[Obj]] = field(default_factory=dict)
    stall: asyncio.Event = field(default_factory=asyncio.Event)  # set: /slow returns

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def client_config(self, path: str) -> Obj:
        return {"url": self.url(path), "caBundle": self.ca_bundle}

    async def handle(self, request: web.Request) -> web.Response:
        review = await request.json()
        path = request.path
        self.reviews.setdefault(path, []).append(review)
        if path == "/slow":
            await self.stall.wait()
        if path == "/broken":
            return web.Response(status=500, text="it broke")
        answer = self.answers.get(path, allow)(review["request"])
        return web.json_response({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                  "response": {"uid": review["request"]["uid"], **answer}})


@contextlib.asynccontextmanager
async def webhook_server(pki: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                         port: int = 0) -> AsyncIterator[WebhookServer]:
    creds = ensure_credentials(pki)
    cert, key = issue_certificate(pki, list(hosts), "webhook")
    (pki / "webhook.crt").write_bytes(cert)
    (pki / "webhook.key").write_bytes(key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki / "webhook.crt", pki / "webhook.key")
    server = WebhookServer(0, base64.b64encode(creds.ca_pem).decode(), cert, key)
    app = web.Application()
    app.router.add_post("/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx)
    await site.start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        server.stall.set()
        await runner.cleanup()
