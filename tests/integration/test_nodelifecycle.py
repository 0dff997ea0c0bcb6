"""Node lifecycle: a kubelet stops (`boxk8s node stop`'s annotation) → Unknown, taints, eviction, recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.controllers.nodelifecycle import NodeLifecycleController
from boxk8s.kubelet.settings import NodeSettings
from boxk8s.kubelet.simulate import SIMULATE_ANNOTATION
from tests.integration.controllers_harness import Harness, eventually, harness


def fast_nlc(client: Client, factory: InformerFactory) -> NodeLifecycleController:
    c = NodeLifecycleController(client, factory)
    c.grace_seconds = 1.0
    c.eviction_seconds = 1.0
    return c


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [fast_nlc], nodes=2,
                       node_settings=lambda n: NodeSettings(n, fake=True, heartbeat_seconds=0.2)) as env:
        yield env


def pod(name: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "1d"]}]}}


def ready(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def set_stopped(h: Harness, name: str, stopped: bool) -> None:
    await h.client.patch(Kind.NODE, None, name,
                         {"metadata": {"annotations": {SIMULATE_ANNOTATION: "stopped" if stopped else None}}})


async def test_stopped_node_turns_unknown_is_tainted_evicts_and_recovers(h: Harness) -> None:
    await h.client.create(Kind.POD, "default", pod("victim", "node-1"))
    await h.client.create(Kind.POD, "default", pod("bystander", "node-2"))

    async def running() -> bool:
        pods = await h.client.list(Kind.POD, "default")
        return len(pods) == 2 and all(p["status"].get("phase") == "Running" for p in pods)

    await eventually(running)
    await set_stopped(h, "node-1", True)

    async def unknown() -> dict[str, Any] | None:
        n = await h.client.get(Kind.NODE, None, "node-1")
        return n if ready(n)["status"] == "Unknown" else None

    n = await eventually(unknown)
    assert ready(n)["reason"] == "NodeStatusUnknown" and ready(n)["message"] == "Kubelet stopped posting node status."

    async def tainted() -> list[tuple[str, str]] | None:
        n = await h.client.get(Kind.NODE, None, "node-1")
        taints = sorted((t["key"], t["effect"]) for t in n["spec"].get("taints") or [])
        return taints or None

    assert await eventually(tainted) == [("node.kubernetes.io/unreachable", "NoExecute"),
                                         ("node.kubernetes.io/unreachable", "NoSchedule")]

    async def containers_stopped() -> bool:  # the simulated stop and the taint race under load: wait, don't assume
        return all(c.status != "running" for c in await h.runtimes["node-1"].list_containers())

    assert await eventually(containers_stopped)
    events = [e for e in await h.client.list(Kind.EVENT, "default") if e["reason"] == "NodeNotReady"]
    assert events and events[0]["involvedObject"]["name"] == "node-1"

    async def evicted() -> dict[str, Any] | None:
        p = await h.client.get(Kind.POD, "default", "victim")
        return p if p["metadata"].get("deletionTimestamp") else None

    victim = await eventually(evicted)
    disruption = next(c for c in victim["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert disruption["reason"] == "DeletionByTaintManager"
    by = await h.client.get(Kind.POD, "default", "bystander")
    assert not by["metadata"].get("deletionTimestamp")
    assert (await h.client.get(Kind.NODE, None, "node-2"))["spec"].get("taints") is None

    await set_stopped(h, "node-1", False)

    async def recovered() -> bool:
        n = await h.client.get(Kind.NODE, None, "node-1")
        return ready(n)["status"] == "True" and not n["spec"].get("taints")

    await eventually(recovered)

    async def victim_gone() -> bool:
        try:
            await h.client.get(Kind.POD, "default", "victim")
        except errors.NotFound:
            return True
        return False

    await eventually(victim_gone)
