"""An in-process boxk8s API server (plain HTTP) over a fresh store, and helpers to talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from boxk8s.api.app import ApiSettings, build_app
from boxk8s.api.server import SERVER_OPTIONS
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.controllers import ControllerFactory
from boxk8s.kubelet.settings import NodeSettings
from boxk8s.resources import registry
from boxk8s.resources.layer import Resources
from boxk8s.store import Store
from tests.integration.waiting import wait_for_condition

TOKEN = "t"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEADLINE = 10.0  # every single request must finish within this; a hang is a failure

# metav1.StatusReason values (k8s.io/apimachinery/pkg/apis/meta/v1/types.go)
STATUS_REASONS = {
    "Unauthorized", "Forbidden", "NotFound", "AlreadyExists", "Conflict", "Gone", "Invalid",
    "ServerTimeout", "StoreReadError", "Timeout", "TooManyRequests", "BadRequest", "MethodNotAllowed",
    "NotAcceptable", "RequestEntityTooLarge", "UnsupportedMediaType", "InternalError", "Expired",
    "ServiceUnavailable",
}


@dataclass
class Api:
    """A thin client: every call is authenticated and bounded by DEADLINE."""

    client: TestClient
    store: Store
    resources: Resources

    async def request(self, method: str, path: str, *, body: Any = None, data: bytes | str | None = None,
                      content_type: str | None = None, headers: dict[str, str] | None = None,
                      params: dict[str, str] | list[tuple[str, str]] | None = None,
                      auth: bool = True) -> tuple[int, Any, ClientResponse]:
        hdrs = dict(AUTH) if auth else {}
        hdrs.update(headers or {})
        if body is not None:
            data = json.dumps(body)
            content_type = content_type or "application/json"
        if content_type:
            hdrs["Content-Type"] = content_type
        async with asyncio.timeout(DEADLINE):
            resp = await self.client.request(method, path, data=data, headers=hdrs, params=params)
            raw = await resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return resp.status, parsed, resp

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, ClientResponse]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, ClientResponse]:
        return await self.request("POST", path, body=body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, ClientResponse]:
        return await self.request("PUT", path, body=body, **kw)

    async def patch(self, path: str, body: Any, content_type: str, **kw: Any) -> tuple[int, Any, ClientResponse]:
        return await self.request("PATCH", path, data=json.dumps(body), content_type=content_type, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any, ClientResponse]:
        return await self.request("DELETE", path, **kw)

    async def ok(self, method: str, path: str, **kw: Any) -> Any:
        """A request that must succeed (2xx): returns the parsed body."""
        code, body, _ = await self.request(method, path, **kw)
        assert 200 <= code < 300, (method, path, code, body)
        return body


def assert_status(code: int, body: Any, expected_code: int | None = None, reason: str | None = None) -> None:
    """The invariant of every failed request: a metav1 Status whose code is the HTTP status."""
    assert 400 <= code < 500, (code, body)
    if expected_code is not None:
        assert code == expected_code, (code, body)
    assert isinstance(body, dict), body
    assert body.get("kind") == "Status", body
    assert body.get("apiVersion") == "v1", body
    assert body.get("status") == "Failure", body
    assert body.get("reason") in STATUS_REASONS, body
    if reason is not None:
        assert body["reason"] == reason, body
    assert body.get("code") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body


async def default_accounts_made(resources: Resources) -> None:
    """Wait for the ServiceAccount controller's first writes (every cluster runs it), so that tests
    start on a store nothing else is writing to."""
    sa = registry.find("", "v1", "serviceaccounts")
    assert sa is not None

    async def made() -> bool:
        return all(resources.store.head_revision(sa.key(ns, "default")) for ns in registry.SYSTEM_NAMESPACES)
    await wait_for_condition(made, DEADLINE)


@contextlib.asynccontextmanager
async def running_api(state_dir: Path, token: str = TOKEN, *, controllers: Sequence[ControllerFactory] = (),
                      nodes: int = 0, encryption: Path | None = None) -> AsyncIterator[Api]:
    """The store and resource layer as assemble() builds them (by default no controllers, nodes or
    scheduler; else these controllers and `nodes` simulated nodes with a scheduler), and the API app
    over plain HTTP in aiohttp's test server (no token: open, as kubectl needs over HTTP).
    `encryption`: an EncryptionConfiguration file, as `up --encryption-provider-config`."""
    settings = ClusterSettings(state_dir=state_dir, encryption_provider_config=encryption)
    planned = [NodeSettings(f"node-{i}", fake=True) for i in range(1, nodes + 1)]
    async with running(settings, controllers=list(controllers), nodes=planned, scheduler=bool(nodes),
                       serve_api=False, proxy=False) as c:
        await default_accounts_made(c.resources)
        app = build_app(c.resources, ApiSettings(token=token))
        server = TestServer(app)
        await server.start_server(**SERVER_OPTIONS)  # as ApiServer runs it (TestServer's own kwargs are dropped)
        async with TestClient(server) as client:
            yield Api(client, c.store, c.resources)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path) as a:
        yield a


# ---- objects ---------------------------------------------------------------------------------

def configmap(name: str, data: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data or {"k": "v"}}


def deployment(name: str, replicas: int = 1, image: str = "nginx:1.25",
               containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": containers or [{"name": "web", "image": image}]},
            },
        },
    }


def pod(name: str, image: str = "busybox:1.36") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}]},
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }


CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
SVCS = "/api/v1/namespaces/default/services"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


async def watch_lines(api: Api, path: str, params: dict[str, str], *, until: int | None = None,
                      deadline: float = DEADLINE) -> tuple[int, list[dict[str, Any]] | Any]:
    """Read a watch stream: (status, events). Stops after `until` events, or when the server ends it."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(deadline):
        resp = await api.client.get(path, params={"watch": "1", **params}, headers=AUTH)
        try:
            if resp.status != 200:
                return resp.status, await resp.json(content_type=None)
            async for line in resp.content:
                if not line.strip():
                    continue
                events.append(json.loads(line))
                if until is not None and len(events) >= until:
                    break
        finally:
            resp.close()
    return 200, events


async def compacted_resource_version(api: Api) -> str:
    """A configmaps resourceVersion the store has compacted away (a watch from it is Expired)."""
    old = await api.ok("POST", CM, body=configmap("old"))
    for i in range(3):
        await api.ok("POST", CM, body=configmap(f"newer-{i}"))
    await api.store.compact(api.store.current_revision)
    return str(old["metadata"]["resourceVersion"])
