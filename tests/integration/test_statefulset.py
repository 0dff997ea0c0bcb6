"""StatefulSets and the PVC binder against the store, the scheduler and kubelets on fake nodes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.cluster import bootstrap
from boxk8s.controllers.daemonset import DaemonSetController
from boxk8s.controllers.pvc import PERSISTENT_VOLUMES, PersistentVolumeBinder
from boxk8s.controllers.revision import CONTROLLER_REVISIONS
from boxk8s.controllers.statefulset import StatefulSetController
from boxk8s.events import EventRecorder
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.resources.layer import Resources
from boxk8s.scheduler import Scheduler
from boxk8s.store import Store, StoreSettings
from tests.integration.waiting import wait_for_condition

DEADLINE = 15.0
FAST = KubeletSettings(crashloop_base_seconds=0.2, crashloop_max_seconds=1.0, image_backoff_base_seconds=0.2,
                       image_backoff_max_seconds=1.0, status_resync_seconds=0.5)
assert Kind.STATEFULSET and Kind.POD and Kind.PVC and PERSISTENT_VOLUMES and CONTROLLER_REVISIONS


@dataclass
class Env:
    client: Client
    tmp: Path
    tg: asyncio.TaskGroup
    runtimes: dict[str, FakeRuntime] = field(default_factory=dict)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def add_node(self, name: str, **settings: Any) -> None:
        runtime = FakeRuntime(RuntimeSettings(cluster="test", node=name, state_dir=self.tmp / name))
        await runtime.start()
        kubelet = Kubelet(self.client, runtime, NodeSettings(name, fake=True, **settings), FAST, self.tmp / name)
        self.runtimes[name] = runtime
        self.tasks.append(self.tg.create_task(kubelet.run(), name=f"kubelet-{name}"))
        async with asyncio.timeout(DEADLINE):
            await kubelet.ready.wait()
        await eventually(lambda: self.client.get(Kind.NODE, None, name))

    def set_probe(self, container: str, code: int) -> None:
        for rt in self.runtimes.values():
            rt.probe_exit_codes[container] = code


@contextlib.asynccontextmanager
async def controller_env(tmp: Path, nodes: int = 2) -> AsyncIterator[Env]:
    """Store, scheduler, kubelets on fake nodes, and the StatefulSet, DaemonSet and PVC controllers."""
    store = await Store.open(StoreSettings(path=tmp / "db"))
    try:
        resources = Resources(store)
        await bootstrap(resources)
        client = Client(resources, "test")
        async with asyncio.TaskGroup() as tg:
            env = Env(client, tmp, tg)
            for i in range(1, nodes + 1):
                await env.add_node(f"node-{i}")
            sched_client = Client(resources, "default-scheduler")
            env.tasks.append(tg.create_task(Scheduler(sched_client, EventRecorder(sched_client, "s")).run()))
            factory = InformerFactory(Client(resources, "kube-controller-manager"))
            controllers = [cls(Client(resources, cls.name), factory)
                           for cls in (PersistentVolumeBinder, StatefulSetController, DaemonSetController)]
            env.tasks.append(tg.create_task(factory.run()))
            env.tasks += [tg.create_task(c.run(), name=c.name) for c in controllers]
            try:
                yield env
            finally:
                for t in env.tasks:
                    t.cancel()
    finally:
        await store.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with controller_env(tmp_path) as e:
        yield e


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


def statefulset(name: str = "web", replicas: int = 3, image: str = "nginx:1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                "name": "app", "image": image, "command": ["sleep", "3600"],
                "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
            **spec,
        },
    }


async def pods_of(env: Env, app: str = "web") -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in await env.client.list(Kind.POD, "default")
            if (p["metadata"].get("labels") or {}).get("app") == app}


def ready(p: dict[str, Any]) -> bool:
    return p["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])


async def sts_status(env: Env, name: str = "web") -> dict[str, Any]:
    return dict((await env.client.get(Kind.STATEFULSET, "default", name)).get("status") or {})


async def rolled_out(env: Env, replicas: int, name: str = "web") -> dict[str, Any] | None:
    """What `kubectl rollout status` waits for."""
    sts = await env.client.get(Kind.STATEFULSET, "default", name)
    st = sts.get("status") or {}
    done = (st.get("observedGeneration", 0) >= sts["metadata"]["generation"] and st.get("readyReplicas") == replicas
            and st.get("updatedReplicas") == replicas and st.get("currentRevision") == st.get("updateRevision")
            and st.get("replicas") == replicas)
    return st if done else None


async def scale(env: Env, replicas: int, name: str = "web") -> None:
    await env.client.patch(Kind.STATEFULSET, "default", name, {"spec": {"replicas": replicas}})


async def test_ordered_ready_creation_claims_and_status(env: Env) -> None:
    env.set_probe("app", 1)  # nobody gets ready
    async with watch_pods(env) as added:
        await env.client.create(Kind.STATEFULSET, "default", statefulset())
        await eventually(lambda: _has(env, "web-0"))
        await asyncio.sleep(1.0)
        assert set(await pods_of(env)) == {"web-0"}  # web-1 waits for web-0 to be Ready
        env.set_probe("app", 0)
        st = await eventually(lambda: rolled_out(env, 3))
    assert added == ["web-0", "web-1", "web-2"]
    assert st["availableReplicas"] == 3 and st["currentReplicas"] == 3
    assert st["currentRevision"].startswith("web-") and st["collisionCount"] == 0

    pods = await pods_of(env)
    assert set(pods) == {"web-0", "web-1", "web-2"}
    p1 = pods["web-1"]
    assert p1["metadata"]["labels"] == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
                                        "apps.kubernetes.io/pod-index": "1",
                                        "controller-revision-hash": st["updateRevision"]}
    assert p1["spec"]["hostname"] == "web-1" and p1["spec"]["subdomain"] == "web"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}} in p1["spec"]["volumes"]
    assert p1["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"

    async def bound() -> list[dict[str, Any]]:
        claims = [await env.client.get(Kind.PVC, "default", f"data-web-{i}") for i in range(3)]
        return claims if all(c["status"].get("phase") == "Bound" for c in claims) else []

    claims = await bound()
    for c in claims:
        assert c["metadata"]["labels"] == {"app": "web"}
        assert c["spec"]["storageClassName"] == "standard"
        assert c["status"]["capacity"] == {"storage": "1Gi"}
        pv = await env.client.get(PERSISTENT_VOLUMES, None, c["spec"]["volumeName"])
        assert pv["status"]["phase"] == "Bound" and pv["spec"]["claimRef"]["uid"] == c["metadata"]["uid"]

    [rev] = await env.client.list(CONTROLLER_REVISIONS, "default")
    assert rev["metadata"]["name"] == st["updateRevision"] and rev["revision"] == 1

    messages = {e["message"] for e in await env.client.list(Kind.EVENT, "default") if e["reason"] == "SuccessfulCreate"}
    assert "create Pod web-0 in StatefulSet web successful" in messages
    assert "create Claim data-web-2 Pod web-2 in StatefulSet web success" in messages


@contextlib.asynccontextmanager
async def watch_pods(env: Env) -> AsyncIterator[list[str]]:
    """Names of the pods created from now on, in the order the store saw them."""
    _, rv = await env.client.list_with_revision(Kind.POD, "default")
    added: list[str] = []

    async def pump() -> None:
        async for kind, obj in await env.client.watch(Kind.POD, "default", rv):
            if kind == "ADDED":
                added.append(obj["metadata"]["name"])

    task = asyncio.create_task(pump())
    try:
        yield added
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _has(env: Env, name: str) -> bool:
    return name in await pods_of(env)


async def test_scale_down_highest_first_and_claims_survive(env: Env) -> None:
    await env.client.create(Kind.STATEFULSET, "default", statefulset())
    await eventually(lambda: rolled_out(env, 3))
    uids = {n: p["metadata"]["uid"] for n, p in (await pods_of(env)).items()}
    await scale(env, 1)
    seen: list[set[str]] = []

    async def down() -> bool:
        pods = await pods_of(env)
        seen.append(set(pods))
        return set(pods) == {"web-0"}

    await eventually(down)
    # web-1 never went before web-2
    assert not any("web-2" in s and "web-1" not in s for s in seen)
    await eventually(lambda: _replicas_status(env, 1))
    claims = {c["metadata"]["name"] for c in await env.client.list(Kind.PVC, "default")}
    assert claims == {"data-web-0", "data-web-1", "data-web-2"}
    deleted = {e["message"] for e in await env.client.list(Kind.EVENT, "default") if e["reason"] == "SuccessfulDelete"}
    assert deleted == {"delete Pod web-2 in StatefulSet web successful", "delete Pod web-1 in StatefulSet web successful"}

    await scale(env, 3)
    await eventually(lambda: rolled_out(env, 3))
    pods = await pods_of(env)
    assert pods["web-0"]["metadata"]["uid"] == uids["web-0"] and pods["web-2"]["metadata"]["uid"] != uids["web-2"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-2"}} in pods["web-2"]["spec"]["volumes"]
    assert len(await env.client.list(Kind.PVC, "default")) == 3


async def test_deleted_pod_comes_back_with_its_claim(env: Env) -> None:
    await env.client.create(Kind.STATEFULSET, "default", statefulset(replicas=2))
    await eventually(lambda: rolled_out(env, 2))
    old = (await pods_of(env))["web-1"]["metadata"]["uid"]
    await env.client.delete(Kind.POD, "default", "web-1")

    async def back() -> bool:
        p = (await pods_of(env)).get("web-1")
        return bool(p and p["metadata"]["uid"] != old and ready(p))

    await eventually(back)
    assert len(await env.client.list(Kind.PVC, "default")) == 2


async def test_rolling_update_from_the_highest_ordinal(env: Env) -> None:
    await env.client.create(Kind.STATEFULSET, "default", statefulset())
    first = await eventually(lambda: rolled_out(env, 3))
    async with watch_pods(env) as added:
        await env.client.patch(Kind.STATEFULSET, "default", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:2"}]}}}}, "strategic")
        st = await eventually(lambda: rolled_out(env, 3))
    assert added == ["web-2", "web-1", "web-0"]
    assert st["updateRevision"] != first["updateRevision"] and st["currentRevision"] == st["updateRevision"]
    revs = {r["metadata"]["name"]: r["revision"] for r in await env.client.list(CONTROLLER_REVISIONS, "default")}
    assert revs == {first["updateRevision"]: 1, st["updateRevision"]: 2}

    # a partition keeps the lower ordinals at the current revision
    await env.client.patch(Kind.STATEFULSET, "default", "web", {"spec": {
        "updateStrategy": {"rollingUpdate": {"partition": 2}},
        "template": {"spec": {"containers": [{"name": "app", "image": "nginx:3"}]}}}}, "strategic")

    async def partitioned() -> dict[str, Any] | None:
        s = await sts_status(env)
        pods = await pods_of(env)
        images = {n: p["spec"]["containers"][0]["image"] for n, p in pods.items()}
        if s.get("updatedReplicas") == 1 and images == {"web-0": "nginx:2", "web-1": "nginx:2", "web-2": "nginx:3"} \
                and all(ready(p) for p in pods.values()):
            return s
        return None

    s = await eventually(partitioned)
    assert s["currentRevision"] == st["updateRevision"] and s["currentReplicas"] == 2
    await asyncio.sleep(0.5)
    assert (await pods_of(env))["web-1"]["spec"]["containers"][0]["image"] == "nginx:2"

    # rolling back to the first template reuses its revision with the next number
    await env.client.patch(Kind.STATEFULSET, "default", "web", {"spec": {
        "updateStrategy": {"rollingUpdate": {"partition": 0}},
        "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}}, "strategic")
    back = await eventually(lambda: rolled_out(env, 3))
    assert back["updateRevision"] == first["updateRevision"]
    revs = {r["metadata"]["name"]: r["revision"] for r in await env.client.list(CONTROLLER_REVISIONS, "default")}
    assert revs[first["updateRevision"]] == 4


async def test_parallel_and_on_delete(env: Env) -> None:
    env.set_probe("app", 1)
    await env.client.create(Kind.STATEFULSET, "default", statefulset(
        podManagementPolicy="Parallel", updateStrategy={"type": "OnDelete"}))
    await eventually(lambda: _count(env, 3))  # all at once, none ready
    env.set_probe("app", 0)
    await eventually(lambda: _all_ready(env, 3))
    await env.client.patch(Kind.STATEFULSET, "default", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:2"}]}}}}, "strategic")
    await asyncio.sleep(1.0)
    assert {p["spec"]["containers"][0]["image"] for p in (await pods_of(env)).values()} == {"nginx:1"}
    st = await sts_status(env)
    assert st["currentRevision"] != st["updateRevision"] and st["updatedReplicas"] == 0
    await env.client.delete(Kind.POD, "default", "web-1")

    async def replaced() -> bool:
        p = (await pods_of(env)).get("web-1")
        return bool(p and p["spec"]["containers"][0]["image"] == "nginx:2")

    await eventually(replaced)
    assert (await eventually(lambda: _updated(env, 1)))["currentReplicas"] == 2


async def _replicas_status(env: Env, n: int) -> bool:
    return (await sts_status(env)).get("replicas") == n


async def _count(env: Env, n: int) -> bool:
    return len(await pods_of(env)) == n


async def _all_ready(env: Env, n: int) -> bool:
    pods = await pods_of(env)
    return len(pods) == n and all(ready(p) for p in pods.values())


async def _updated(env: Env, n: int) -> dict[str, Any] | None:
    st = await sts_status(env)
    return st if st.get("updatedReplicas") == n else None


async def test_claim_binding_and_release(env: Env) -> None:
    await env.client.create(Kind.PVC, "default", {"metadata": {"name": "solo"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}})
    await env.client.create(Kind.PVC, "default", {"metadata": {"name": "other"}, "spec": {
        "storageClassName": "fast", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})

    async def bound() -> dict[str, Any] | None:
        c = await env.client.get(Kind.PVC, "default", "solo")
        return c if c["status"].get("phase") == "Bound" else None

    claim = await eventually(bound)
    pv_name = f"pvc-{claim['metadata']['uid']}"
    assert claim["spec"]["volumeName"] == pv_name
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    pv = await env.client.get(PERSISTENT_VOLUMES, None, pv_name)
    assert pv["spec"]["capacity"] == {"storage": "5Gi"} and pv["status"]["phase"] == "Bound"
    assert (await env.client.get(Kind.PVC, "default", "other"))["status"]["phase"] == "Pending"
    await env.client.delete(Kind.PVC, "default", "solo")

    async def released() -> bool:
        try:
            await env.client.get(PERSISTENT_VOLUMES, None, pv_name)
        except errors.NotFound:
            return True
        return False

    await eventually(released)
