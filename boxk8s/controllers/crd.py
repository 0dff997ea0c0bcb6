"""The CRD controller: names and establishes CustomResourceDefinitions, serves their resources,
and removes their objects when a CRD is deleted.

It plays the parts of apiextensions-apiserver's NamingConditionController, EstablishingController
and CRDFinalizer (the decisions are in crd_plan.py) and of the crdHandler's storage map: a CRD whose
names are accepted has its versions served in the cluster's Kinds (resources/crd_serving.py), which
routing, discovery and OpenAPI read; a CRD that is gone is served no more. `serve_stored` serves
the stored CRDs once at start, before the API answers, so a restarted cluster never answers 404
for a custom resource it has.
"""

from __future__ import annotations

import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, InformerFactory
from boxk8s.controllers.base import Controller
from boxk8s.controllers.crd_plan import plan_status, plan_termination
from boxk8s.events import EventRecorder
from boxk8s.resources import crd_serving, custom, registry
from boxk8s.resources.crd_serving import CLEANUP_FINALIZER, serves, set_condition
from boxk8s.resources.meta import now_rfc3339
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

CRD = registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
assert CRD is not None
RETRY_SECONDS = 0.5  # while a deleted CRD waits for its custom resources (finalizers) to go

Obj = dict[str, Any]


async def serve_stored(client: Client) -> int:
    """Serve every stored CRD whose names were accepted (at start, before the API listens)."""
    served = 0
    for crd in await client.list(CRD):
        if serves(crd):
            crd_serving.serve(client.resources.kinds, crd,
                              terminating=bool(crd["metadata"].get("deletionTimestamp")))
            served += 1
    return served


class CRDController(Controller):
    name = "apiextensions-controller"
    workers = 1  # naming is not safe to run twice at once (as upstream's single worker)

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        self.kinds = client.resources.kinds
        self.informer = factory.informer(CRD)
        self.informer.add_handler(self._on_event)
        # What this controller wrote last, by name: newer than the informer until its event arrives
        # (upstream's crdMutationCache), so two CRDs of a group never both get one name.
        self._written: dict[str, Obj] = {}
        self._uids: dict[str, str] = {}

    def _on_event(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        obj = new if new is not None else old
        if obj is None:
            return
        self.enqueue(obj)
        if kind == "DELETED":  # its names are free: the others of its group may take them now
            self._requeue_group(obj)

    def _requeue_group(self, crd: Obj) -> None:
        group = (crd.get("spec") or {}).get("group")
        for other in self.informer.list():
            if (other.get("spec") or {}).get("group") == group and other["metadata"]["name"] != crd["metadata"]["name"]:
                self.enqueue(other)

    def _latest(self, crd: Obj) -> Obj:
        written = self._written.get(crd["metadata"]["name"])
        if written is not None and int(written["metadata"]["resourceVersion"]) > int(crd["metadata"]["resourceVersion"]):
            return written
        return crd

    async def reconcile(self, key: str) -> float | None:
        crd = self.informer.get(key)
        if crd is None:
            crd_serving.unserve(self.kinds, key, self._uids.pop(key, ""))
            self._written.pop(key, None)
            return None
        crd = self._latest(crd)
        self._uids[key] = crd["metadata"].get("uid", "")
        if crd["metadata"].get("deletionTimestamp"):
            return await self._terminate(crd)
        group = (crd.get("spec") or {}).get("group")
        others = [self._latest(c) for c in self.informer.list()
                  if c["metadata"]["name"] != key and (c.get("spec") or {}).get("group") == group]
        status = plan_status(crd, others, now_rfc3339())
        if status is not None:
            written = await self._write_status(crd, status)
            if written is None:
                return None  # gone or changed meanwhile: its event brings it back
            crd = written
            self._requeue_group(crd)  # names may have been freed
        if serves(crd):
            crd_serving.serve(self.kinds, crd)
        else:
            crd_serving.unserve(self.kinds, key)
        return None

    async def _write_status(self, crd: Obj, status: Obj) -> Obj | None:
        new = {**crd, "status": status}
        try:
            written = await self.client.update_status(CRD, new)
        except (errors.NotFound, errors.Conflict):
            return None
        self._written[crd["metadata"]["name"]] = written
        return written

    async def _terminate(self, crd: Obj) -> float | None:
        """Delete the CRD's custom resources, then let the CRD go (the CRDFinalizer)."""
        if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            return None  # another finalizer holds it: nothing of ours to do
        versions = crd_serving.serve(self.kinds, crd, terminating=True) if serves(crd) else []
        storage = _storage_type(crd, versions)
        remaining = await self._instances(storage) if storage is not None else []
        plan = plan_termination(crd, len(remaining))
        if plan.delete_instances and storage is not None:
            await self._delete_all(storage, remaining)
            remaining = await self._instances(storage)
            plan = plan_termination(crd, len(remaining))
        if not _has_condition(crd, plan.condition):
            new = {**crd, "status": dict(crd.get("status") or {})}
            set_condition(new, plan.condition)
            written = await self._write_status(crd, new["status"])
            if written is None:
                return None
            crd = written
        if not plan.remove_finalizer:
            return RETRY_SECONDS
        md = dict(crd["metadata"])
        md["finalizers"] = [f for f in md.get("finalizers") or [] if f != CLEANUP_FINALIZER]
        try:
            await self.client.update(CRD, {**crd, "metadata": md})
        except (errors.NotFound, errors.Conflict):
            return None
        return None

    async def _instances(self, rt: ResourceType) -> list[Obj]:
        try:
            return await self.client.list(rt)
        except errors.NotFound:
            return []

    async def _delete_all(self, rt: ResourceType, items: list[Obj]) -> None:
        for item in items:
            md = item["metadata"]
            if md.get("deletionTimestamp"):
                continue
            try:
                await self.client.delete(rt, md.get("namespace"), md["name"])
            except errors.NotFound:
                continue


def _storage_type(crd: Obj, served: list[ResourceType]) -> ResourceType | None:
    """The ResourceType the CRD's objects are stored as (its storage version's)."""
    for rt in served:
        cv = custom.lookup(rt.definition)
        if cv is not None and cv.storage_rt is not None:
            return cv.storage_rt
    return None


def _has_condition(crd: Obj, wanted: Obj) -> bool:
    if not wanted:
        return True
    current = crd_serving.condition(crd, wanted["type"]) or {}
    return all(current.get(k) == wanted.get(k) for k in ("status", "reason", "message"))
