"""NodePort and LoadBalancer Services listen on the host and relay to ready endpoints (real TCP).

The backends are small TCP servers on 127.0.0.1 named by hand-made EndpointSlices of Services
without a selector, so this runs without Docker; tests/e2e/test_endpoints.py reaches real pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Kind
from boxk8s.proxy import proxy as proxy_module
from tests.integration.controllers_harness import Harness, eventually, harness

Obj = dict[str, Any]


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [], proxy=True) as env:
        yield env


@contextlib.asynccontextmanager
async def backends(*names: str) -> AsyncIterator[dict[str, int]]:
    """TCP servers that answer their name and close: name → port."""
    servers = {}
    for name in names:
        async def answer(_r: asyncio.StreamReader, w: asyncio.StreamWriter, name: str = name) -> None:
            w.write(name.encode())
            await w.drain()
            w.close()
        servers[name] = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield {n: s.sockets[0].getsockname()[1] for n, s in servers.items()}
    finally:
        for s in servers.values():
            s.close()


async def ask(port: int) -> str | None:
    """What the service answers on a host port; None when the port refuses or closes at once."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    try:
        data = await asyncio.wait_for(reader.read(), 5)
        return data.decode() or None
    finally:
        writer.close()


def free_port(lo: int = 30000, hi: int = 32768) -> int:
    for port in range(lo, hi):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


async def make_service(h: Harness, name: str, ports: dict[str, int], *, kind: str = "NodePort",
                       ready: dict[str, bool] | None = None, **spec: Any) -> Obj:
    svc = await h.client.create(Kind.SERVICE, "default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": kind, "ports": [{"name": "tcp", "protocol": "TCP", **spec.pop("port", {"port": 80})}], **spec}})
    # One slice per backend: each listens on its own port of 127.0.0.1.
    for backend, port in ports.items():
        endpoint = {"addresses": ["127.0.0.1"], "conditions": {"ready": (ready or {}).get(backend, True)},
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": backend}}
        await h.client.create(Kind.ENDPOINTSLICE, "default", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{name}-", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "endpoints": [endpoint], "ports": [{"name": "tcp", "port": port, "protocol": "TCP"}]})
    return svc


async def test_a_node_port_spreads_connections_over_the_ready_endpoints(h: Harness) -> None:
    async with backends("a", "b", "unready") as ports:
        svc = await make_service(h, "web", ports, ready={"unready": False})
        node_port = svc["spec"]["ports"][0]["nodePort"]
        await eventually(lambda: ask(node_port))
        answers = [await ask(node_port) for _ in range(12)]
        assert set(answers) == {"a", "b"}, answers  # every ready endpoint, never the unready one

        await h.client.delete(Kind.SERVICE, "default", "web")

        async def closed() -> bool:
            return await ask(node_port) is None

        await eventually(closed)


async def test_client_ip_affinity_keeps_one_backend(h: Harness) -> None:
    async with backends("a", "b", "c") as ports:
        svc = await make_service(h, "sticky", ports, sessionAffinity="ClientIP")
        node_port = svc["spec"]["ports"][0]["nodePort"]
        await eventually(lambda: ask(node_port))
        assert len({await ask(node_port) for _ in range(9)}) == 1


async def test_a_load_balancer_listens_on_its_port_and_shows_the_host_address(h: Harness) -> None:
    own = free_port(20000, 29000)
    async with backends("a") as ports:
        await make_service(h, "lb", ports, kind="LoadBalancer", port={"port": own})

        async def ingress() -> list[Obj] | None:
            svc = await h.client.get(Kind.SERVICE, "default", "lb")
            return ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")

        assert await eventually(ingress) == [{"ip": "127.0.0.1", "ipMode": "VIP"}]
        assert await ask(own) == "a"
        svc = await h.client.get(Kind.SERVICE, "default", "lb")
        assert await ask(svc["spec"]["ports"][0]["nodePort"]) == "a"


async def test_a_taken_host_port_is_a_warning_event_and_the_rest_keeps_working(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_module, "RETRY_SECONDS", 0.2)
    taken = free_port()
    holder = socket.socket()
    holder.bind(("127.0.0.1", taken))
    holder.listen()
    try:
        async with backends("a") as ports:
            await make_service(h, "blocked", ports, port={"port": 80, "nodePort": taken})
            ok = await make_service(h, "fine", ports)

            async def warning() -> Obj | None:
                events = await h.client.list(Kind.EVENT, "default")
                return next((e for e in events if e["reason"] == "HostPortUnavailable"
                             and e["involvedObject"]["name"] == "blocked"), None)

            event = await eventually(warning)
            assert event["type"] == "Warning" and f"127.0.0.1:{taken}" in event["message"], event
            assert await eventually(lambda: ask(ok["spec"]["ports"][0]["nodePort"])) == "a"
            holder.close()  # the other program lets go: the port opens on the next try
            assert await eventually(lambda: ask(taken)) == "a"
    finally:
        holder.close()
