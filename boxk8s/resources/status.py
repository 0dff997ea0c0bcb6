"""Status and deletion rules around the write path: what create resets, what /status may change,
which finalizers a delete leaves. What differs per kind is asked of the strategy table."""

from __future__ import annotations

import copy
from typing import Any

from boxk8s.resources.registry import ResourceType
from boxk8s.resources.strategy import strategy_for


def prepare_for_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """The apiserver's PrepareForCreate: status is the system's, not the client's."""
    strategy_for(rt).prepare_for_create(rt, obj)


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


ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"


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
        if strategy_for(rt).default_gc_policy != "Orphan":
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
