"""The ReplicaSet controller: keep `spec.replicas` active pods matching the selector.

Level-triggered over shared pod and ReplicaSet informers, as upstream's replica_set.go: claim
pods (adopt matching orphans, release owned pods that stopped matching), create or delete the
difference once the informer has seen the effect of the previous sync (expectations), then
write the status through the status subresource.

The controller is parametrised by the kind it runs (`kind`): upstream's ReplicationController
manager (pkg/controller/replication) is this same controller over RCs through a conversion
adapter, and here it is this class with `kind` = ReplicationController, whose strategy reads
the equality-map selector as a LabelSelector (replicationcontroller.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import object_key
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.podutil import (
    POD_CONTROLLER_INDEX,
    get_controller_of,
    is_pod_active,
    now_utc,
    pod_controller_index,
    pod_from_template,
)
from boxk8s.controllers.refmanager import ControllerRefManager
from boxk8s.controllers.replicaset_plan import (
    Expectations,
    calculate_status,
    matching_owners,
    next_availability_check,
    plan_replicas,
    slow_start_batches,
    status_needs_update,
)
from boxk8s.events import NORMAL, WARNING, EventRecorder
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.strategy import strategy_for

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    workers = 4
    kind: ResourceType | None = Kind.REPLICASET  # the owner kind this controller runs

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert self.kind is not None and Kind.POD is not None
        self.rt: ResourceType = self.kind
        self.expectations = Expectations()
        self.selector_of = strategy_for(self.rt).label_selector
        self.refs = ControllerRefManager(client, self.rt, Kind.POD)
        self.replicasets = factory.informer(self.rt)
        self.pods = factory.informer(Kind.POD)
        self.pods.add_index(POD_CONTROLLER_INDEX, pod_controller_index)
        self.replicasets.add_handler(self._on_replicaset)
        self.pods.add_handler(self._on_pod)

    # ---- event handlers: only enqueue keys and note observations ---------------------------
    def _on_replicaset(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        self.enqueue(new or old)

    def _owner_key(self, pod: Obj) -> str | None:
        ref = get_controller_of(pod)
        if ref is None or ref.get("kind") != self.rt.kind:
            return None
        key = f"{pod['metadata']['namespace']}/{ref['name']}"
        rs = self.replicasets.get(key)
        if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
            return None
        return key

    def _enqueue_matching(self, pod: Obj) -> None:
        for rs in matching_owners(pod, self.replicasets.list(), self.selector_of):
            self.enqueue(rs)

    def _on_pod(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if kind == "ADDED" and new is not None:
            if new["metadata"].get("deletionTimestamp"):
                self._pod_deleted(new)
                return
            key = self._owner_key(new)
            if key is not None:
                self.expectations.creation_observed(key)
                self.queue.add(key)
            elif get_controller_of(new) is None:
                self._enqueue_matching(new)
        elif kind == "MODIFIED" and old is not None and new is not None:
            labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
            if new["metadata"].get("deletionTimestamp"):
                self._pod_deleted(new)
                if labels_changed:
                    self._pod_deleted(old)
                return
            old_ref, new_ref = get_controller_of(old), get_controller_of(new)
            if old_ref != new_ref and old_ref is not None:
                key = self._owner_key(old)
                if key:
                    self.queue.add(key)
            key = self._owner_key(new)
            if key is not None:
                self.queue.add(key)
            elif new_ref is None and (labels_changed or old_ref != new_ref):
                self._enqueue_matching(new)
        elif kind == "DELETED" and old is not None:
            self._pod_deleted(old)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, object_key(pod))
            self.queue.add(key)

    # ---- reconcile --------------------------------------------------------------------------
    async def reconcile(self, key: str) -> float | None:
        rs = self.replicasets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        namespace, _ = split_key(key)
        needs_sync = self.expectations.satisfied(key)
        # Only pods this ReplicaSet controls, and orphans it may adopt (not every pod).
        candidates = [p for p in (self.pods.by_index(POD_CONTROLLER_INDEX, f"{namespace}/{rs['metadata']['uid']}")
                                  + self.pods.by_index(POD_CONTROLLER_INDEX, f"{namespace}/"))
                      if is_pod_active(p)]
        pods = await self.refs.claim(rs, candidates)
        failure: tuple[str, str] | None = None
        error: Exception | None = None
        if needs_sync and not rs["metadata"].get("deletionTimestamp"):
            try:
                await self._manage(key, rs, pods)
            except errors.ApiError as e:
                error = e
                diff = len(pods) - int(rs["spec"].get("replicas", 1))
                failure = ("FailedCreate" if diff < 0 else "FailedDelete", e.message)
        now = now_utc()
        status = calculate_status(rs, pods, now, failure)
        if status_needs_update(rs, status):
            status["observedGeneration"] = rs["metadata"].get("generation") or 0
            body = {**rs, "status": status}
            try:
                await self.client.update_status(self.rt, body)
            except errors.NotFound:
                return None
        if error is not None:
            raise error
        return next_availability_check(rs, pods, now)

    async def _manage(self, key: str, rs: Obj, pods: list[Obj]) -> None:
        plan = plan_replicas(int(rs["spec"].get("replicas", 1)), pods)
        if plan.create:
            await self._create_pods(key, rs, plan.create)
        elif plan.delete:
            await self._delete_pods(key, rs, list(plan.delete))

    async def _create_pods(self, key: str, rs: Obj, count: int) -> None:
        self.expectations.expect_creations(key, count)
        namespace = rs["metadata"]["namespace"]
        template = rs["spec"].get("template") or {}
        created = 0
        first_error: errors.ApiError | None = None
        for batch in slow_start_batches(count):
            results = await asyncio.gather(
                *(self.client.create(Kind.POD, namespace, pod_from_template(template, rs)) for _ in range(batch)),
                return_exceptions=True,
            )
            for r in results:
                if isinstance(r, BaseException):
                    if not isinstance(r, errors.ApiError):
                        raise r
                    first_error = first_error or r
                    await self.recorder.event(rs, WARNING, "FailedCreate", f"Error creating: {r.message}")
                else:
                    created += 1
                    await self.recorder.event(rs, NORMAL, "SuccessfulCreate", f"Created pod: {r['metadata']['name']}")
            if first_error is not None:
                break
        for _ in range(count - created):  # never coming: don't wait for them
            self.expectations.creation_observed(key)
        if first_error is not None:
            raise first_error

    async def _delete_pods(self, key: str, rs: Obj, pods: list[Obj]) -> None:
        self.expectations.expect_deletions(key, [object_key(p) for p in pods])
        namespace = rs["metadata"]["namespace"]

        async def delete(pod: Obj) -> None:
            name = pod["metadata"]["name"]
            try:
                await self.client.delete(Kind.POD, namespace, name,
                                         {"preconditions": {"uid": pod["metadata"]["uid"]}})
            except errors.NotFound:
                self.expectations.deletion_observed(key, object_key(pod))
                return
            except errors.ApiError as e:
                self.expectations.deletion_observed(key, object_key(pod))
                await self.recorder.event(rs, WARNING, "FailedDelete", f"Error deleting: {e.message}")
                raise
            await self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

        results = await asyncio.gather(*(delete(p) for p in pods), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
