"""The cluster-scoped objects a fresh real cluster has besides namespaces and Services: the default
RBAC policy, the default StorageClass, the system PriorityClasses and the local APIServices.

Each is created when missing; a restarted cluster keeps what it has (a changed or deleted default
stays as the user left it, except the APIServices, which follow what boxk8s serves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.cluster import rbac_defaults
from boxk8s.cluster.apiservices import available_condition, plan_apiservices
from boxk8s.controllers.pvc import DEFAULT_CLASS, PROVISIONER
from boxk8s.resources import registry
from boxk8s.resources.admission_storageclass import IS_DEFAULT_CLASS
from boxk8s.resources.layer import Resources
from boxk8s.resources.meta import now_rfc3339
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.validation_cluster import SYSTEM_PRIORITY_CLASSES

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MANAGER = "kube-apiserver"


def _rt(group: str, plural: str) -> ResourceType:
    rt = registry.find(group, "v1", plural)
    assert rt is not None, plural
    return rt


def default_storage_class() -> Obj:
    """kind's `standard` class, provisioned by boxk8s (controllers/pvc.py). Immediate binding: the
    binder provisions as soon as a claim exists (nothing would set the selected node WaitForFirstConsumer
    waits for), and a Docker named volume does not belong to one node."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_CLASS, "annotations": {IS_DEFAULT_CLASS: "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


def system_priority_classes() -> list[Obj]:
    """scheduling.SystemPriorityClasses (pkg/apis/scheduling/helpers.go), created by the apiserver's
    scheduling bootstrap (pkg/registry/scheduling/rest/storage_scheduling.go)."""
    return [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
             "value": SYSTEM_PRIORITY_CLASSES[name], "description": description, "globalDefault": False,
             "preemptionPolicy": "PreemptLowerPriority"}
            for name, description in (
                ("system-node-critical", "Used for system critical pods that must not be moved from their current node."),
                ("system-cluster-critical", "Used for system critical pods that must run in the cluster, but can be "
                                            "moved to another node if necessary."),
            )]


async def _create(client: Client, rt: ResourceType, obj: Obj) -> None:
    with contextlib.suppress(errors.AlreadyExists):
        await client.create(rt, None, obj)


async def _create_missing(client: Client, rt: ResourceType, objects: list[Obj]) -> None:
    """Created together, so that the store commits them in one transaction (a cluster's first start
    and every test's cluster pay one commit, not one per object)."""
    present = {o["metadata"]["name"] for o in await client.list(rt)}
    await asyncio.gather(*(_create(client, rt, o) for o in objects if o["metadata"]["name"] not in present))


async def reconcile_apiservices(client: Client) -> None:
    """Create the APIServices of what boxk8s serves, delete those it made for what it no longer
    serves, mark the local ones Available."""
    rt = _rt("apiregistration.k8s.io", "apiservices")
    plan = plan_apiservices(registry.group_versions(), await client.list(rt))
    await asyncio.gather(*(_create(client, rt, obj) for obj in plan.create))
    for obj in plan.update:
        await client.patch(rt, None, obj["metadata"]["name"], {"spec": obj["spec"]})
    for name in plan.delete:
        log.info("apiservice/%s: no longer served; deleted", name)
        with contextlib.suppress(errors.NotFound):
            await client.delete(rt, None, name)
    now = now_rfc3339()
    await asyncio.gather(*(_mark_available(client, rt, name, now) for name in plan.mark_available))


async def _mark_available(client: Client, rt: ResourceType, name: str, now: str) -> None:
    with contextlib.suppress(errors.NotFound):
        await client.patch(rt, None, name, {"status": {"conditions": [available_condition(now)]}}, "merge", "status")


async def ensure_system_objects(resources: Resources) -> None:
    client = Client(resources, MANAGER)
    await asyncio.gather(
        _create_missing(client, _rt("rbac.authorization.k8s.io", "clusterroles"), rbac_defaults.cluster_roles()),
        _create_missing(client, _rt("rbac.authorization.k8s.io", "clusterrolebindings"),
                        rbac_defaults.cluster_role_bindings()),
        _create_missing(client, _rt("storage.k8s.io", "storageclasses"), [default_storage_class()]),
        _create_missing(client, _rt("scheduling.k8s.io", "priorityclasses"), system_priority_classes()),
        reconcile_apiservices(client),
    )
