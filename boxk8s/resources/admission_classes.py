"""The admission plugins that read classes: Priority (PriorityClasses, admission_priority.py) and
DefaultStorageClass (StorageClasses, admission_storageclass.py), in the admission seam.

Their decisions are the pure functions of those modules; these only list the classes (cluster
scoped, few) and say which writes they look at. Neither admits a subresource write.
"""

from __future__ import annotations

from typing import Any

from boxk8s.resources import admission_priority, admission_storageclass, registry
from boxk8s.resources.admission_plugins import CREATE, UPDATE, Attributes, ResourceAccess
from boxk8s.resources.registry import ResourceType

PRIORITY_CLASSES = registry.find("scheduling.k8s.io", "v1", "priorityclasses")
STORAGE_CLASSES = registry.find("storage.k8s.io", "v1", "storageclasses")


async def _all(api: ResourceAccess, rt: ResourceType | None) -> list[dict[str, Any]]:
    assert rt is not None
    items, _ = await api.list(rt, None)
    return items


class PriorityAdmission:
    """plugin/pkg/admission/priority: pods get their class's priority on create (and keep it on
    update); a second globalDefault PriorityClass is refused."""

    name = "Priority"

    def handles(self, attrs: Attributes) -> bool:
        return not attrs.subresource and attrs.rt.group_resource in ("pods", "priorityclasses.scheduling.k8s.io")

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        if attrs.rt.group_resource != "pods":
            return
        if attrs.operation == CREATE:
            admission_priority.admit_pod_create(attrs.obj, await _all(api, PRIORITY_CLASSES))
        elif attrs.operation == UPDATE and attrs.old is not None:
            admission_priority.admit_pod_update(attrs.obj, attrs.old)

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        if attrs.rt.group_resource == "priorityclasses.scheduling.k8s.io":
            admission_priority.validate_priority_class(attrs.obj, await _all(api, PRIORITY_CLASSES),
                                                       attrs.operation == CREATE)


class DefaultStorageClassAdmission:
    """plugin/pkg/admission/storage/storageclass/setdefault: a claim created without a class gets
    the default StorageClass's."""

    name = "DefaultStorageClass"

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == CREATE and not attrs.subresource and attrs.rt.group_resource == "persistentvolumeclaims"

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        admission_storageclass.admit_claim_create(attrs.obj, await _all(api, STORAGE_CLASSES))

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        return None
