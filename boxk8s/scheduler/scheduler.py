"""The kube-scheduler: watch unscheduled pods, pick a node for each, bind.

One scheduling worker decides pod after pod against the cache (decisions must see each other);
a pool of binders writes the bindings concurrently, which the store commits in groups. A pod
that fits nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling event, and waits
in `unschedulable` until the cluster changes in a way that could help (a node added or changed,
a placed pod gone) or the periodic flush retries it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Informer, Kind, WorkQueue
from boxk8s.client.informer import object_key
from boxk8s.events import NORMAL, WARNING, EventRecorder
from boxk8s.scheduler.cache import SchedulerCache
from boxk8s.scheduler.nodeinfo import PodUsage, is_terminal
from boxk8s.scheduler.plan import ScheduleMemo, plan_schedule

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"


@dataclass(frozen=True)
class SchedulerSettings:
    retry_seconds: float = 10.0  # unschedulable pods are tried again at least this often
    binders: int = 16  # concurrent binding writes


def responsible_for(pod: Mapping[str, Any]) -> bool:
    """An unbound, live pod of ours."""
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
        and not pod["metadata"].get("deletionTimestamp")
        and not is_terminal(pod)
    )


def _pod_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Did anything but status and bookkeeping change? (Our own condition write must not retry.)"""
    def view(p: Mapping[str, Any]) -> tuple[Any, ...]:
        md = p.get("metadata") or {}
        return (p.get("spec"), md.get("labels"), md.get("annotations"))
    return view(old) != view(new)


def _node_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Changes that can make a pod fit: allocatable, labels, taints, cordon (not heartbeats)."""
    def view(n: Mapping[str, Any]) -> tuple[Any, ...]:
        spec, status = n.get("spec") or {}, n.get("status") or {}
        return (status.get("allocatable"), (n.get("metadata") or {}).get("labels"),
                spec.get("taints"), spec.get("unschedulable"))
    return view(old) != view(new)


class Scheduler:
    def __init__(self, client: Client, recorder: EventRecorder, settings: SchedulerSettings | None = None, *,
                 pods: Informer | None = None, nodes: Informer | None = None) -> None:
        """`pods` and `nodes`: shared informers run by their owner (else the scheduler runs its own)."""
        self.client = client
        self.recorder = recorder
        self.settings = settings or SchedulerSettings()
        self.cache = SchedulerCache()
        self.pods = pods or Informer(client, Kind.POD)
        self.nodes = nodes or Informer(client, Kind.NODE)
        self._own_informers = [inf for inf, shared in ((self.pods, pods), (self.nodes, nodes)) if shared is None]
        self.queue = WorkQueue("scheduler")
        self.unschedulable: set[str] = set()
        self._bindings: asyncio.Queue[tuple[dict[str, Any], str]] = asyncio.Queue()
        self._ties = 0
        self._memo = ScheduleMemo()  # plan_schedule's judgements, kept between pods
        self.pods.add_handler(self._on_pod)
        self.nodes.add_handler(self._on_node)

    # ---- event handlers (synchronous: update the cache, queue keys) ----------------------------
    def _on_pod(self, kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if kind == "DELETED":
            assert old is not None
            key = object_key(old)
            self.unschedulable.discard(key)
            if self.cache.remove_pod(old) is not None:
                self.retry_unschedulable()
            return
        assert new is not None
        key = object_key(new)
        if old is not None and old.get("spec") == new.get("spec") and is_terminal(old) == is_terminal(new):
            freed = None  # e.g. a kubelet's status write: the placement is as it was
        else:
            freed = self.cache.update_pod(new)
        if freed is not None:
            self.retry_unschedulable()
        if not responsible_for(new):
            self.unschedulable.discard(key)
            return
        if key in self.unschedulable and old is not None and not _pod_changed(old, new):
            return  # e.g. our own PodScheduled=False write
        self.unschedulable.discard(key)
        self.queue.add(key)

    def _on_node(self, kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if kind == "DELETED":
            assert old is not None
            self.cache.remove_node(old["metadata"]["name"])
            return
        assert new is not None
        self.cache.set_node(new)
        if old is None or _node_changed(old, new):
            self.retry_unschedulable()

    def retry_unschedulable(self) -> None:
        pending, self.unschedulable = self.unschedulable, set()
        for key in pending:
            self.queue.add(key)

    # ---- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for inf in self._own_informers:
                tg.create_task(inf.run(), name=f"scheduler-{inf.rt.plural}-informer")
            await self.nodes.synced.wait()
            await self.pods.synced.wait()
            for i in range(self.settings.binders):
                tg.create_task(self._binder(), name=f"scheduler-binder-{i}")
            tg.create_task(self._flush(), name="scheduler-flush")
            tg.create_task(self.queue.run_workers(self.schedule_one, workers=1), name="scheduler-worker")

    async def _flush(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retry_seconds)
            self.retry_unschedulable()

    async def schedule_one(self, key: str) -> float | None:
        pod = self.pods.get(key)
        if pod is None or not responsible_for(pod) or key in self.cache.assumed:
            return None
        if (pod.get("spec") or {}).get("schedulingGates"):
            await self._set_unscheduled(pod, "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates")
            return None
        usage = PodUsage.of(pod)
        result = plan_schedule(pod, self.cache.node_infos(), tie_breaker=self._ties, memo=self._memo)
        self._ties += 1
        if result.node is None:
            self.unschedulable.add(key)
            log.info("pod/%s: %s", key, result.message)
            await self._set_unscheduled(pod, "Unschedulable", result.message)
            await self.recorder.event(pod, WARNING, "FailedScheduling", result.message)
            return None
        self.cache.assume(pod, result.node, usage)
        self._bindings.put_nowait((pod, result.node))
        return None

    async def _binder(self) -> None:
        while True:
            pod, node = await self._bindings.get()
            key = object_key(pod)
            md = pod["metadata"]
            try:
                await self.client.bind(md["namespace"], md["name"], node)
            except asyncio.CancelledError:
                raise
            except errors.NotFound:
                self.cache.forget(key)
                continue
            except Exception as e:  # a conflict (bound elsewhere, deleting) or a store error
                log.warning("pod/%s: binding to %s failed: %s", key, node, getattr(e, "message", e))
                self.cache.forget(key)
                self.queue.add_rate_limited(key)
                continue
            await self.recorder.event(pod, NORMAL, "Scheduled", f"Successfully assigned {key} to {node}")

    async def _set_unscheduled(self, pod: dict[str, Any], reason: str, message: str) -> None:
        """PodScheduled=False through the status subresource, unless it already says so."""
        conditions = (pod.get("status") or {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if current and current.get("status") == "False" and current.get("reason") == reason \
                and current.get("message") == message:
            return
        transition = current.get("lastTransitionTime") if current and current.get("status") == "False" else None
        condition = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message,
                     "lastProbeTime": None, "lastTransitionTime": transition or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        md = pod["metadata"]
        try:
            await self.client.patch(Kind.POD, md["namespace"], md["name"],
                                    {"status": {"conditions": [condition]}}, "strategic", "status")
        except errors.NotFound:
            pass
        except errors.ApiError as e:
            log.warning("pod/%s/%s: cannot set PodScheduled: %s", md["namespace"], md["name"], e.message)
