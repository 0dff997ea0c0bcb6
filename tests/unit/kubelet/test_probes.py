"""Probes against local asyncio servers; the Prober's counting with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from boxk8s.kubelet.probes import (
    ProbeOutcome,
    Prober,
    ProbeSettings,
    exec_probe,
    http_get,
    resolve_port,
    run_probe,
    tcp_socket,
)
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime


async def _server(handler: Any) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def http_port() -> AsyncIterator[int]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        path = head.split(b" ")[1]
        code = {b"/ok": 200, b"/redirect": 302, b"/bad": 500}.get(path, 404)
        if b"X-Check: yes" in head and path == b"/header":
            code = 204
        writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async for port in _server(handle):
        yield port


@pytest.mark.parametrize(("path", "ok"), [("/ok", True), ("/redirect", True), ("/bad", False), ("/nope", False)])
async def test_http_get(http_port: int, path: str, ok: bool) -> None:
    got = await http_get("127.0.0.1", http_port, path, timeout=2)
    assert got.ok is ok
    if path == "/bad":
        assert got.message == "HTTP probe failed with statuscode: 500"


async def test_http_headers(http_port: int) -> None:
    got = await http_get("127.0.0.1", http_port, "/header", headers=[{"name": "X-Check", "value": "yes"}])
    assert got.ok


async def test_http_refused_and_tcp() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    assert (await tcp_socket("127.0.0.1", port)).ok
    server.close()
    await server.wait_closed()
    got = await tcp_socket("127.0.0.1", port)
    assert not got.ok and got.message == f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    got = await http_get("127.0.0.1", port, "/x")
    assert not got.ok and "connection refused" in got.message


async def test_run_probe_named_port_and_exec(http_port: int) -> None:
    rt = FakeRuntime(RuntimeSettings())
    container = {"name": "app", "ports": [{"name": "web", "containerPort": http_port}]}
    probe = {"httpGet": {"path": "/ok", "port": "web"}, "timeoutSeconds": 2}
    assert (await run_probe(probe, runtime=rt, container_id="x", container=container, pod_ip="127.0.0.1")).ok
    assert resolve_port("8080", {}) == 8080
    with pytest.raises(ValueError):
        resolve_port("nope", container)
    assert (await run_probe({"tcpSocket": {"port": 1}}, runtime=rt, container_id="x", container=container,
                            pod_ip="10.0.0.1", simulated_network=True)).ok


def test_defaults() -> None:
    s = ProbeSettings.of({}, "liveness")
    assert (s.initial_delay, s.period, s.timeout, s.success_threshold, s.failure_threshold) == (0, 10, 1, 1, 3)
    assert ProbeSettings.of({"successThreshold": 3}, "liveness").success_threshold == 1
    assert ProbeSettings.of({"successThreshold": 3}, "readiness").success_threshold == 3


class StepClock:
    """sleep() hands control back to the test: each call is counted and returns at once."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


async def test_prober_thresholds_and_stop_on_liveness_failure() -> None:
    outcomes = iter([True, False, False, False, True])
    results: list[tuple[str, bool | None]] = []

    async def attempt() -> ProbeOutcome:
        return ProbeOutcome(next(outcomes), "boom")

    clock = StepClock()
    prober = Prober("liveness", {"periodSeconds": 5, "initialDelaySeconds": 2}, attempt, clock,
                    lambda k, ok, m: results.append((k, ok)))
    await asyncio.wait_for(prober.run(), 5)  # returns after the failure threshold
    assert results == [("liveness", True), ("liveness", None), ("liveness", None), ("liveness", None),
                       ("liveness", False)]
    assert clock.sleeps == [2, 5, 5, 5]


async def test_readiness_flips_and_startup_gate() -> None:
    outcomes = iter([False, True, True, False, False, False])
    results: list[bool | None] = []
    started = False

    async def attempt() -> ProbeOutcome:
        return ProbeOutcome(next(outcomes))

    clock = StepClock()
    prober = Prober("readiness", {"successThreshold": 2, "failureThreshold": 3}, attempt, clock,
                    lambda k, ok, m: results.append(ok), gate=lambda: started)
    task = asyncio.create_task(prober.run())
    async with asyncio.timeout(5):
        while len(clock.sleeps) < 3:
            await asyncio.sleep(0)
        assert results == []  # gated while not started
        started = True
        while len(results) < 6:
            await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert results == [None, True, None, None, None, False]


async def test_a_probe_the_runtime_could_not_run_counts_for_nothing() -> None:
    """prober/worker.go doProbe: a probe error (Docker unreachable) is thrown away, so a container
    is not restarted because its runtime was away."""
    class Down(FakeRuntime):
        async def exec_probe(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
            raise ConnectionError("cannot reach the Docker Engine")

    outcome = await exec_probe(Down(RuntimeSettings()), "x", ["true"])
    assert (outcome.ok, outcome.errored) == (False, True)
    outcomes = iter([outcome, outcome, outcome, ProbeOutcome(False, "exit 1")])
    results: list[tuple[str, bool | None]] = []

    async def attempt() -> ProbeOutcome:
        return next(outcomes)

    prober = Prober("liveness", {"periodSeconds": 1, "failureThreshold": 1}, attempt, StepClock(),
                    lambda k, ok, m: results.append((k, ok)))
    await asyncio.wait_for(prober.run(), 5)
    assert results == [("liveness", None), ("liveness", False)]  # only the real failure counted
