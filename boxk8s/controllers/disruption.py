"""The disruption controller: keeps each PodDisruptionBudget's status, which the eviction subresource obeys.

Upstream: pkg/controller/disruption/disruption.go. Keyed by PDB: a PDB's events enqueue it; a pod's
add, update or delete enqueues the PDB that selects it (the first, with a MultiplePodDisruptionBudgets
event when several do, as getPdbForPod). A sync counts the PDB's pods, their controllers' scale
and the healthy ones (`disruption_plan`), and writes the status at the PDB's resourceVersion (a
Conflict just syncs again); when it cannot compute them, failSafe writes no disruptions allowed
and a SyncFailed condition. A pod evicted but not deleting is looked at again when its
DeletionTimeout passes. A second queue resets DisruptionTarget conditions that no deletion followed
within two minutes (syncStalePodDisruption).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind, WorkQueue
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import Informer, object_key
from boxk8s.controllers.base import Controller
from boxk8s.controllers.disruption_plan import (
    DEPLOYMENT,
    RC,
    RS,
    STATEFULSET,
    WARNING,
    plan_pdb_status,
    stale_disruption_wait,
    without_stale_disruption,
)
from boxk8s.controllers.endpoints import NAMESPACE_INDEX, namespace_index
from boxk8s.events import EventRecorder
from boxk8s.resources.disruption import PDB, pdbs_for_pod
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class DisruptionController(Controller):
    name = "disruption-controller"
    workers = 2

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.POD is not None
        self.clock = clock
        self.pdbs = factory.informer(PDB)
        self.pods = factory.informer(Kind.POD)
        self.workloads: dict[str, Informer] = {rt.plural: factory.informer(rt) for rt in (RC, RS, DEPLOYMENT, STATEFULSET)}
        self.pdbs.add_index(NAMESPACE_INDEX, namespace_index)
        self.pods.add_index(NAMESPACE_INDEX, namespace_index)
        self.pdbs.add_handler(lambda _t, old, new: self.enqueue(new or old))
        self.pods.add_handler(self._on_pod)
        # Pod keys: stale DisruptionTarget conditions to reset, MultiplePodDisruptionBudgets events to record.
        self.pod_queue = WorkQueue(f"{self.name}-pods")
        self.multiple_pdbs: dict[str, str] = {}  # pod key -> the PDB chosen

    # ---- event handlers ---------------------------------------------------------------------------
    def _on_pod(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        """addPod / updatePod (the new pod only, as upstream) / deletePod."""
        pod = new if new is not None else old
        if pod is None:
            return
        pdb = self._pdb_for_pod(pod)
        if pdb is not None:
            self.enqueue(pdb)
        if new is not None:
            wait = stale_disruption_wait(new, self.clock())
            if wait is not None:
                self.pod_queue.add_after(object_key(new), wait)

    def _pdb_for_pod(self, pod: Obj) -> Obj | None:
        """getPdbForPod: the first PDB (by name) that selects the pod; a pod several select gets a
        MultiplePodDisruptionBudgets event (recorded by the pod queue: handlers must not block)."""
        namespace = pod["metadata"].get("namespace") or ""
        pdbs = sorted(pdbs_for_pod(self.pdbs.by_index(NAMESPACE_INDEX, namespace), pod),
                      key=lambda p: p["metadata"]["name"])
        if not pdbs:
            return None
        if len(pdbs) > 1:
            key = object_key(pod)
            self.multiple_pdbs[key] = pdbs[0]["metadata"]["name"]
            self.pod_queue.add(key)
        return pdbs[0]

    # ---- reconcile --------------------------------------------------------------------------------
    def _lookup(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        informer = self.workloads.get(rt.plural)
        return informer.get(f"{namespace}/{name}") if informer is not None and rt.group == informer.rt.group else None

    async def reconcile(self, key: str) -> float | None:
        pdb = self.pdbs.get(key)
        if pdb is None:
            return None
        namespace = pdb["metadata"].get("namespace") or ""
        plan = plan_pdb_status(pdb, self.pods.by_index(NAMESPACE_INDEX, namespace), self._lookup, self.clock())
        for event in plan.events:
            await self.recorder.event(event.obj, event.type, event.reason, event.message)
        if plan.failed:
            log.warning("poddisruptionbudget %s: failed to sync: %s", key, plan.failed)
        if plan.status is not None:
            try:
                await self.client.update_status(PDB, {**pdb, "status": plan.status})
            except errors.NotFound:
                return None
        return plan.recheck_after

    async def reconcile_pod(self, key: str) -> float | None:
        """The MultiplePodDisruptionBudgets event, and syncStalePodDisruption: DisruptionTarget=False
        on a pod whose eviction never deleted it."""
        assert Kind.POD is not None
        pod = self.pods.get(key)
        if pod is None:
            self.multiple_pdbs.pop(key, None)
            return None
        chosen = self.multiple_pdbs.pop(key, None)
        if chosen is not None:
            md = pod["metadata"]
            message = (f'Pod "{md.get("namespace", "")}"/"{md["name"]}" matches multiple PodDisruptionBudgets.  '
                       f'Chose "{chosen}" arbitrarily.')
            log.info("%s", message)
            await self.recorder.event(pod, WARNING, "MultiplePodDisruptionBudgets", message)
        now = self.clock()
        wait = stale_disruption_wait(pod, now)
        if wait is None:
            return None
        if wait > 0:
            return wait
        try:
            await self.client.update_status(Kind.POD, without_stale_disruption(pod, now))
        except errors.NotFound:
            return None
        log.info("pod/%s: reset stale DisruptionTarget condition to False", key)
        return None

    async def run(self) -> None:
        await self.factory.wait_synced()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.queue.run_workers(self.reconcile, self.workers), name=f"{self.name}-pdbs")
            tg.create_task(self.pod_queue.run_workers(self.reconcile_pod, 1), name=f"{self.name}-pods")
