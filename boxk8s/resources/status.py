"""Per-kind rules around status and deletion: what create resets, what /status may change,
which deletions are graceful, which objects may not be deleted."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from boxk8s import errors
from boxk8s.resources.registry import ResourceType

UNDELETABLE_NAMESPACES = ("default", "kube-system", "kube-public")


def pod_qos_class(spec: dict[str, Any]) -> str:
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and str(req[r]) != str(lim[r])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_for_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """The apiserver's PrepareForCreate: status is the system's, not the client's."""
    if rt.kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj.get("spec") or {})}
    elif rt.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif rt.kind == "Service":
        obj["status"] = {"loadBalancer": {}}
    elif rt.kind == "Node":
        return  # nodes may set their status on create (the kubelet registers that way)
    elif "status" in rt.subresources:
        obj["status"] = {}


def merge_for_subresource(
    rt: ResourceType, current: dict[str, Any], obj: dict[str, Any], subresource: str
) -> dict[str, Any]:
    if subresource == "status":
        # `current` is this request's own copy (decoded from the store): share its spec, copy
        # what the write path changes (metadata), take the new status.
        new = dict(current)
        new["metadata"] = dict(current["metadata"])
        new["status"] = obj.get("status") or {}
        return new
    if subresource == "finalize":
        new = copy.deepcopy(current)
        new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
        return new
    new = copy.deepcopy(obj)
    if "status" in rt.subresources:
        if "status" in current:
            new["status"] = copy.deepcopy(current["status"])
        else:
            new.pop("status", None)
    return new


def blocks_deletion(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """Namespaces wait for their content to go (spec.finalizers holds `kubernetes`)."""
    return rt.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def check_deletable(rt: ResourceType, obj: dict[str, Any]) -> None:
    name = obj["metadata"]["name"]
    if rt.kind == "Namespace" and name in UNDELETABLE_NAMESPACES:
        raise errors.Forbidden(
            f'namespaces "{name}" is forbidden: this namespace may not be deleted', name=name, kind="namespaces"
        )


def grace_period(rt: ResourceType, obj: dict[str, Any], requested: int | None) -> int:
    """Only pods that run on a node terminate gracefully; an unbound or finished pod goes at once."""
    if rt.kind != "Pod":
        return 0
    spec = obj.get("spec") or {}
    if not spec.get("nodeName") or (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(int(requested), 0)
    return int(spec.get("terminationGracePeriodSeconds", 30))


def mark_deleting(rt: ResourceType, obj: dict[str, Any], grace: int) -> None:
    md = obj["metadata"]
    md["deletionTimestamp"] = (datetime.now(UTC) + timedelta(seconds=grace)).strftime("%Y-%m-%dT%H:%M:%SZ")
    md["deletionGracePeriodSeconds"] = grace
    if rt.kind == "Namespace":
        obj.setdefault("status", {})["phase"] = "Terminating"


ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
# Kinds whose REST strategy defaults to orphaning dependents when a delete names no policy
# (DefaultGarbageCollectionPolicy): batch/v1 Job and v1 ReplicationController keep their old
# behaviour for compatibility; everything else deletes dependents in the background.
ORPHAN_BY_DEFAULT = {("batch", "Job"), ("", "ReplicationController")}


def propagation_policy(rt: ResourceType, options: dict[str, Any]) -> str | None:
    """The policy a delete asks for: propagationPolicy, else the legacy orphanDependents, else None."""
    policy = options.get("propagationPolicy")
    if policy:
        return str(policy)
    orphan = options.get("orphanDependents")
    if orphan is not None:
        return "Orphan" if orphan else "Background"
    return None


def deletion_finalizers(rt: ResourceType, finalizers: list[str], options: dict[str, Any]) -> list[str]:
    """The garbage collector's finalizers a delete leaves on the object (the apiserver's
    deletionFinalizersForGarbageCollection): Orphan adds `orphan`, Foreground adds
    `foregroundDeletion`, Background removes both, no policy applies the kind's default."""
    policy = propagation_policy(rt, options)
    if policy is None:
        if (rt.group, rt.kind) not in ORPHAN_BY_DEFAULT:
            return list(finalizers)
        if FOREGROUND_FINALIZER in finalizers:
            return list(finalizers)  # an earlier foreground delete stands
        policy = "Orphan"
    out = [f for f in finalizers if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
    if policy == "Orphan":
        out.append(ORPHAN_FINALIZER)
    elif policy == "Foreground":
        out.append(FOREGROUND_FINALIZER)
    return out
