"""Deployments end to end in-process: store, scheduler, kubelets on fake runtimes, RS + Deployment controllers."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.cluster import bootstrap
from boxk8s.controllers.deployment import DeploymentController
from boxk8s.controllers.deployment_plan import HASH_LABEL, REVISION
from boxk8s.controllers.podutil import is_pod_ready
from boxk8s.controllers.replicaset import ReplicaSetController
from boxk8s.events import EventRecorder
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.resources.layer import Resources
from boxk8s.scheduler import Scheduler
from boxk8s.store import Store, StoreSettings
from tests.integration.waiting import wait_for_condition

DEADLINE = 20.0
NODES = ("node-1", "node-2")
FAST = KubeletSettings(crashloop_base_seconds=0.2, crashloop_max_seconds=1.0, image_backoff_base_seconds=0.2,
                       image_backoff_max_seconds=1.0, status_resync_seconds=0.5)


@dataclass
class Env:
    client: Client
    runtimes: list[FakeRuntime]
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = await Store.open(StoreSettings(path=tmp_path / "db"))
    resources = Resources(store)
    await bootstrap(resources)
    client = Client(resources, "test")
    e = Env(client, [])
    try:
        for i, node in enumerate(NODES):
            rt = FakeRuntime(RuntimeSettings(cluster="test", node=node, state_dir=tmp_path / f"state{i}",
                                             pod_subnet=f"10.{10 + i}.0.0/16"))
            await rt.start()
            e.runtimes.append(rt)
            kubelet = Kubelet(Client(resources, "kubelet"), rt, NodeSettings(node, fake=True), FAST,
                              tmp_path / f"state{i}")
            e.tasks.append(asyncio.create_task(kubelet.run(), name=f"kubelet-{node}"))
        sched_client = Client(resources, "default-scheduler")
        e.tasks.append(asyncio.create_task(
            Scheduler(sched_client, EventRecorder(sched_client, "default-scheduler")).run(), name="scheduler"))
        factory = InformerFactory(Client(resources, "kube-controller-manager"))
        controllers = [cls(Client(resources, cls.name), factory) for cls in (ReplicaSetController, DeploymentController)]
        e.tasks.append(asyncio.create_task(factory.run(), name="informers"))
        e.tasks += [asyncio.create_task(c.run(), name=c.name) for c in controllers]
        yield e
    finally:
        for t in reversed(e.tasks):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await store.close()


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


def deployment(name: str = "web", replicas: int = 3, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{
                "name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"],
                # ready a moment after start, so a rollout takes several steps
                "readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 1, "periodSeconds": 1},
            }], "terminationGracePeriodSeconds": 0},
        },
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": body}

async def set_env(env: Env, value: str, name: str = "web") -> None:
    """Change the pod template (a new revision) by a strategic merge patch, as kubectl would: a
    get-then-update could meet the controller's own status write in between."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "V", "value": value}]}]}}}}
    await env.client.patch(Kind.DEPLOYMENT, "default", name, patch, patch_type="strategic")



async def pods_of(env: Env, app: str = "web") -> list[dict[str, Any]]:
    pods = await env.client.list(Kind.POD, "default")
    return [p for p in pods if (p["metadata"].get("labels") or {}).get("app") == app]


async def rollout_done(env: Env, name: str = "web") -> dict[str, Any]:
    """kubectl rollout status's test: observed, all updated, no old pods, all available."""
    async def check() -> dict[str, Any] | None:
        d = await env.client.get(Kind.DEPLOYMENT, "default", name)
        st = d.get("status") or {}
        want = d["spec"]["replicas"]
        done = (st.get("observedGeneration", 0) >= d["metadata"]["generation"]
                and st.get("updatedReplicas") == want and st.get("replicas") == want
                and st.get("availableReplicas") == want)
        return d if done else None
    return await eventually(check)


async def ready_pods(env: Env, count: int, app: str = "web") -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        live = [p for p in await pods_of(env, app) if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in live if is_pod_ready(p)]
        return ready if len(ready) == count and len(live) == count else None
    return await eventually(check)


async def test_deployment_of_three_becomes_three_ready_pods(env: Env) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment())
    pods = await ready_pods(env, 3)
    d = await rollout_done(env)
    [rs] = await env.client.list(Kind.REPLICASET, "default")
    h = rs["metadata"]["labels"][HASH_LABEL]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["metadata"]["annotations"][REVISION] == "1" and d["metadata"]["annotations"][REVISION] == "1"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "3"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
    [ref] = rs["metadata"]["ownerReferences"]
    assert ref["kind"] == "Deployment" and ref["controller"] and ref["blockOwnerDeletion"]
    for p in pods:
        assert p["metadata"]["name"].startswith(f"web-{h}-")
        assert p["metadata"]["labels"] == {"app": "web", HASH_LABEL: h}
        [pref] = p["metadata"]["ownerReferences"]
        assert pref["kind"] == "ReplicaSet" and pref["name"] == rs["metadata"]["name"] and pref["uid"] == rs["metadata"]["uid"]
    rs = await env.client.get(Kind.REPLICASET, "default", rs["metadata"]["name"])
    st = rs["status"]
    assert (st["replicas"], st["readyReplicas"], st["availableReplicas"], st["fullyLabeledReplicas"]) == (3, 3, 3, 3)
    assert st["observedGeneration"] == rs["metadata"]["generation"]
    conds = {c["type"]: c for c in d["status"]["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conds["Progressing"]["message"] == f'ReplicaSet "web-{h}" has successfully progressed.'
    assert d["status"]["unavailableReplicas"] == 0 and d["status"]["readyReplicas"] == 3

    async def events() -> set[str]:
        evs = await env.client.list(Kind.EVENT, "default")
        msgs = {e["message"] for e in evs}
        return msgs if f"Scaled up replica set web-{h} to 3 from 0" in msgs and any(
            m.startswith(f"Created pod: web-{h}-") for m in msgs) else set()
    await eventually(events)


async def test_deleted_pod_is_replaced(env: Env) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment())
    pods = await ready_pods(env, 3)
    victim = pods[0]["metadata"]["name"]
    await env.client.delete(Kind.POD, "default", victim)
    again = await ready_pods(env, 3)
    assert victim not in {p["metadata"]["name"] for p in again}
    await rollout_done(env)


async def test_replicaset_adopts_orphans_and_releases_strays(env: Env) -> None:
    orphan = {"metadata": {"name": "orphan", "namespace": "default", "labels": {"app": "solo"}},
              "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
                       "terminationGracePeriodSeconds": 0}}
    await env.client.create(Kind.POD, "default", orphan)
    await env.client.create(Kind.REPLICASET, "default", {
        "metadata": {"name": "solo", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "solo"}},
                 "template": orphan | {"metadata": {"labels": {"app": "solo"}}}}})

    async def adopted() -> list[dict[str, Any]] | None:
        pods = [p for p in await pods_of(env, "solo") if not p["metadata"].get("deletionTimestamp")]
        owned = [p for p in pods if p["metadata"].get("ownerReferences")]
        return pods if len(pods) == 2 and len(owned) == 2 else None
    pods = await eventually(adopted)
    assert "orphan" in {p["metadata"]["name"] for p in pods}
    # relabel the orphan: it is released and replaced
    # a patch, not get-then-update: the kubelet writes this pod's status meanwhile
    await env.client.patch(Kind.POD, "default", "orphan", {"metadata": {"labels": {"app": "other"}}})

    async def released() -> bool:
        p = await env.client.get(Kind.POD, "default", "orphan")
        pods = [q for q in await pods_of(env, "solo") if not q["metadata"].get("deletionTimestamp")]
        return not p["metadata"].get("ownerReferences") and len(pods) == 2
    await eventually(released)


async def watch_bounds(env: Env, stop: asyncio.Event, replicas: int) -> tuple[int, int, list[str]]:
    """Watch pods: the fewest available (ready, not terminating) and the most live pods, seen at any time."""
    _items, rv = await env.client.list_with_revision(Kind.POD, "default")
    pods = {p["metadata"]["name"]: p for p in _items if (p["metadata"].get("labels") or {}).get("app") == "web"}
    min_ready, max_live, log = replicas, 0, []
    events = await env.client.watch(Kind.POD, "default", rv)
    stopper = asyncio.ensure_future(stop.wait())
    it = events.__aiter__()
    while not stop.is_set():
        nxt = asyncio.ensure_future(it.__anext__())
        done, _ = await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if nxt not in done:
            nxt.cancel()
            break
        kind, obj = nxt.result()
        if (obj["metadata"].get("labels") or {}).get("app") != "web":
            continue
        if kind == "DELETED":
            pods.pop(obj["metadata"]["name"], None)
        else:
            pods[obj["metadata"]["name"]] = obj
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in live if is_pod_ready(p)]
        min_ready, max_live = min(min_ready, len(ready)), max(max_live, len(live))
        log.append(f"{kind} {obj['metadata']['name']}: live={len(live)} ready={len(ready)}")
    stopper.cancel()
    return min_ready, max_live, log


@pytest.mark.parametrize(("surge", "unavailable"), [(1, 0), (0, 1), ("50%", "25%")])
async def test_rolling_update_respects_surge_and_unavailable(env: Env, surge: Any, unavailable: Any) -> None:
    replicas = 4
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(replicas=replicas, strategy=strategy))
    await ready_pods(env, replicas)
    await rollout_done(env)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_bounds(env, stop, replicas))
    await asyncio.sleep(0.1)
    await set_env(env, "2")
    d = await rollout_done(env)
    await ready_pods(env, replicas)
    stop.set()
    min_ready, max_live, log = await watcher
    max_surge = {1: 1, 0: 0, "50%": 2}[surge]
    max_unavail = {0: 0, 1: 1, "25%": 1}[unavailable]
    assert min_ready >= replicas - max_unavail, log
    assert max_live <= replicas + max_surge, log
    # the bounds were reached, not merely respected: the rollout used what it was allowed
    assert max_live == replicas + max_surge and min_ready == replicas - max_unavail, log
    assert d["metadata"]["annotations"][REVISION] == "2"
    rss = await env.client.list(Kind.REPLICASET, "default")
    assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, replicas]
    for p in await pods_of(env):
        assert p["spec"]["containers"][0].get("env") == [{"name": "V", "value": "2"}]


async def test_undo_returns_to_previous_template(env: Env) -> None:
    """What `kubectl rollout undo` does: the previous revision's template patched back in."""
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(replicas=2))
    d = await rollout_done(env)
    original = copy.deepcopy(d["spec"]["template"])
    await set_env(env, "2")
    await rollout_done(env)
    rss = await env.client.list(Kind.REPLICASET, "default")
    [previous] = [rs for rs in rss if rs["metadata"]["annotations"][REVISION] == "1"]
    template = copy.deepcopy(previous["spec"]["template"])
    del template["metadata"]["labels"][HASH_LABEL]
    await env.client.patch(Kind.DEPLOYMENT, "default", "web",
                           [{"op": "replace", "path": "/spec/template", "value": template}], "json")
    d = await rollout_done(env)
    assert d["spec"]["template"] == original
    assert d["metadata"]["annotations"][REVISION] == "3"
    rs = await env.client.get(Kind.REPLICASET, "default", previous["metadata"]["name"])
    assert rs["spec"]["replicas"] == 2
    assert rs["metadata"]["annotations"][REVISION] == "3"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    for p in await ready_pods(env, 2):
        assert "env" not in p["spec"]["containers"][0]


async def test_recreate_scales_old_down_before_new_up(env: Env) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(replicas=2, strategy={"type": "Recreate"}))
    await rollout_done(env)
    stop = asyncio.Event()
    _items, rv = await env.client.list_with_revision(Kind.POD, "default")
    old_hash = _items[0]["metadata"]["labels"][HASH_LABEL]
    seen: list[tuple[str, str, bool]] = []

    async def watch() -> None:
        events = await env.client.watch(Kind.POD, "default", rv)
        async for kind, obj in events:
            seen.append((kind, obj["metadata"]["labels"].get(HASH_LABEL, ""),
                         bool(obj["metadata"].get("deletionTimestamp"))))
            if stop.is_set():
                return
    watcher = asyncio.create_task(watch())
    await set_env(env, "2")
    await rollout_done(env)
    stop.set()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    first_new = next(i for i, (k, h, _) in enumerate(seen) if k == "ADDED" and h != old_hash)
    old_deleted = [i for i, (k, h, _) in enumerate(seen) if k == "DELETED" and h == old_hash]
    assert len(old_deleted) == 2 and max(old_deleted) < first_new, seen


async def test_scale_and_pause(env: Env) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(replicas=2))
    await rollout_done(env)
    await env.client.patch(Kind.DEPLOYMENT, "default", "web", {"spec": {"paused": True}})

    async def paused() -> bool:
        d = await env.client.get(Kind.DEPLOYMENT, "default", "web")
        return any(c["reason"] == "DeploymentPaused" for c in d["status"]["conditions"])
    await eventually(paused)
    await env.client.patch(Kind.DEPLOYMENT, "default", "web", {"spec": {"template": {"metadata": {
        "annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}})
    await env.client.patch(Kind.DEPLOYMENT, "default", "web", {"spec": {"replicas": 3}})
    await ready_pods(env, 3)
    await asyncio.sleep(0.3)
    assert len(await env.client.list(Kind.REPLICASET, "default")) == 1  # no rollout while paused
    await env.client.patch(Kind.DEPLOYMENT, "default", "web", {"spec": {"paused": False}})
    d = await rollout_done(env)
    assert d["metadata"]["annotations"][REVISION] == "2"
    for p in await ready_pods(env, 3):
        assert p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == "now"


async def test_revision_history_limit_deletes_old_replicasets(env: Env) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(replicas=1, revisionHistoryLimit=1))
    for v in range(3):
        await rollout_done(env)
        await set_env(env, str(v))
    await rollout_done(env)

    async def trimmed() -> list[dict[str, Any]] | None:
        rss = await env.client.list(Kind.REPLICASET, "default")
        return rss if len(rss) == 2 else None
    rss = await eventually(trimmed)
    assert sorted(rs["metadata"]["annotations"][REVISION] for rs in rss) == ["3", "4"]
