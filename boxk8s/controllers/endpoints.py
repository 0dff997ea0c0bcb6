"""The Endpoints and EndpointSlice controllers: a Service's selected pods, as the proxy and DNS read them.

Upstream: pkg/controller/endpoint (EndpointController.syncService) and pkg/controller/endpointslice
(Controller.syncService and its reconciler). Both are keyed by Service; pod events enqueue the
Services in the pod's namespace whose selector matches the pod before or after the change. The
decisions are in `endpoints_plan`.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.client.informer import Informer, object_key
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.endpoints_plan import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SliceContent,
    desired_slices,
    endpoints_labels,
    plan_endpoints_subsets,
    plan_slices,
    selects,
    slice_labels,
)
from boxk8s.controllers.podutil import controller_ref
from boxk8s.events import EventRecorder

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NAMESPACE_INDEX = "namespace"
SERVICE_SLICES_INDEX = "namespace/service-name"  # managed EndpointSlices by the Service they serve
STALE_RECHECK_SECONDS = 0.05  # the cache has not seen our last write yet: look again shortly


def namespace_index(obj: Obj) -> list[str]:
    return [str(obj["metadata"].get("namespace") or "")]


def service_slices_index(obj: Obj) -> list[str]:
    labels = obj["metadata"].get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or not labels.get(SERVICE_NAME_LABEL):
        return []
    return [f"{obj['metadata'].get('namespace', '')}/{labels[SERVICE_NAME_LABEL]}"]


class _ServicePods:
    """What both controllers share: Services and pods from the shared informers, and the Services a
    pod event concerns."""

    def __init__(self, controller: Controller, factory: InformerFactory) -> None:
        self.controller = controller
        self.services: Informer = factory.informer(Kind.SERVICE)
        self.pods: Informer = factory.informer(Kind.POD)
        self.services.add_index(NAMESPACE_INDEX, namespace_index)
        self.pods.add_index(NAMESPACE_INDEX, namespace_index)
        self.services.add_handler(lambda _t, old, new: controller.enqueue(new or old))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, _kind: str, old: Obj | None, new: Obj | None) -> None:
        """getPodServiceMemberships of the pod before and after: both sets of Services may change."""
        if old is not None and new is not None and _pod_view(old) == _pod_view(new):
            return  # a change no Service's endpoints depend on
        for pod in (old, new):
            if pod is None:
                continue
            for svc in self.services.by_index(NAMESPACE_INDEX, pod["metadata"].get("namespace") or ""):
                if selects(svc, pod):
                    self.controller.enqueue(svc)

    def selected(self, service: Obj) -> list[Obj]:
        ns = service["metadata"].get("namespace") or ""
        return [p for p in self.pods.by_index(NAMESPACE_INDEX, ns) if selects(service, p)]


def _pod_view(pod: Obj) -> tuple[Any, ...]:
    """What endpoints are made of: labels, IP, readiness, phase, deletion, node, hostname, ports."""
    md, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    ports = [c.get("ports") for c in spec.get("containers") or []]
    return (md.get("labels"), md.get("deletionTimestamp"), status.get("podIP"), status.get("phase"), ready,
            spec.get("nodeName"), spec.get("hostname"), spec.get("subdomain"), ports)


class EndpointsController(Controller):
    name = "endpoint-controller"
    workers = 2

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.ENDPOINTS is not None
        self.members = _ServicePods(self, factory)
        self.endpoints = factory.informer(Kind.ENDPOINTS)
        # Endpoints changed or deleted behind our back are put right (their key is the Service's).
        self.endpoints.add_handler(lambda _t, old, new: self.enqueue(new or old))

    async def reconcile(self, key: str) -> float | None:
        assert Kind.ENDPOINTS is not None
        namespace, name = split_key(key)
        service = self.members.services.get(key)
        current = self.endpoints.get(key)
        if service is None:
            if current is not None and self.members.services.synced.is_set():
                await _delete(self.client, Kind.ENDPOINTS, namespace, name)
            return None
        if not (service.get("spec") or {}).get("selector"):
            return None  # a Service without a selector: its Endpoints are the user's
        subsets = plan_endpoints_subsets(service, self.members.selected(service))
        labels = endpoints_labels(service)
        if current is not None and current.get("subsets", []) == subsets \
                and (current["metadata"].get("labels") or {}) == labels:
            return None
        try:
            if current is None:
                await self.client.create(Kind.ENDPOINTS, namespace, {
                    "apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels}, "subsets": subsets,
                })
            else:
                new = copy.deepcopy(current)
                new["metadata"]["labels"] = labels
                new["subsets"] = subsets
                if not subsets:
                    new.pop("subsets", None)
                await self.client.update(Kind.ENDPOINTS, new)
        except (errors.AlreadyExists, errors.Conflict):
            return STALE_RECHECK_SECONDS  # our cache is behind a write: look again once it has it
        return None


class EndpointSliceController(Controller):
    name = "endpointslice-controller"
    workers = 2

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.ENDPOINTSLICE is not None
        self.members = _ServicePods(self, factory)
        self.slices = factory.informer(Kind.ENDPOINTSLICE)
        self.slices.add_index(SERVICE_SLICES_INDEX, service_slices_index)
        self.slices.add_handler(self._on_slice)
        # endpointSliceTracker: the resourceVersion of each slice we last wrote (0: deleted), so a
        # reconcile on a cache that has not caught up waits instead of creating duplicates.
        self.written: dict[str, dict[str, int]] = {}

    def _on_slice(self, _kind: str, old: Obj | None, new: Obj | None) -> None:
        for s in (old, new):
            for key in service_slices_index(s) if s is not None else []:
                self.queue.add(key)

    def _stale(self, key: str) -> bool:
        tracked = self.written.get(key) or {}
        for slice_key, rv in list(tracked.items()):
            cached = self.slices.get(slice_key)
            seen = cached is None if rv == 0 else (cached is not None
                                                    and int(cached["metadata"]["resourceVersion"]) >= rv)
            if seen:
                del tracked[slice_key]
        return bool(tracked)

    def _track(self, key: str, obj: Obj | None, slice_key: str) -> None:
        rv = int(obj["metadata"]["resourceVersion"]) if obj is not None else 0
        self.written.setdefault(key, {})[slice_key] = rv

    async def reconcile(self, key: str) -> float | None:
        assert Kind.ENDPOINTSLICE is not None
        if self._stale(key):
            return STALE_RECHECK_SECONDS
        namespace, _name = split_key(key)
        existing = self.slices.by_index(SERVICE_SLICES_INDEX, key)
        service = self.members.services.get(key)
        if service is None or not (service.get("spec") or {}).get("selector"):
            if service is None and self.members.services.synced.is_set():
                for s in existing:  # the garbage collector would too (ownerReferences); at once is kinder
                    await _delete(self.client, Kind.ENDPOINTSLICE, namespace, s["metadata"]["name"])
                self.written.pop(key, None)
            return None
        desired = desired_slices(service, self.members.selected(service)) or [SliceContent((), ())]
        labels = slice_labels(service)
        plan = plan_slices(desired, existing, all((s["metadata"].get("labels") or {}) == labels for s in existing))
        by_name = {s["metadata"]["name"]: s for s in existing}
        try:
            for content in plan.create:
                created = await self.client.create(Kind.ENDPOINTSLICE, namespace, {
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"generateName": f"{service['metadata']['name']}-", "namespace": namespace,
                                 "labels": labels,
                                 "ownerReferences": [controller_ref({**service, "apiVersion": "v1", "kind": "Service"})]},
                    **_slice_body(content),
                })
                self._track(key, created, object_key(created))
            for name, content in plan.update.items():
                new = copy.deepcopy(by_name[name])
                new.pop("ports", None)
                new.update(_slice_body(content))
                new["metadata"]["labels"] = labels
                self._track(key, await self.client.update(Kind.ENDPOINTSLICE, new), f"{namespace}/{name}")
            for name in plan.delete:
                await _delete(self.client, Kind.ENDPOINTSLICE, namespace, name)
                self._track(key, None, f"{namespace}/{name}")
        except errors.Conflict:
            return STALE_RECHECK_SECONDS
        return None


def _slice_body(content: SliceContent) -> Obj:
    """A slice's payload; a slice with no ports has none at all (the placeholder of a Service with no
    endpoints has neither)."""
    body: Obj = {"addressType": "IPv4", "endpoints": list(content.endpoints)}
    if content.ports:
        body["ports"] = content.ports_json()
    return body


async def _delete(client: Client, rt: Any, namespace: str | None, name: str) -> None:
    try:
        await client.delete(rt, namespace, name)
    except errors.NotFound:
        pass
