"""The DaemonSet controller: one pod per eligible node, kept at the current revision.

Pods are created unbound but pinned by a required node affinity on metadata.name (as upstream
does); the scheduler then binds them. Node adds, label and taint changes requeue every
DaemonSet. Because pod names are generated, the controller remembers the pods it just created or
deleted ("expectations", as upstream) and does not act again until the pod cache has seen them.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.daemonset_plan import (
    DaemonPod,
    Plan,
    add_default_tolerations,
    node_fit,
    pin_to_node,
    plan_manage,
    plan_rolling_update,
    plan_status,
    scaled,
    target_node,
)
from boxk8s.controllers.podutil import is_pod_available, is_pod_ready, seconds_until_available
from boxk8s.controllers.revision import (
    CONTROLLER_REVISIONS,
    HISTORY_HASH_LABEL,
    REVISION_HASH_LABEL,
    RevisionStore,
    hash_data,
    is_owned_by,
    is_terminating,
    new_revision,
    next_revision_number,
    owner_reference,
    phase,
    plan_history_cleanup,
)
from boxk8s.events import NORMAL, WARNING, EventRecorder

log = logging.getLogger(__name__)

KIND = "DaemonSet"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
EXPECTATION_TIMEOUT = 30.0  # upstream's ExpectationsTimeout is 5 minutes; a lost event costs less here
Obj = dict[str, Any]


def new_daemon_pod(ds: Obj, pod_spec: Obj, node: str, hash_: str) -> Obj:
    md = ds["metadata"]
    tmd = ((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}
    labels = {**(tmd.get("labels") or {}), REVISION_HASH_LABEL: hash_,
              TEMPLATE_GENERATION_LABEL: str(md.get("generation", 1))}
    pod_md: Obj = {"generateName": f"{md['name']}-", "namespace": md.get("namespace"), "labels": labels,
                   "ownerReferences": [owner_reference(ds, KIND)]}
    if tmd.get("annotations"):
        pod_md["annotations"] = dict(tmd["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_md, "spec": pin_to_node(pod_spec, node)}


def daemon_pod(pod: Obj, min_ready_seconds: int, now: datetime) -> DaemonPod:
    md = pod["metadata"]
    ready = phase(pod) == "Running" and is_pod_ready(pod)
    return DaemonPod(
        name=md["name"], node=target_node(pod), hash=(md.get("labels") or {}).get(REVISION_HASH_LABEL, ""),
        created=md.get("creationTimestamp", ""), terminating=is_terminating(pod), failed=phase(pod) == "Failed",
        ready=ready, available=ready and is_pod_available(pod, min_ready_seconds, now),
    )


def _node_view(node: Obj) -> tuple[Any, ...]:
    md, spec = node.get("metadata") or {}, node.get("spec") or {}
    return md.get("labels"), spec.get("taints"), spec.get("unschedulable"), md.get("deletionTimestamp")


@dataclass
class _Expectations:
    creates: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)
    deadline: float = 0.0


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.DAEMONSET and Kind.POD and Kind.NODE and CONTROLLER_REVISIONS
        self.sets = factory.informer(Kind.DAEMONSET)
        self.pods = factory.informer(Kind.POD)
        self.nodes = factory.informer(Kind.NODE)
        self.revisions = factory.informer(CONTROLLER_REVISIONS)
        self.history = RevisionStore(client)
        self.expectations: dict[str, _Expectations] = {}
        self.sets.add_handler(lambda _t, old, new: self.enqueue(new or old))
        self.pods.add_handler(self._on_owned)
        self.revisions.add_handler(self._on_owned)
        self.nodes.add_handler(self._on_node)

    def _on_owned(self, _type: str, old: Obj | None, new: Obj | None) -> None:
        self.enqueue_owner(new, KIND)
        self.enqueue_owner(old, KIND)

    def _on_node(self, _type: str, old: Obj | None, new: Obj | None) -> None:
        if old is not None and new is not None and _node_view(old) == _node_view(new):
            return  # heartbeats and status: nothing a daemon pod's placement depends on
        for ds in self.sets.list():
            self.enqueue(ds)

    def _satisfied(self, key: str, owned: dict[str, Obj]) -> bool:
        exp = self.expectations.get(key)
        if exp is None:
            return True
        exp.creates -= set(owned)
        exp.deletes = {n for n in exp.deletes if n in owned and not is_terminating(owned[n])}
        if (exp.creates or exp.deletes) and time.monotonic() < exp.deadline:
            return False
        del self.expectations[key]
        return True

    async def reconcile(self, key: str) -> float | None:
        ds = self.sets.get(key)
        if ds is None or is_terminating(ds):
            self.expectations.pop(key, None)
            return None
        ns, _name = split_key(key)
        md, spec = ds["metadata"], ds.get("spec") or {}
        owned = {p["metadata"]["name"]: p for p in self.pods.list()
                 if p["metadata"].get("namespace") == ns and is_owned_by(p, md["uid"])}
        if not self._satisfied(key, owned):
            return 1.0  # the pod cache has not caught up with our last writes; their events requeue us
        revisions = [r for r in self.revisions.list()
                     if r["metadata"].get("namespace") == ns and is_owned_by(r, md["uid"])]
        update, collisions = await self.history.ensure_update_revision(
            ds, revisions, lambda n: self._revision(ds, revisions, n))
        hash_ = (update["metadata"].get("labels") or {}).get(HISTORY_HASH_LABEL, "")

        template = spec.get("template") or {}
        pod_spec = add_default_tolerations(template.get("spec") or {})
        nodes = {n["metadata"]["name"]: node_fit(pod_spec, n) for n in self.nodes.list()
                 if not n["metadata"].get("deletionTimestamp")}
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = datetime.now(UTC)
        by_node: dict[str, list[DaemonPod]] = {}
        for p in owned.values():
            view = daemon_pod(p, min_ready, now)
            by_node.setdefault(view.node, []).append(view)

        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        ru = strategy.get("rollingUpdate") or {}
        desired = sum(f.should_run for f in nodes.values())
        max_surge = scaled(ru.get("maxSurge"), desired, 0) if rolling else 0
        plan = plan_manage(nodes, by_node, hash_, surge=max_surge > 0)
        if not plan and rolling:
            plan = plan_rolling_update(nodes, by_node, hash_, max_surge, scaled(ru.get("maxUnavailable"), desired, 1))
        await self._execute(key, ds, plan, pod_spec, hash_, owned)

        await self._write_status(ds, plan_status(nodes, by_node, hash_), collisions)
        live = {update["metadata"]["name"]} | {f"{md['name']}-{p.hash}" for ps in by_node.values() for p in ps}
        stale = plan_history_cleanup(revisions, live, int(spec.get("revisionHistoryLimit", 10)))
        await self.history.delete(ns or "default", stale)
        waits = [w for p in owned.values() if (w := seconds_until_available(p, min_ready, now)) is not None]
        return min(waits) if waits else None

    def _revision(self, ds: Obj, revisions: list[Obj], collisions: int) -> Obj:
        template = (ds.get("spec") or {}).get("template") or {}
        h = hash_data(template, collisions)
        wanted = new_revision(ds, KIND, template, next_revision_number(revisions), name_hash=h)
        wanted["metadata"]["labels"][REVISION_HASH_LABEL] = h
        return wanted

    async def _execute(self, key: str, ds: Obj, plan: Plan, pod_spec: Obj, hash_: str, owned: dict[str, Obj]) -> None:
        if not plan:
            return
        exp = self.expectations.setdefault(key, _Expectations())
        exp.deadline = time.monotonic() + EXPECTATION_TIMEOUT
        ns = ds["metadata"].get("namespace")
        for node in plan.create_on:
            try:
                pod = await self.client.create(Kind.POD, ns, new_daemon_pod(ds, copy.deepcopy(pod_spec), node, hash_))
            except errors.ApiError as e:
                await self.recorder.event(ds, WARNING, "FailedCreate", f"Error creating: {e.message}")
                raise
            exp.creates.add(pod["metadata"]["name"])
            log.info("daemonset/%s: created pod %s for node %s", key, pod["metadata"]["name"], node)
            await self.recorder.event(ds, NORMAL, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        for name in plan.delete:
            pod = owned.get(name)
            if name in plan.failed and pod is not None:
                await self.recorder.event(ds, WARNING, "FailedDaemonPod",
                                          f"Found failed daemon pod {ns}/{name} on node {target_node(pod)}, "
                                          "will try to kill it")
            try:
                await self.client.delete(Kind.POD, ns, name)
            except errors.NotFound:
                continue
            except errors.ApiError as e:
                await self.recorder.event(ds, WARNING, "FailedDelete", f"Error deleting: {e.message}")
                raise
            exp.deletes.add(name)
            log.info("daemonset/%s: deleted pod %s", key, name)
            await self.recorder.event(ds, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

    async def _write_status(self, ds: Obj, counts: Obj, collisions: int) -> None:
        status: Obj = {**counts, "observedGeneration": ds["metadata"].get("generation", 1)}
        if collisions:
            status["collisionCount"] = collisions
        await self.write_status(Kind.DAEMONSET, ds, status)
