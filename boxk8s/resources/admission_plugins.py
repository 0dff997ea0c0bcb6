"""The built-in admission plugins the write path runs, in the apiserver's places: mutating ones
after decoding and before the object is defaulted and validated, validating ones after.

Only plugins that need other stored objects live here (the Priority plugin reads PriorityClasses,
DefaultStorageClass reads StorageClasses); what needs nothing but the object is in defaults.py.
Subresource writes are never admitted by these plugins (each ignores GetSubresource() != "").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from boxk8s.resources import admission_priority, admission_storageclass, registry
from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]
# All the stored objects of a kind, at the current revision.
Lister = Callable[[ResourceType], Awaitable[list[Obj]]]

PRIORITY_CLASSES = registry.find("scheduling.k8s.io", "v1", "priorityclasses")
STORAGE_CLASSES = registry.find("storage.k8s.io", "v1", "storageclasses")


async def admit_create(list_all: Lister, rt: ResourceType, obj: Obj) -> None:
    assert PRIORITY_CLASSES and STORAGE_CLASSES
    if rt.group_resource == "pods":
        admission_priority.admit_pod_create(obj, await list_all(PRIORITY_CLASSES))
    elif rt.group_resource == "persistentvolumeclaims":
        admission_storageclass.admit_claim_create(obj, await list_all(STORAGE_CLASSES))


def admit_update(rt: ResourceType, obj: Obj, old: Obj, subresource: str) -> None:
    if rt.group_resource == "pods" and not subresource:
        admission_priority.admit_pod_update(obj, old)


async def validate(list_all: Lister, rt: ResourceType, obj: Obj, *, creating: bool, subresource: str = "") -> None:
    if rt.group_resource == "priorityclasses.scheduling.k8s.io" and not subresource:
        assert PRIORITY_CLASSES
        admission_priority.validate_priority_class(obj, await list_all(PRIORITY_CLASSES), creating)
