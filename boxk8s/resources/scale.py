"""The `scale` subresource (autoscaling/v1 Scale) of the kinds that have one.

One reading of a workload as a Scale, shared by the API's `…/scale` endpoints and by in-process
clients (the HPA controller scales its target through it, as upstream's scale client does).
Upstream: pkg/registry/apps/deployment/storage/storage.go scaleFromDeployment (and the
ReplicaSet, StatefulSet and ReplicationController ones).
"""

from __future__ import annotations

import copy
from typing import Any

from boxk8s.resources import selectors
from boxk8s.resources.strategy import strategy_of

_SCALE_METADATA = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")


def scale_selector(kind: str, spec: dict[str, Any]) -> str:
    """status.selector: the workload's pod selector as a string. A ReplicationController's is a
    plain map (labels.SelectorFromSet), the others' a metav1.LabelSelector: the kind's strategy
    reads either as a LabelSelector."""
    selector = strategy_of(kind).label_selector({"spec": spec}) if isinstance(spec.get("selector"), dict) else None
    return selectors.selector_to_string(selector) if isinstance(selector, dict) else ""


def scale_of(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The Scale of a workload object."""
    md = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: copy.deepcopy(md[k]) for k in _SCALE_METADATA if k in md},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": scale_selector(kind, spec)},
    }


def replicas_patch(replicas: int, resource_version: str = "") -> dict[str, Any]:
    """The merge patch writing a Scale's spec.replicas to its workload; with the Scale's
    resourceVersion, a write that conflicts with a change made since it was read (409)."""
    body: dict[str, Any] = {"spec": {"replicas": replicas}}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    return body
