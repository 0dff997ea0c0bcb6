"""The scale subresource of custom resources, read and written through the CRD's JSON paths.

apiextensions-apiserver/pkg/registry/customresource/etcd.go (scaleFromCustomResource and the
ScaleREST update): spec.replicas is read at specReplicasPath, status.replicas at
statusReplicasPath (0 when absent), status.selector at labelSelectorPath; a write sets the value
at specReplicasPath and nothing else.
"""

from __future__ import annotations

import copy
from typing import Any

from boxk8s.resources import custom, scale
from boxk8s.resources.custom import CustomVersion
from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]


def _nested(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.lstrip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def scale_of(cv: CustomVersion, obj: Obj) -> Obj:
    assert cv.scale is not None
    md = obj.get("metadata") or {}
    selector = _nested(obj, cv.scale.label_selector_path) if cv.scale.label_selector_path else ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: copy.deepcopy(md[k]) for k in ("name", "namespace", "uid", "resourceVersion",
                                                       "creationTimestamp") if k in md},
        "spec": {"replicas": _int(_nested(obj, cv.scale.spec_replicas_path))},
        "status": {"replicas": _int(_nested(obj, cv.scale.status_replicas_path)),
                   "selector": selector if isinstance(selector, str) else ""},
    }


def replicas_patch(cv: CustomVersion, replicas: int, resource_version: str = "") -> Obj:
    """The merge patch that sets `replicas` at specReplicasPath (with the Scale's resourceVersion:
    a write that conflicts with a change made since it was read)."""
    assert cv.scale is not None
    parts = cv.scale.spec_replicas_path.lstrip(".").split(".")
    body: Obj = {parts[-1]: replicas}
    for part in reversed(parts[:-1]):
        body = {part: body}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    return body


def scale_of_resource(rt: ResourceType, obj: Obj) -> Obj:
    """The Scale of an object of any kind with the subresource: a custom resource through its
    CRD's paths, a built-in workload through spec.replicas."""
    cv = custom.lookup(rt.definition)
    if cv is not None and cv.scale is not None:
        return scale_of(cv, obj)
    return scale.scale_of(rt.kind, obj)


def replicas_patch_of_resource(rt: ResourceType, replicas: int, resource_version: str = "") -> Obj:
    """The merge patch writing a Scale's spec.replicas to an object of any kind."""
    cv = custom.lookup(rt.definition)
    if cv is not None and cv.scale is not None:
        return replicas_patch(cv, replicas, resource_version)
    return scale.replicas_patch(replicas, resource_version)
