"""Pod and ownership helpers shared by the workload controllers (upstream's podutil + controller_utils).

Pure functions over wire dicts: readiness and availability, pods from templates, controller
references, ActivePods ordering, and the adopt/release decisions of ControllerRefManager.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from boxk8s.errors import BadRequest
from boxk8s.resources import meta
from boxk8s.resources.selectors import selector_from_label_selector

Obj = dict[str, Any]

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def now_utc() -> datetime:
    return datetime.now(UTC)


def pod_condition(pod: Obj, ctype: str) -> Obj | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def is_pod_ready(pod: Obj) -> bool:
    c = pod_condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def pod_ready_since(pod: Obj) -> datetime | None:
    c = pod_condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return None
    return meta.parse_time(c.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """podutil.IsPodAvailable: ready, and for at least minReadySeconds."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = pod_ready_since(pod)
    return since is not None and (now - since).total_seconds() > min_ready_seconds


def seconds_until_available(pod: Obj, min_ready_seconds: int, now: datetime) -> float | None:
    """How long until a ready pod counts as available (None: not ready, or already available)."""
    if not min_ready_seconds or not is_pod_ready(pod):
        return None
    since = pod_ready_since(pod)
    if since is None:
        return None
    left = min_ready_seconds - (now - since).total_seconds()
    return left + 0.05 if left >= 0 else None


def is_pod_active(pod: Obj) -> bool:
    """controller.IsPodActive: not finished and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def max_container_restarts(pod: Obj) -> int:
    return max((cs.get("restartCount") or 0 for cs in (pod.get("status") or {}).get("containerStatuses") or []),
               default=0)


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("-inf")


def active_pods_sort_key(pod: Obj) -> tuple[Any, ...]:
    """controller.ActivePods: ascending order puts the pods to delete first.

    unassigned < assigned; Pending < Unknown < Running; not ready < ready; ready more recently
    first; more restarts first; newer first (empty creation time first).
    """
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ready = is_pod_ready(pod)
    ready_since = pod_ready_since(pod) if ready else None
    created = meta.parse_time(pod["metadata"].get("creationTimestamp"))
    return (
        1 if spec.get("nodeName") else 0,
        _PHASE_ORDINAL.get(status.get("phase") or "", 0),
        1 if ready else 0,
        # afterOrZero: a zero (unknown) ready time sorts first, then later times before earlier
        (1, -_ts(ready_since)) if ready and ready_since is not None else (0, 0.0),
        -max_container_restarts(pod),
        (0, 0.0) if created is None else (1, -created.timestamp()),
    )


def controller_ref(owner: Obj) -> Obj:
    """metav1.NewControllerRef."""
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"].get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def get_controller_of(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def pod_from_template(template: Obj, owner: Obj) -> Obj:
    """controller.GetPodFromTemplate: labels, annotations and finalizers of the template, generateName `<owner>-`."""
    tmeta = template.get("metadata") or {}
    md: Obj = {"generateName": f"{owner['metadata']['name']}-", "ownerReferences": [controller_ref(owner)]}
    for key in ("labels", "annotations", "finalizers"):
        if tmeta.get(key):
            md[key] = copy.deepcopy(tmeta[key])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


@dataclass
class Claims:
    """What ControllerRefManager decides for one owner over candidate objects."""

    owned: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def plan_claims(owner: Obj, selector: Obj | None, candidates: list[Obj]) -> Claims:
    """Owned objects that match stay; orphans that match are adopted; owned ones that stopped matching are released.

    `owned` includes the adopted ones (they count once the adoption succeeds). A deleting owner
    adopts nothing and releases nothing.
    """
    uid = owner["metadata"].get("uid")
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    out = Claims()
    try:  # compile once, not per candidate
        select = selector_from_label_selector(selector)
    except BadRequest:
        select = selector_from_label_selector(None)  # an invalid selector selects nothing
    for obj in candidates:
        ref = get_controller_of(obj)
        matches = select(obj["metadata"].get("labels") or {})
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                out.owned.append(obj)
            elif not deleting:
                out.release.append(obj)
            continue
        if deleting or not matches or obj["metadata"].get("deletionTimestamp"):
            continue
        out.adopt.append(obj)
        out.owned.append(obj)
    return out


def with_owner(obj: Obj, owner: Obj) -> Obj:
    new = copy.deepcopy(obj)
    refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != owner["metadata"].get("uid")]
    new["metadata"]["ownerReferences"] = [*refs, controller_ref(owner)]
    return new


def without_owner(obj: Obj, owner: Obj) -> Obj:
    new = copy.deepcopy(obj)
    uid = owner["metadata"].get("uid")
    new["metadata"]["ownerReferences"] = [r for r in new["metadata"].get("ownerReferences") or []
                                          if r.get("uid") != uid]
    return new


POD_CONTROLLER_INDEX = "namespace/controller-uid"


def pod_controller_index(obj: Obj) -> list[str]:
    """`<namespace>/<controller uid>`, or `<namespace>/` for an orphan: a controller's candidates
    are its own pods plus the orphans of its namespace."""
    ref = get_controller_of(obj)
    return [f"{obj['metadata'].get('namespace', '')}/{ref.get('uid', '') if ref else ''}"]
