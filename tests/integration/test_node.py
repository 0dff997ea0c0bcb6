"""NodeStatusAgent against an in-process store: registration, heartbeats, the Lease, adoption."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.cluster import bootstrap
from boxk8s.kubelet.node import HostFacts, NodeStatusAgent
from boxk8s.kubelet.settings import NodeSettings
from boxk8s.resources.layer import Resources
from boxk8s.store import Store, StoreSettings
from tests.integration.waiting import wait_for_condition

DEADLINE = 10.0
HOST = HostFacts(arch="amd64", kernel_version="6.1.0-test", os_image="Debian GNU/Linux 12 (bookworm)",
                 boot_id="boot-1", ephemeral_storage_bytes=100 * 1024**3)


class StepClock:
    """Wall time that advances by one second per sleep; sleeps yield without waiting."""

    def __init__(self) -> None:
        self.t = datetime(2025, 1, 1, tzinfo=UTC).timestamp()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 1.0)
        await asyncio.sleep(0.01)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db"))
    try:
        resources = Resources(store)
        await bootstrap(resources)
        yield Client(resources, "test")
    finally:
        await store.close()


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


@contextlib.asynccontextmanager
async def running(agent: NodeStatusAgent) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(agent.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def settings(**kw: Any) -> NodeSettings:
    base: dict[str, Any] = {"name": "node-a", "cpu_millis": 1500, "memory_bytes": 2 * 1024**3,
                            "heartbeat_seconds": 0.05}
    base.update(kw)
    return NodeSettings(**base)


def condition(node: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == type_)


async def test_registers_the_node_with_labels_status_and_info(client: Client) -> None:
    s = settings(labels=(("team", "a"),), taints=({"key": "dedicated", "value": "x", "effect": "NoSchedule"},))
    agent = NodeStatusAgent(client, s, clock=StepClock(), host=HOST, control_plane=True,
                            runtime_version="docker://24.0.7", address="10.0.0.5")
    async with running(agent):
        node = await eventually(lambda: client.get(Kind.NODE, None, "node-a"))
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "node-a"
    assert labels["kubernetes.io/os"] == labels["beta.kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] == labels["beta.kubernetes.io/arch"] == "amd64"
    assert labels["node-role.kubernetes.io/control-plane"] == ""
    assert labels["team"] == "a"
    assert "node.boxk8s.io/fake" not in labels
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    status = node["status"]
    assert status["capacity"]["cpu"] == "1500m" and status["allocatable"]["cpu"] == "1500m"
    assert status["capacity"]["memory"] == "2097152Ki"
    assert status["capacity"]["pods"] == "110"
    assert status["capacity"]["ephemeral-storage"] == f"{100 * 1024**2}Ki"
    ready = condition(node, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "KubeletReady", "kubelet is posting ready status")
    for type_, reason in (("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"),
                          ("PIDPressure", "KubeletHasSufficientPID")):
        c = condition(node, type_)
        assert (c["status"], c["reason"]) == ("False", reason)
        assert c["lastHeartbeatTime"] and c["lastTransitionTime"]
    assert status["addresses"] == [{"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "node-a"}]
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == s.kubelet_version
    assert info["containerRuntimeVersion"] == "docker://24.0.7"
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"
    assert info["kernelVersion"] == "6.1.0-test" and info["osImage"].startswith("Debian")
    assert info["machineID"] and info["systemUUID"] and info["bootID"]
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250


async def test_fake_node_is_labelled_and_reports_fake_runtime(client: Client) -> None:
    agent = NodeStatusAgent(client, settings(name="fake-1", fake=True, cpu_millis=4000), clock=StepClock(), host=HOST)
    async with running(agent):
        node = await eventually(lambda: client.get(Kind.NODE, None, "fake-1"))
    assert node["metadata"]["labels"]["node.boxk8s.io/fake"] == "true"
    assert "node-role.kubernetes.io/control-plane" not in node["metadata"]["labels"]
    assert node["status"]["capacity"]["cpu"] == "4"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"] == "fake://"


async def test_heartbeats_advance_and_the_lease_is_renewed(client: Client) -> None:
    clock = StepClock()
    agent = NodeStatusAgent(client, settings(), clock=clock, host=HOST)
    async with running(agent):
        first = await eventually(lambda: client.get(Kind.LEASE, "kube-node-lease", "node-a"))
        node = await client.get(Kind.NODE, None, "node-a")
        beat0 = condition(node, "Ready")["lastHeartbeatTime"]
        transition0 = condition(node, "Ready")["lastTransitionTime"]

        async def advanced() -> bool:
            lease = await client.get(Kind.LEASE, "kube-node-lease", "node-a")
            n = await client.get(Kind.NODE, None, "node-a")
            return (lease["spec"]["renewTime"] > first["spec"]["renewTime"]
                    and condition(n, "Ready")["lastHeartbeatTime"] > beat0)
        await eventually(advanced)
    lease = await client.get(Kind.LEASE, "kube-node-lease", "node-a")
    assert lease["spec"]["holderIdentity"] == "node-a"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert len(lease["spec"]["renewTime"]) == len("2025-01-01T00:00:00.000000Z")
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    node = await client.get(Kind.NODE, None, "node-a")
    assert condition(node, "Ready")["lastTransitionTime"] == transition0  # no transition, only heartbeats


async def test_restart_adopts_the_existing_node(client: Client) -> None:
    agent = NodeStatusAgent(client, settings(), clock=StepClock(), host=HOST)
    async with running(agent):
        await eventually(lambda: client.get(Kind.NODE, None, "node-a"))
    # Someone cordons the node and adds a label and a taint while the kubelet is down (a write the
    # cancelled agent had already submitted may still land: retry on Conflict, as clients do).
    for _attempt in range(10):
        node = await client.get(Kind.NODE, None, "node-a")
        node["spec"]["unschedulable"] = True
        node["spec"]["taints"] = [{"key": "maintenance", "effect": "NoSchedule"}]
        node["metadata"]["labels"]["extra"] = "kept"
        try:
            await client.update(Kind.NODE, node)
            break
        except errors.Conflict:
            await asyncio.sleep(0.05)
    again = NodeStatusAgent(client, settings(labels=(("team", "b"),)), clock=StepClock(), host=HOST)
    async with running(again):
        await again.registered.wait()
        adopted = await client.get(Kind.NODE, None, "node-a")
    assert adopted["metadata"]["uid"] == node["metadata"]["uid"]
    assert adopted["spec"]["unschedulable"] is True
    assert adopted["spec"]["taints"] == [{"key": "maintenance", "effect": "NoSchedule"}]
    assert adopted["metadata"]["labels"]["extra"] == "kept"
    assert adopted["metadata"]["labels"]["team"] == "b"
    assert condition(adopted, "Ready")["status"] == "True"


async def test_set_not_ready_and_events(client: Client) -> None:
    agent = NodeStatusAgent(client, settings(heartbeat_seconds=3600), clock=StepClock(), host=HOST)
    async with running(agent):
        async def reported_ready() -> bool:
            return any(e["reason"] == "NodeReady" for e in await client.list(Kind.EVENT, "default"))
        await eventually(reported_ready)
        await agent.set_not_ready("kubelet is shutting down")
        node = await client.get(Kind.NODE, None, "node-a")
        ready = condition(node, "Ready")
        assert (ready["status"], ready["reason"], ready["message"]) == ("False", "KubeletNotReady", "kubelet is shutting down")

        async def reasons() -> set[str]:
            found = {e["reason"] for e in await client.list(Kind.EVENT, "default")}
            return found if {"Starting", "NodeReady", "NodeNotReady", "NodeHasSufficientMemory"} <= found else set()
        await eventually(reasons)
    events = await client.list(Kind.EVENT, "default")
    starting = next(e for e in events if e["reason"] == "Starting")
    assert starting["message"] == "Starting kubelet."
    assert starting["involvedObject"]["kind"] == "Node" and starting["involvedObject"]["name"] == "node-a"
    assert starting["source"] == {"component": "kubelet", "host": "node-a"}
    ready = next(e for e in events if e["reason"] == "NodeReady")
    assert ready["message"] == "Node node-a status is now: NodeReady"


async def test_event_recorder_aggregates_within_ten_minutes(client: Client) -> None:
    from boxk8s.events import EventRecorder

    now = [1_700_000_000.0]
    recorder = EventRecorder(client, "kubelet", "node-a", clock=lambda: now[0])
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "7"}}
    await recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
    now[0] += 30
    await recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
    await recorder.event(pod, "Normal", "Pulled", "Container image already present")
    events = await client.list(Kind.EVENT, "default")
    backoff = [e for e in events if e["reason"] == "BackOff"]
    assert len(backoff) == 1 and backoff[0]["count"] == 2
    e = backoff[0]
    assert e["metadata"]["name"].startswith("web.")
    assert e["firstTimestamp"] == "2023-11-14T22:13:20Z" and e["lastTimestamp"] == "2023-11-14T22:13:50Z"
    assert e["involvedObject"] == {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u-1",
                                   "apiVersion": "v1", "resourceVersion": "7"}
    assert e["source"] == {"component": "kubelet", "host": "node-a"}
    assert (e["reportingComponent"], e["reportingInstance"], e["type"]) == ("kubelet", "node-a", "Warning")
    now[0] += 601
    await recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
    assert len([e for e in await client.list(Kind.EVENT, "default") if e["reason"] == "BackOff"]) == 2
    # Failures are logged, never raised: an object in a namespace that does not exist.
    await recorder.event({**pod, "metadata": {**pod["metadata"], "namespace": "nope"}}, "Normal", "X", "y")


async def test_event_recorder_combines_similar_events_and_filters_spam(client: Client) -> None:
    """A ReplicaSet creating 30 pods: nine events, then one combined event counting the next
    ones, until the burst of 25 events about the object is spent (as client-go records them)."""
    from boxk8s.events import EventRecorder

    recorder = EventRecorder(client, "replicaset-controller", clock=lambda: 1_700_000_000.0)
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default", "uid": "u"}}
    for i in range(30):
        await recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: web-{i:02d}")
    events = sorted((e for e in await client.list(Kind.EVENT, "default") if e["reason"] == "SuccessfulCreate"),
                    key=lambda e: e["message"])
    combined = [e for e in events if e["message"].startswith("(combined from similar events): ")]
    assert [e["message"] for e in events if e not in combined] == [f"Created pod: web-{i:02d}" for i in range(9)]
    assert len(combined) == 1
    assert combined[0]["count"] == 16 and combined[0]["message"].endswith("Created pod: web-24")
