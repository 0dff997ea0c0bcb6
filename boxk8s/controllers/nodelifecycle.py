"""The node lifecycle controller: notices dead kubelets, taints their nodes, evicts their pods.

Per node (key = node name), from the Node, its Lease in kube-node-lease and the pods bound to it:
conditions become Unknown once no heartbeat came for `grace_seconds` (upstream's
node-monitor-grace-period), the not-ready/unreachable taints follow the Ready status, and pods
that do not tolerate the NoExecute taint (long enough) get a DisruptionTarget condition and are
deleted, so that their controllers replace them elsewhere. When heartbeats resume, the kubelet
writes Ready=True and the taints are removed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import NODE_INDEX, node_index
from boxk8s.config import ControllerSettings
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.nodelifecycle_plan import plan_evictions, plan_node_health, plan_taints
from boxk8s.events import EventRecorder
from boxk8s.resources.meta import format_time

log = logging.getLogger(__name__)

Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 settings: ControllerSettings | None = None) -> None:
        super().__init__(client, factory, recorder)
        self.clock = clock
        settings = settings or ControllerSettings()
        self.grace_seconds = settings.node_grace_seconds
        self.eviction_seconds = settings.pod_eviction_seconds  # None: the pods' own tolerationSeconds
        self.nodes = factory.informer(Kind.NODE)
        self.leases = factory.informer(Kind.LEASE)
        self.pods = factory.informer(Kind.POD)
        self.pods.add_index(NODE_INDEX, node_index)
        self.nodes.add_handler(lambda _t, _old, new: self.enqueue(new))
        self.leases.add_handler(self._on_lease)
        self.pods.add_handler(self._on_pod)

    def _on_lease(self, _kind: str, _old: Obj | None, new: Obj | None) -> None:
        if new is not None and new["metadata"].get("namespace") == LEASE_NAMESPACE:
            self.queue.add(new["metadata"]["name"])

    def _on_pod(self, kind: str, _old: Obj | None, new: Obj | None) -> None:
        """A pod only matters here on a node with NoExecute taints (it may have to be evicted)."""
        if new is not None and kind != "DELETED":
            node = (new.get("spec") or {}).get("nodeName")
            if node and _has_no_execute(self.nodes.get(node)):
                self.queue.add(node)

    async def reconcile(self, key: str) -> float | None:
        node = self.nodes.get(key)
        if node is None:
            return None
        now = self.clock()
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{key}")
        health = plan_node_health(node, lease, now, self.grace_seconds)
        if health.conditions is not None:
            new = copy.deepcopy(node)
            new.setdefault("status", {})["conditions"] = health.conditions
            node = await self.client.update_status(Kind.NODE, new)
            log.info("node/%s: %s", key, "Kubelet stopped posting node status.")
        if health.became_not_ready:
            await self.recorder.event(node, "Normal", "NodeNotReady", f"Node {key} status is now: NodeNotReady")
            await self._mark_pods_not_ready(key, now)
        taints = list((node.get("spec") or {}).get("taints") or [])
        new_taints = plan_taints(taints, health.ready, now)
        if new_taints is not None:
            new = copy.deepcopy(node)
            if new_taints:
                new.setdefault("spec", {})["taints"] = new_taints
            else:
                new.setdefault("spec", {}).pop("taints", None)
            node = await self.client.update(Kind.NODE, new)
            taints = new_taints
        evictions = plan_evictions(self._pods_on(key), taints, now, self.eviction_seconds)
        for pod_key in evictions.evict:
            await self._evict(pod_key)
        waits = [w for w in (health.recheck, evictions.recheck) if w is not None]
        return min(waits) if waits else None

    def _pods_on(self, node: str) -> list[Obj]:
        return self.pods.by_index(NODE_INDEX, node)

    async def _mark_pods_not_ready(self, node: str, now: datetime) -> None:
        """Upstream's MarkPodsNotReady: Services stop sending traffic to pods of a dead node."""
        for pod in self._pods_on(node):
            st = pod.get("status") or {}
            ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False" or st.get("phase") in ("Succeeded", "Failed"):
                continue
            new = copy.deepcopy(pod)
            for c in new["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c.update(status="False", lastTransitionTime=format_time(now))
            try:
                await self.client.update_status(Kind.POD, new)
            except (errors.NotFound, errors.Conflict) as e:
                log.debug("pod/%s: not marked NotReady: %s", pod["metadata"]["name"], e.message)

    async def _evict(self, key: str) -> None:
        ns, name = split_key(key)
        try:
            pod = await self.client.get(Kind.POD, ns, name)
            if pod["metadata"].get("deletionTimestamp"):
                return
            new = copy.deepcopy(pod)
            conditions = [c for c in (new.setdefault("status", {}).get("conditions") or [])
                          if c.get("type") != "DisruptionTarget"]
            conditions.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                               "message": "Taint manager: deleting due to NoExecute taint",
                               "lastTransitionTime": format_time(self.clock()), "lastProbeTime": None})
            new["status"]["conditions"] = conditions
            pod = await self.client.update_status(Kind.POD, new)
            await self.recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")
            log.info("pod/%s: evicted from its unreachable or not-ready node", key)
            await self.client.delete(Kind.POD, ns, name, {"preconditions": {"uid": pod["metadata"]["uid"]}})
        except errors.NotFound:
            return


def _has_no_execute(node: Obj | None) -> bool:
    return node is not None and any(
        t.get("effect") == "NoExecute" for t in (node.get("spec") or {}).get("taints") or [])
