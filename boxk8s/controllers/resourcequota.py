"""The ResourceQuota controller (pkg/controller/resourcequota): keeps each quota's status.hard (its
spec.hard) and status.used (what the namespace's objects use of each hard resource).

Admission charges creates as they happen; this controller measures: when a quota is created or
its spec.hard changes, when an object it tracks goes away or changes what it uses (a pod
finishing, a Service changing type: upstream's replenishment), and every RESYNC_SECONDS
(--resource-quota-sync-period). It reads the objects through the client at the current revision
(not informer caches that may lag a create admission has just charged), and plan_quota_status
(resources/quota.py) decides.

As upstream, creates do not trigger a sync: admission charged them. That keeps the window
upstream leaves open narrow: a sync that lists the namespace between a create's charge and its
write (microseconds here) records a usage without it, until the next sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.client.informer import Informer
from boxk8s.controllers.base import Controller, split_key
from boxk8s.events import EventRecorder
from boxk8s.resources import registry
from boxk8s.resources.podresources import resource_list
from boxk8s.resources.quota import equals, evaluators_for, hard, plan_quota_status, used
from boxk8s.resources.quota_evaluators import Evaluator, evaluator_for
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

Obj = dict[str, Any]

RESYNC_SECONDS = 300.0  # --resource-quota-sync-period


def needs_sync(old: Obj | None, new: Obj) -> bool:
    """addQuota/updateQuota: a new quota, a changed spec.hard, or a status that does not cover it."""
    limits = resource_list((new.get("spec") or {}).get("hard"))
    if old is not None and not equals(limits, resource_list((old.get("spec") or {}).get("hard"))):
        return True
    return old is None or not equals(limits, hard(new)) or any(name not in used(new) for name in limits)


def usage_changed(evaluator: Evaluator, old: Obj | None, new: Obj | None, now: datetime) -> bool:
    """The replenishment rule: an object gone, or one whose usage changed (creates are admission's)."""
    if new is None or old is None:
        return new is None
    return not equals(evaluator.usage(old, now), evaluator.usage(new, now))


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"
    workers = 2

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.RESOURCEQUOTA is not None
        self.clock = clock
        self.quotas = factory.informer(Kind.RESOURCEQUOTA)
        self.quotas.add_handler(self._on_quota)
        self.types: dict[tuple[str, str], ResourceType] = {}
        for rt in registry.RESOURCES:  # the QuotaMonitor watches every kind quota can count
            evaluator = evaluator_for(rt.group, rt.plural) if rt.namespaced and "watch" in rt.verbs else None
            if evaluator is not None and (rt.group, rt.plural) not in self.types:
                self.types[(rt.group, rt.plural)] = rt
                factory.informer(rt).add_handler(self._replenisher(evaluator))
        # The namespaced kinds CRDs serve are counted too (count/<plural>.<group>).
        self.custom = factory.custom_kinds().subscribe(self._watching, accept=lambda rt: rt.namespaced)

    def _watching(self, key: str, rt: ResourceType, informer: Informer) -> None:
        evaluator = evaluator_for(rt.group, rt.plural)
        if evaluator is None:
            return
        informer.add_handler(self._replenisher(evaluator))
        for quota in self.quotas.list():  # a quota that limits the new kind: its usage now known
            if evaluator.matching_resources(hard(quota)):
                self.enqueue(quota)

    def _on_quota(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if new is not None and kind != "DELETED" and needs_sync(old if kind == "MODIFIED" else None, new):
            self.enqueue(new)

    def _replenisher(self, evaluator: Evaluator) -> Callable[[str, Obj | None, Obj | None], None]:
        def on_event(kind: str, old: Obj | None, new: Obj | None) -> None:
            obj = new or old
            if obj is None:
                return
            namespace = obj["metadata"].get("namespace")
            quotas = [q for q in self.quotas.list() if q["metadata"].get("namespace") == namespace]
            if not quotas or not usage_changed(evaluator, old, None if kind == "DELETED" else new, self.clock()):
                return
            for quota in quotas:  # replenishQuota: the quotas that limit something of this kind
                if evaluator.matching_resources(hard(quota)):
                    self.enqueue(quota)
        return on_event

    async def reconcile(self, key: str) -> float | None:
        assert Kind.RESOURCEQUOTA is not None
        namespace, name = split_key(key)
        try:
            quota = await self.client.get(Kind.RESOURCEQUOTA, namespace, name)
        except errors.NotFound:
            return None
        objects: dict[tuple[str, str], list[Obj]] = {}
        custom = {(i.rt.group, i.rt.plural): i.rt for i in self.custom.informers.values()}
        for evaluator in evaluators_for(resource_list((quota.get("spec") or {}).get("hard")), custom):
            rt = self.types.get((evaluator.group, evaluator.plural)) or custom.get((evaluator.group, evaluator.plural))
            if rt is not None:
                objects[(rt.group, rt.plural)] = await self.client.list(rt, namespace)
        status = plan_quota_status(quota, objects, self.clock(), custom)
        if status is not None:
            # At the revision read: a charge admission wrote meanwhile makes this a Conflict, and
            # the queue runs the sync again on fresh state.
            await self.client.update_status(Kind.RESOURCEQUOTA, {**quota, "status": status})
        return RESYNC_SECONDS
