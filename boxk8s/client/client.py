"""A typed-by-kind facade over the resource layer, for controllers, the scheduler and kubelets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from boxk8s.resources import registry
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.crd_scale import replicas_patch_of_resource, scale_of_resource
from boxk8s.resources.layer import Predicate, Resources
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.token_request import request_token


class Kind:
    """Short names for the resource types components use."""

    NAMESPACE = registry.find("", "v1", "namespaces")
    POD = registry.find("", "v1", "pods")
    NODE = registry.find("", "v1", "nodes")
    SERVICE = registry.find("", "v1", "services")
    ENDPOINTS = registry.find("", "v1", "endpoints")
    ENDPOINTSLICE = registry.find("discovery.k8s.io", "v1", "endpointslices")
    EVENT = registry.find("", "v1", "events")
    CONFIGMAP = registry.find("", "v1", "configmaps")
    SECRET = registry.find("", "v1", "secrets")
    PVC = registry.find("", "v1", "persistentvolumeclaims")
    LEASE = registry.find("coordination.k8s.io", "v1", "leases")
    INGRESS = registry.find("networking.k8s.io", "v1", "ingresses")
    INGRESSCLASS = registry.find("networking.k8s.io", "v1", "ingressclasses")
    DEPLOYMENT = registry.find("apps", "v1", "deployments")
    REPLICASET = registry.find("apps", "v1", "replicasets")
    STATEFULSET = registry.find("apps", "v1", "statefulsets")
    DAEMONSET = registry.find("apps", "v1", "daemonsets")
    JOB = registry.find("batch", "v1", "jobs")
    SERVICEACCOUNT = registry.find("", "v1", "serviceaccounts")
    REPLICATIONCONTROLLER = registry.find("", "v1", "replicationcontrollers")
    RESOURCEQUOTA = registry.find("", "v1", "resourcequotas")
    HPA = registry.find("autoscaling", "v2", "horizontalpodautoscalers")


class Client:
    """Every write names its field manager, as a real component's client does."""

    def __init__(self, resources: Resources, manager: str) -> None:
        self.resources = resources
        self.manager = manager

    def _opts(self) -> WriteOptions:
        return WriteOptions(field_manager=self.manager, field_validation="Ignore", trusted=True)

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return await self.resources.get(rt, namespace, name)

    async def list(self, rt: ResourceType, namespace: str | None = None, *,
                   label: Predicate | None = None, field: Predicate | None = None) -> list[dict[str, Any]]:
        items, _ = await self.resources.list(rt, namespace, label=label, field=field)
        return items

    async def list_with_revision(self, rt: ResourceType, namespace: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """What an informer lists. An object stored encrypted with a key no longer configured is left
        out (API clients get a 500 for it, as from the apiserver): on Kubernetes only the controllers
        watching that kind would stall, here every informer shares one start."""
        items, meta = await self.resources.list(rt, namespace, skip_unreadable=True)
        return items, meta["resourceVersion"]

    async def watch(self, rt: ResourceType, namespace: str | None, resource_version: str, *,
                    label: Predicate | None = None, field: Predicate | None = None,
                    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        return await self.resources.watch(rt, namespace, resource_version=resource_version, label=label, field=field)

    async def create(self, rt: ResourceType, namespace: str | None, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.resources.create(rt, namespace, obj, self._opts())

    async def update(self, rt: ResourceType, obj: dict[str, Any], subresource: str = "") -> dict[str, Any]:
        md = obj["metadata"]
        return await self.resources.update(rt, md.get("namespace"), md["name"], obj, self._opts(), subresource)

    async def update_status(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        md = obj["metadata"]
        opts = self._opts()
        opts.record_managed_fields = False  # status is the component's own; keep its writes cheap
        return await self.resources.update(rt, md.get("namespace"), md["name"], obj, opts, "status")

    async def patch(self, rt: ResourceType, namespace: str | None, name: str, body: Any,
                    patch_type: str = "merge", subresource: str = "") -> dict[str, Any]:
        return await self.resources.patch(rt, namespace, name, patch_type, body, self._opts(), subresource)

    async def apply(self, rt: ResourceType, namespace: str | None, name: str, body: dict[str, Any], *,
                    force: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply (application/apply-patch+yaml) as this client's field manager, of a
        body written by a person: decoded and checked as an API request's, unknown fields refused
        (fieldValidation=Strict, what kubectl sends by default)."""
        opts = WriteOptions(field_manager=self.manager, field_validation="Strict", force=force, dry_run=dry_run)
        return await self.resources.patch(rt, namespace, name, "apply", body, opts)

    async def create_token(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """serviceaccounts/token: a TokenRequest answered with a signed, bound token (the kubelet's)."""
        return await request_token(self.resources, self.resources.token_issuer, namespace, name, request)

    async def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        """The `scale` subresource: the workload read as an autoscaling/v1 Scale."""
        return scale_of_resource(rt, await self.resources.get(rt, namespace, name))

    async def update_scale(self, rt: ResourceType, scale: dict[str, Any]) -> dict[str, Any]:
        """Write a Scale's spec.replicas (409 Conflict when the workload changed since the Scale
        was read, as an update of the subresource carrying its resourceVersion)."""
        md = scale["metadata"]
        body = replicas_patch_of_resource(rt, int(scale["spec"]["replicas"]), md.get("resourceVersion") or "")
        obj = await self.resources.patch(rt, md.get("namespace"), md["name"], "merge", body, self._opts())
        return scale_of_resource(rt, obj)

    async def bind(self, namespace: str, name: str, node: str) -> dict[str, Any]:
        """pods/binding: set spec.nodeName once (the scheduler's write); returns the bound pod."""
        return await self.resources.bind(namespace, name, node)

    async def delete(self, rt: ResourceType, namespace: str | None, name: str,
                     options: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
        return await self.resources.delete(rt, namespace, name, options)
