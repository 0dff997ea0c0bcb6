"""The Scheduler against an in-process store: binding, spreading, Unschedulable, retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Client, Kind
from boxk8s.cluster import bootstrap
from boxk8s.events import EventRecorder
from boxk8s.resources.layer import Resources
from boxk8s.scheduler import Scheduler, SchedulerSettings
from boxk8s.store import Store, StoreSettings
from tests.integration.waiting import wait_for_condition

log = logging.getLogger(__name__)
DEADLINE = 10.0
NO_VICTIMS = "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."


@dataclass
class Env:
    client: Client
    scheduler: Scheduler


def node(name: str, cpu: str = "2", memory: str = "4Gi", pods: str = "110") -> dict[str, Any]:
    alloc = {"cpu": cpu, "memory": memory, "pods": pods}
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}, "spec": {},
            "status": {"capacity": dict(alloc), "allocatable": dict(alloc),
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def pod(name: str, cpu: str = "100m", memory: str = "64Mi", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": cpu, "memory": memory}}}], **spec}}


@contextlib.asynccontextmanager
async def scheduler_env(path: Path, nodes: int = 3, settings: SchedulerSettings | None = None) -> AsyncIterator[Env]:
    store = await Store.open_standalone(StoreSettings(path=path))
    try:
        resources = Resources(store)
        await bootstrap(resources)
        client = Client(resources, "test")
        for i in range(1, nodes + 1):
            await client.create(Kind.NODE, None, node(f"n{i}"))
        sched_client = Client(resources, "default-scheduler")
        scheduler = Scheduler(sched_client, EventRecorder(sched_client, "default-scheduler"), settings)
        task = asyncio.create_task(scheduler.run())
        try:
            yield Env(client, scheduler)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await store.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with scheduler_env(tmp_path / "db") as e:
        yield e


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


async def bound(client: Client, name: str) -> str:
    async def check() -> str:
        return (await client.get(Kind.POD, "default", name))["spec"].get("nodeName", "")
    return str(await eventually(check))


def scheduled_condition(p: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in (p.get("status") or {}).get("conditions") or [] if c["type"] == "PodScheduled"), None)


async def unschedulable(client: Client, name: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        c = scheduled_condition(await client.get(Kind.POD, "default", name))
        return c if c and c["status"] == "False" else None
    return dict(await eventually(check))


async def events_for(client: Client, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in await client.list(Kind.EVENT, "default")
            if e["involvedObject"]["name"] == name and e["reason"] == reason]


async def test_pods_are_bound_and_spread(env: Env) -> None:
    for i in range(6):
        await env.client.create(Kind.POD, "default", pod(f"p{i}"))
    placed = Counter([await bound(env.client, f"p{i}") for i in range(6)])
    assert placed == {"n1": 2, "n2": 2, "n3": 2}
    p0 = await env.client.get(Kind.POD, "default", "p0")
    assert scheduled_condition(p0)["status"] == "True"  # type: ignore[index]

    async def scheduled_event() -> list[dict[str, Any]]:
        return await events_for(env.client, "p0", "Scheduled")
    [event] = await eventually(scheduled_event)
    assert event["type"] == "Normal"
    assert event["message"] == f"Successfully assigned default/p0 to {p0['spec']['nodeName']}"
    assert event["source"]["component"] == "default-scheduler"
    assert event["involvedObject"]["uid"] == p0["metadata"]["uid"]


async def test_least_allocated_node_wins(env: Env) -> None:
    # Placed by hand (spec.nodeName), as a kubelet-created or pre-bound pod would be.
    await env.client.create(Kind.POD, "default", pod("big1", cpu="1500m", nodeName="n1"))
    await env.client.create(Kind.POD, "default", pod("big2", cpu="1", nodeName="n2"))
    await eventually(lambda: _cache_has(env, 2))
    await env.client.create(Kind.POD, "default", pod("small"))
    assert await bound(env.client, "small") == "n3"


async def _cache_has(env: Env, n: int) -> bool:
    return sum(info.pod_count for info in env.scheduler.cache.node_infos()) >= n


async def test_too_big_pod_waits_then_fits_a_bigger_node(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("huge", cpu="3"))
    cond = await unschedulable(env.client, "huge")
    message = f"0/3 nodes are available: 3 Insufficient cpu. {NO_VICTIMS}"
    assert (cond["reason"], cond["message"]) == ("Unschedulable", message)
    huge = await env.client.get(Kind.POD, "default", "huge")
    assert not huge["spec"].get("nodeName") and huge["status"]["phase"] == "Pending"

    async def failed_event() -> list[dict[str, Any]]:
        return await events_for(env.client, "huge", "FailedScheduling")
    [event] = await eventually(failed_event)
    assert (event["type"], event["message"]) == ("Warning", message)

    await env.client.create(Kind.NODE, None, node("big", cpu="4"))
    assert await bound(env.client, "huge") == "big"


async def test_cordoned_node_is_avoided(env: Env) -> None:
    for name in ("n1", "n2"):
        n = await env.client.get(Kind.NODE, None, name)
        n.setdefault("spec", {})["unschedulable"] = True
        await env.client.update(Kind.NODE, n)
    await eventually(lambda: _cordoned(env, 2))
    for i in range(3):
        await env.client.create(Kind.POD, "default", pod(f"c{i}"))
    assert {await bound(env.client, f"c{i}") for i in range(3)} == {"n3"}


async def _cordoned(env: Env, n: int) -> bool:
    return sum(1 for info in env.scheduler.cache.node_infos() if info.node.get("spec", {}).get("unschedulable")) == n


async def test_uncordon_retries_pending_pods(env: Env) -> None:
    for name in ("n1", "n2", "n3"):
        n = await env.client.get(Kind.NODE, None, name)
        n.setdefault("spec", {})["unschedulable"] = True
        await env.client.update(Kind.NODE, n)
    await eventually(lambda: _cordoned(env, 3))
    await env.client.create(Kind.POD, "default", pod("waiting"))
    cond = await unschedulable(env.client, "waiting")
    assert cond["message"].startswith("0/3 nodes are available: 3 node(s) were unschedulable.")
    n = await env.client.get(Kind.NODE, None, "n2")
    n["spec"]["unschedulable"] = False
    await env.client.update(Kind.NODE, n)
    assert await bound(env.client, "waiting") == "n2"


async def test_deleting_a_pod_frees_room(env: Env) -> None:
    for i in range(3):
        await env.client.create(Kind.POD, "default", pod(f"fill{i}", cpu="1500m"))
    placed = {await bound(env.client, f"fill{i}") for i in range(3)}
    assert placed == {"n1", "n2", "n3"}
    await env.client.create(Kind.POD, "default", pod("late", cpu="1"))
    await unschedulable(env.client, "late")
    freed = (await env.client.get(Kind.POD, "default", "fill1"))["spec"]["nodeName"]
    await env.client.delete(Kind.POD, "default", "fill1", {"gracePeriodSeconds": 0})
    assert await bound(env.client, "late") == freed


async def test_failed_scheduling_events_aggregate(tmp_path: Path) -> None:
    async with scheduler_env(tmp_path / "db", settings=SchedulerSettings(retry_seconds=0.1)) as env:
        await env.client.create(Kind.POD, "default", pod("huge", cpu="3"))

        async def counted() -> bool:
            found = await events_for(env.client, "huge", "FailedScheduling")
            return len(found) == 1 and found[0]["count"] >= 3
        await eventually(counted)


async def test_other_schedulers_pods_are_left_alone(env: Env) -> None:
    await env.client.create(Kind.POD, "default", pod("mine"))
    await env.client.create(Kind.POD, "default", pod("theirs", schedulerName="other-scheduler"))
    await bound(env.client, "mine")
    theirs = await env.client.get(Kind.POD, "default", "theirs")
    assert not theirs["spec"].get("nodeName") and scheduled_condition(theirs) is None


async def test_burst_of_1000_pods_on_10_nodes(tmp_path: Path) -> None:
    """Measures (and prints) pods scheduled per second; asserts only the placement."""
    async with scheduler_env(tmp_path / "db", nodes=10) as env:
        n = 1000
        seen: set[str] = set()
        _, rv = await env.client.list_with_revision(Kind.POD, "default")
        started = time.perf_counter()
        sem = asyncio.Semaphore(50)

        async def create(i: int) -> None:
            async with sem:
                await env.client.create(Kind.POD, "default", pod(f"b{i}", cpu="10m", memory="16Mi"))

        async def watch_bound() -> None:
            async for _type, p in await env.client.watch(Kind.POD, "default", rv):
                if p["spec"].get("nodeName"):
                    seen.add(p["metadata"]["name"])
                    if len(seen) == n:
                        return
        async with asyncio.timeout(60):
            watcher = asyncio.create_task(watch_bound())
            await asyncio.gather(*(create(i) for i in range(n)))
            await watcher
        elapsed = time.perf_counter() - started
        rate = n / elapsed
        print(f"\nscheduled {n} pods on 10 nodes in {elapsed:.2f}s: {rate:.0f} pods/s (creation included)")
        pods = await env.client.list(Kind.POD, "default")
        per_node = Counter(p["spec"]["nodeName"] for p in pods)
        assert sorted(per_node.values()) == [100] * 10
