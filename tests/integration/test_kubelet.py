"""A kubelet on a fake runtime against the real resource layer and store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.podstreams import LogOptions
from boxk8s.cluster import bootstrap
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.streams import KubeletStreams
from boxk8s.resources.layer import Resources
from boxk8s.resources.tables_workloads import pod_status
from boxk8s.store import Store, StoreSettings
from tests.integration.waiting import wait_for_condition

NODE = "node-1"
DEADLINE = 10.0
FAST = KubeletSettings(crashloop_base_seconds=0.2, crashloop_max_seconds=1.0, image_backoff_base_seconds=0.2,
                       image_backoff_max_seconds=1.0, status_resync_seconds=0.5)


@dataclass
class Env:
    client: Client
    runtime: FakeRuntime
    state_dir: Path
    kubelet: Kubelet
    task: asyncio.Task[None]

    async def restart_kubelet(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.kubelet = Kubelet(self.client, self.runtime, NodeSettings(NODE, fake=True), FAST, self.state_dir)
        self.task = asyncio.create_task(self.kubelet.run(), name="kubelet")
        async with asyncio.timeout(DEADLINE):
            await self.kubelet.ready.wait()


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db"))
    resources = Resources(store)
    await bootstrap(resources)
    client = Client(resources, "kubelet")
    runtime = FakeRuntime(RuntimeSettings(cluster="test", node=NODE, state_dir=tmp_path / "state"))
    await runtime.start()
    kubelet = Kubelet(client, runtime, NodeSettings(NODE, fake=True), FAST, tmp_path / "state")
    task = asyncio.create_task(kubelet.run(), name="kubelet")
    e = Env(client, runtime, tmp_path / "state", kubelet, task)
    async with asyncio.timeout(DEADLINE):
        await kubelet.ready.wait()
    try:
        yield e
    finally:
        e.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await e.task
        await store.close()


def pod(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
        "nodeName": NODE,
    }
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": body}


async def get_pod(env: Env, name: str) -> dict[str, Any]:
    return await env.client.get(Kind.POD, "default", name)


def condition(p: dict[str, Any], ctype: str) -> str | None:
    for c in (p.get("status") or {}).get("conditions") or []:
        if c["type"] == ctype:
            return c["status"]
    return None


async def test_pod_runs_and_reports_status(env: Env) -> None:
    created = await env.client.create(Kind.POD, "default", pod("web", initContainers=[
        {"name": "init", "image": "busybox:1.36", "command": ["true"]}]))

    async def running() -> dict[str, Any] | None:
        p = await get_pod(env, "web")
        return p if p["status"].get("phase") == "Running" and condition(p, "Ready") == "True" else None

    p = await eventually(running)
    st = p["status"]
    assert st["podIP"].startswith("10.244.") and st["podIPs"] == [{"ip": st["podIP"]}]
    assert st["hostIP"] == "127.0.0.1"
    assert st["qosClass"] == "BestEffort" and st["startTime"]
    for ctype in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"):
        assert condition(p, ctype) == "True", ctype
    [cs] = st["containerStatuses"]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["containerID"].startswith("fake://") and cs["imageID"].startswith("sha256:")
    assert "running" in cs["state"]
    [ics] = st["initContainerStatuses"]
    assert ics["state"]["terminated"]["reason"] == "Completed"
    assert pod_status(p)[0] == "Running"
    assert p["metadata"]["uid"] == created["metadata"]["uid"]

    async def events() -> list[str]:
        evs = await env.client.list(Kind.EVENT, "default")
        reasons = [e["reason"] for e in evs if e["involvedObject"].get("name") == "web"]
        return reasons if {"Pulled", "Created", "Started"} <= set(reasons) else []

    await eventually(events)


async def test_delete_stops_containers_then_removes_pod(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("gone"))

    async def started() -> bool:
        return (await get_pod(env, "gone"))["status"].get("phase") == "Running"

    await eventually(started)
    uid = (await get_pod(env, "gone"))["metadata"]["uid"]
    _, gone_now = await env.client.delete(Kind.POD, "default", "gone")
    assert not gone_now  # graceful: the kubelet finishes it

    async def removed() -> bool:
        try:
            await get_pod(env, "gone")
        except errors.NotFound:
            return True
        return False

    await eventually(removed)
    assert not [c for c in await env.runtime.list_containers() if c.pod_uid == uid]
    assert not [s for s in await env.runtime.list_sandboxes() if s.pod_uid == uid]


async def test_restart_adopts_running_containers(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("keep", restartPolicy="Always"))

    async def running() -> bool:
        return (await get_pod(env, "keep"))["status"].get("phase") == "Running"

    await eventually(running)
    [first] = [c for c in await env.runtime.list_containers() if c.pod_name == "keep"]
    env.runtime.exit_container(first.id, 1)  # one crash, so restartCount is 1

    async def restarted() -> dict[str, Any] | None:
        p = await get_pod(env, "keep")
        cs = p["status"]["containerStatuses"][0]
        return p if cs["restartCount"] == 1 and "running" in cs["state"] else None

    before = await eventually(restarted)
    ids_before = sorted(c.id for c in await env.runtime.list_containers() if c.pod_name == "keep")
    await env.restart_kubelet()
    # A few resyncs later nothing was recreated and the count is unchanged.
    worker = env.kubelet.workers[before["metadata"]["uid"]]
    await eventually(lambda: _true(len(worker.containers) == 2))
    await _resynced(env)
    ids_after = sorted(c.id for c in await env.runtime.list_containers() if c.pod_name == "keep")
    assert ids_after == ids_before
    after = await get_pod(env, "keep")
    cs = after["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1 and cs["containerID"] == before["status"]["containerStatuses"][0]["containerID"]


async def _true(value: bool) -> bool:
    return value


async def _resynced(env: Env) -> None:
    """Two runtime listings and a few worker rounds after them have happened."""
    start = env.kubelet.resyncs
    await eventually(lambda: _true(env.kubelet.resyncs >= start + 2))
    for worker in list(env.kubelet.workers.values()):
        rounds = worker.syncs
        worker.wake()
        await eventually(lambda w=worker, r=rounds: _true(w.syncs > r))


async def test_orphans_removed_on_start(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("orphan"))
    await eventually(lambda: _phase(env, "orphan", "Running"))
    uid = (await get_pod(env, "orphan"))["metadata"]["uid"]
    env.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await env.task
    await env.client.delete(Kind.POD, "default", "orphan", {"gracePeriodSeconds": 0})
    await env.restart_kubelet()

    async def cleaned() -> bool:
        return not [c for c in await env.runtime.list_containers() if c.pod_uid == uid] and \
            not [s for s in await env.runtime.list_sandboxes() if s.pod_uid == uid]

    await eventually(cleaned)


async def _phase(env: Env, name: str, phase: str) -> bool:
    return (await get_pod(env, name))["status"].get("phase") == phase


async def test_crashloop_backoff_and_completed(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("crash", containers=[
        {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "exit 2"]}]))

    async def crashlooping() -> dict[str, Any] | None:
        p = await get_pod(env, "crash")
        cs = p["status"]["containerStatuses"][0]
        waiting = cs["state"].get("waiting") or {}
        return p if waiting.get("reason") == "CrashLoopBackOff" else None

    p = await eventually(crashlooping)
    cs = p["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 2 and cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["state"]["waiting"]["message"].startswith("back-off ")
    assert f"restarting failed container=app pod=crash_default({p['metadata']['uid']})" in \
        cs["state"]["waiting"]["message"]
    assert p["status"]["phase"] == "Running"
    assert pod_status(p)[0] == "CrashLoopBackOff"

    await env.client.create(Kind.POD, "default", pod("job", restartPolicy="Never", containers=[
        {"name": "app", "image": "busybox:1.36", "command": ["true"]}]))
    await eventually(lambda: _phase(env, "job", "Succeeded"))
    assert pod_status(await get_pod(env, "job"))[0] == "Completed"
    await env.client.create(Kind.POD, "default", pod("bad", restartPolicy="Never", containers=[
        {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}]))
    await eventually(lambda: _phase(env, "bad", "Failed"))
    assert pod_status(await get_pod(env, "bad"))[0] == "Error"


async def test_missing_configmap_and_image_errors(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("cfg", containers=[{
        "name": "app", "image": "busybox:1.36",
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]}]))

    async def config_error() -> dict[str, Any] | None:
        cs = (await get_pod(env, "cfg"))["status"].get("containerStatuses") or [{}]
        waiting = (cs[0].get("state") or {}).get("waiting") or {}
        return waiting if waiting.get("reason") == "CreateContainerConfigError" else None

    waiting = await eventually(config_error)
    assert waiting["message"] == 'configmap "nope" not found'
    await env.client.create(Kind.CONFIGMAP, "default", {"metadata": {"name": "nope"}, "data": {"k": "v"}})
    await eventually(lambda: _phase(env, "cfg", "Running"))

    env.runtime.missing_images.add("nothere:1")
    await env.client.create(Kind.POD, "default", pod("img", containers=[{"name": "app", "image": "nothere:1"}]))

    async def pull_backoff() -> bool:
        cs = (await get_pod(env, "img"))["status"].get("containerStatuses") or [{}]
        reason = ((cs[0].get("state") or {}).get("waiting") or {}).get("reason")
        return reason == "ImagePullBackOff"

    await eventually(pull_backoff)


async def test_liveness_failure_restarts(env: Env) -> None:
    env.runtime.probe_exit_codes["app"] = 1
    await env.client.create(Kind.POD, "default", pod("live", containers=[{
        "name": "app", "image": "busybox:1.36",
        "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}}]))

    async def restarted() -> bool:
        cs = (await get_pod(env, "live"))["status"].get("containerStatuses") or [{}]
        return cs[0].get("restartCount", 0) >= 1

    await eventually(restarted)
    evs = await env.client.list(Kind.EVENT, "default")
    messages = [e["message"] for e in evs if e["involvedObject"].get("name") == "live"]
    assert "Container app failed liveness probe, will be restarted" in messages
    assert any(m.startswith("Liveness probe failed") for m in messages)


async def test_streams(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("two", containers=[
        {"name": "a", "image": "busybox:1.36"}, {"name": "b", "image": "busybox:1.36"}]))
    await eventually(lambda: _phase(env, "two", "Running"))
    p = await get_pod(env, "two")
    streams = KubeletStreams({NODE: env.kubelet})
    with pytest.raises(errors.BadRequest, match=r"a container name must be specified for pod two, "
                                                r"choose one of: \[a b\]"):
        async for _ in streams.logs(p, LogOptions()):
            pass
    worker = env.kubelet.worker_for(p)
    assert worker is not None
    [a] = [c for c in worker.containers.values() if c.name == "a"]
    env.runtime.append_log(a.id, "hello")
    env.runtime.append_log(a.id, "world")
    got = [chunk async for chunk in streams.logs(p, LogOptions(container="a", tail_lines=1))]
    assert got == [b"world\n"]
    got = [chunk async for chunk in streams.logs(p, LogOptions(container="a", limit_bytes=3))]
    assert b"".join(got) == b"hel"
    with pytest.raises(errors.BadRequest, match='previous terminated container "a" in pod "two" not found'):
        async for _ in streams.logs(p, LogOptions(container="a", previous=True)):
            pass
    session = await streams.exec(p, "b", ["ls"], stdin=False, tty=False)
    assert await session.wait() == 0
