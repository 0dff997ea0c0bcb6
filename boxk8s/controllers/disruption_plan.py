"""The disruption controller's decisions, as pure functions: a PodDisruptionBudget's status.

Upstream: pkg/controller/disruption/disruption.go (trySync, getExpectedPodCount, getExpectedScale
and its finders, buildDisruptedPodMap, countHealthyPods, updatePdbStatus, failSafe,
nonTerminatingPodHasStaleDisruptionCondition). The controller reads the PDB, its pods and the
pods' controllers from informers (`Lookup`), and writes what `plan_pdb_status` decides.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from boxk8s.errors import BadRequest
from boxk8s.resources import registry
from boxk8s.resources.disruption import (
    DISRUPTION_ALLOWED,
    SYNC_FAILED,
    conditions_are_up_to_date,
    is_pod_ready,
    set_status_condition,
    update_disruption_allowed_condition,
)
from boxk8s.resources.meta import format_time, parse_time
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.selectors import selector_from_label_selector

Obj = dict[str, Any]

DELETION_TIMEOUT = timedelta(minutes=2)  # DeletionTimeout: an evicted pod not deleting by then counts again
STALE_POD_DISRUPTION_TIMEOUT = timedelta(minutes=2)  # stalePodDisruptionTimeout
WARNING = "Warning"
NORMAL = "Normal"

# The workload kinds upstream's finders read from listers (the others go through the scale subresource).
RC = registry.find("", "v1", "replicationcontrollers")
RS = registry.find("apps", "v1", "replicasets")
DEPLOYMENT = registry.find("apps", "v1", "deployments")
STATEFULSET = registry.find("apps", "v1", "statefulsets")
assert RC and RS and DEPLOYMENT and STATEFULSET

# (kind, namespace, name) -> the object from the informers' caches, or None.
Lookup = Callable[[ResourceType, str, str], Obj | None]


class SyncError(Exception):
    """What makes trySync fail: the message of the SyncFailed condition."""


@dataclass(frozen=True)
class Event:
    obj: Obj  # the PDB, or a pod
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class PdbPlan:
    status: Obj | None  # the status to write (update at the PDB's resourceVersion); None: up to date
    recheck_after: float | None  # seconds until a disrupted pod's deletion deadline passes
    events: tuple[Event, ...] = ()
    failed: str = ""  # trySync failed: `status` is failSafe's (no disruptions, SyncFailed)


# ---- intstr ---------------------------------------------------------------------------------------

_ATOI = re.compile(r"[+-]?[0-9]+")  # what strconv.Atoi parses

def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as it is, "N%" of `total`; raises SyncError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SyncError("invalid value for IntOrString: invalid type: neither int nor percentage")
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise SyncError("invalid value for IntOrString: invalid type: string is not a percentage")
    digits = value[:-1]
    if not _ATOI.fullmatch(digits):
        raise SyncError(f'invalid value for IntOrString: invalid value "{value}": strconv.Atoi: '
                        f'parsing "{digits}": invalid syntax')
    pct = int(digits)
    exact = float(pct) * float(total) / 100  # Go computes in float64
    return math.ceil(exact) if round_up else math.floor(exact)


# ---- the pods' controllers ------------------------------------------------------------------------

def _group_of(api_version: str) -> str:
    """schema.ParseGroupVersion's group; raises SyncError for a malformed apiVersion."""
    if api_version in ("", "/"):
        return ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return ""
    if len(parts) == 2:
        return parts[0]
    raise SyncError(f"unexpected GroupVersion string: {api_version}")


def _is(ref: Obj, kind: str, groups: tuple[str, ...]) -> bool:
    """verifyGroupKind."""
    group = _group_of(str(ref.get("apiVersion") or ""))
    return ref.get("kind") == kind and group in groups


def _controller_of(obj: Obj) -> Obj | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _replicas(obj: Obj) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1))


def _same(obj: Obj | None, ref: Obj) -> Obj | None:
    return obj if obj is not None and obj["metadata"].get("uid") == ref.get("uid") else None


def _replication_controller(ref: Obj, ns: str, lookup: Lookup) -> tuple[str, int] | None:
    if not _is(ref, "ReplicationController", ("",)):
        return None
    rc = _same(lookup(RC, ns, ref.get("name", "")), ref)
    return (rc["metadata"]["uid"], _replicas(rc)) if rc else None


def _deployment(ref: Obj, ns: str, lookup: Lookup) -> tuple[str, int] | None:
    """getPodDeployment: the Deployment of the pod's ReplicaSet."""
    if not _is(ref, "ReplicaSet", ("apps", "extensions")):
        return None
    rs = _same(lookup(RS, ns, ref.get("name", "")), ref)
    owner = _controller_of(rs) if rs else None
    if owner is None or not _is(owner, "Deployment", ("apps", "extensions")):
        return None
    deployment = _same(lookup(DEPLOYMENT, ns, owner.get("name", "")), owner)
    return (deployment["metadata"]["uid"], _replicas(deployment)) if deployment else None


def _replica_set(ref: Obj, ns: str, lookup: Lookup) -> tuple[str, int] | None:
    """getPodReplicaSet: a ReplicaSet no Deployment controls."""
    if not _is(ref, "ReplicaSet", ("apps", "extensions")):
        return None
    rs = _same(lookup(RS, ns, ref.get("name", "")), ref)
    if rs is None:
        return None
    owner = _controller_of(rs)
    if owner is not None and owner.get("kind") == "Deployment":
        return None
    return rs["metadata"]["uid"], _replicas(rs)


def _stateful_set(ref: Obj, ns: str, lookup: Lookup) -> tuple[str, int] | None:
    if not _is(ref, "StatefulSet", ("apps",)):
        return None
    sts = _same(lookup(STATEFULSET, ns, ref.get("name", "")), ref)
    return (sts["metadata"]["uid"], _replicas(sts)) if sts else None


def _scale_controller(ref: Obj, ns: str, lookup: Lookup) -> tuple[str, int] | None:
    """getScaleController: any kind with a scale subresource (the RESTMapper, then the Scale)."""
    api_version = str(ref.get("apiVersion") or "")
    group = _group_of(api_version)
    version = api_version.rpartition("/")[2]
    kind = ref.get("kind", "")
    rt = next((r for r in registry.RESOURCES if r.group == group and r.version == version and r.kind == kind), None)
    if rt is None:
        where = f"{group}/{version}" if group else version
        raise SyncError(f'no matches for kind "{kind}" in version "{where}"')
    if "scale" not in rt.subresources:
        raise SyncError(f"{rt.group_resource} does not implement the scale subresource")
    obj = _same(lookup(rt, ns, ref.get("name", "")), ref)
    return (obj["metadata"]["uid"], _replicas(obj)) if obj else None


FINDERS = (_replication_controller, _deployment, _replica_set, _stateful_set, _scale_controller)


def expected_scale(pods: list[Obj], lookup: Lookup) -> tuple[int, list[str]]:
    """getExpectedScale: the sum of the scales of the pods' controllers, and the pods without one."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        ref = _controller_of(pod)
        if ref is None:
            unmanaged.append(pod["metadata"]["name"])
            continue
        if ref.get("uid") in scales:
            continue
        for finder in FINDERS:
            found = finder(ref, pod["metadata"].get("namespace") or "", lookup)
            if found is not None:
                scales[found[0]] = found[1]
                break
        else:
            raise SyncError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
    return sum(scales.values()), unmanaged


def expected_pod_count(pdb: Obj, pods: list[Obj], lookup: Lookup) -> tuple[int, int, list[str]]:
    """getExpectedPodCount: (expectedCount, desiredHealthy, unmanaged pods). An integer
    minAvailable counts the selected pods; a percentage or maxUnavailable the controllers' scale,
    rounded up."""
    spec = pdb.get("spec") or {}
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable is not None:
        expected, unmanaged = expected_scale(pods, lookup)
        desired = max(expected - scaled_value(max_unavailable, expected, True), 0)
        return expected, desired, unmanaged
    if isinstance(min_available, int) and not isinstance(min_available, bool):
        return len(pods), min_available, []
    if isinstance(min_available, str):
        expected, unmanaged = expected_scale(pods, lookup)
        return expected, scaled_value(min_available, expected, True), unmanaged
    return 0, 0, []


# ---- health ---------------------------------------------------------------------------------------

def disrupted_pod_map(pdb: Obj, pods: list[Obj], now: datetime) -> tuple[dict[str, str], datetime | None, list[Event]]:
    """buildDisruptedPodMap: the evicted pods still expected to start deleting, the earliest of
    their deadlines, and NotDeleted events for those past it."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck: datetime | None = None
    events: list[Event] = []
    md = pdb["metadata"]
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp") or name not in recorded:
            continue
        since = parse_time(recorded[name]) or datetime.min.replace(tzinfo=now.tzinfo)
        deadline = since + DELETION_TIMEOUT
        if deadline < now:
            # Upstream names the PDB "namespace/namespace" here (pdb.Namespace twice); so do we.
            events.append(Event(pod, WARNING, "NotDeleted", f"Pod was expected by PDB {md.get('namespace')}/"
                                                            f"{md.get('namespace')} to be deleted but it wasn't"))
        else:
            recheck = deadline if recheck is None or deadline < recheck else recheck
            kept[name] = recorded[name]
    return kept, recheck, events


def count_healthy(pods: list[Obj], disrupted: dict[str, str], now: datetime) -> int:
    """countHealthyPods: ready pods neither deleting nor evicted within DeletionTimeout."""
    healthy = 0
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        since = parse_time(disrupted.get(pod["metadata"]["name"]))
        if since is not None and since + DELETION_TIMEOUT > now:
            continue
        if is_pod_ready(pod):
            healthy += 1
    return healthy


# ---- the status -----------------------------------------------------------------------------------

def status_update(pdb: Obj, current: int, desired: int, expected: int, disrupted: dict[str, str],
                  now: datetime) -> Obj | None:
    """updatePdbStatus: the new status, or None when the stored one says the same."""
    allowed = current - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0  # a PDB that selects nothing yet is safe when its first pods appear
    old = pdb.get("status") or {}
    generation = int(pdb["metadata"].get("generation") or 0)
    if (int(old.get("currentHealthy") or 0) == current and int(old.get("desiredHealthy") or 0) == desired
            and int(old.get("expectedPods") or 0) == expected and int(old.get("disruptionsAllowed") or 0) == allowed
            and (old.get("disruptedPods") or {}) == disrupted
            and int(old.get("observedGeneration") or 0) == generation and conditions_are_up_to_date(pdb)):
        return None
    status: Obj = {}
    if generation:
        status["observedGeneration"] = generation
    if disrupted:
        status["disruptedPods"] = dict(disrupted)
    status.update(disruptionsAllowed=allowed, currentHealthy=current, desiredHealthy=desired, expectedPods=expected,
                  conditions=copy.deepcopy(old.get("conditions") or []))
    update_disruption_allowed_condition(status, now)
    return status


def fail_safe(pdb: Obj, message: str, now: datetime) -> Obj:
    """failSafe: the stored status with no disruption allowed and DisruptionAllowed=False/SyncFailed."""
    status = copy.deepcopy(pdb.get("status") or {})
    status["disruptionsAllowed"] = 0
    conditions = status.setdefault("conditions", [])
    set_status_condition(conditions, {
        "type": DISRUPTION_ALLOWED, "status": "False", "reason": SYNC_FAILED, "message": message,
        "observedGeneration": int(status.get("observedGeneration") or 0),
    }, now)
    return status


def selected_pods(pdb: Obj, namespace_pods: list[Obj]) -> list[Obj]:
    """getPodsForPdb; raises SyncError for a selector that does not parse."""
    try:
        select = selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
    except BadRequest as e:
        raise SyncError(e.message) from e
    return [p for p in namespace_pods if select(p["metadata"].get("labels") or {})]


def plan_pdb_status(pdb: Obj, namespace_pods: list[Obj], lookup: Lookup, now: datetime) -> PdbPlan:
    """sync/trySync of one PDB over the pods of its namespace."""
    events: list[Event] = []
    try:
        pods = selected_pods(pdb, namespace_pods)
    except SyncError as e:
        events.append(Event(pdb, WARNING, "NoPods", f"Failed to get pods: {e}"))
        return PdbPlan(fail_safe(pdb, str(e), now), None, tuple(events), str(e))
    if not pods:
        events.append(Event(pdb, NORMAL, "NoPods", "No matching pods found"))
    try:
        expected, desired, unmanaged = expected_pod_count(pdb, pods, lookup)
    except SyncError as e:
        events.append(Event(pdb, WARNING, "CalculateExpectedPodCountFailed",
                            f"Failed to calculate the number of expected pods: {e}"))
        return PdbPlan(fail_safe(pdb, str(e), now), None, tuple(events), str(e))
    if unmanaged:
        events.append(Event(pdb, WARNING, "UnmanagedPods", _unmanaged_message(pdb)))
    disrupted, recheck, not_deleted = disrupted_pod_map(pdb, pods, now)
    events.extend(not_deleted)
    current = count_healthy(pods, disrupted, now)
    status = status_update(pdb, current, desired, expected, disrupted, now)
    after = max((recheck - now).total_seconds(), 0.0) if recheck is not None else None
    return PdbPlan(status, after, tuple(events))


def _unmanaged_message(pdb: Obj) -> str:
    selector = (pdb.get("spec") or {}).get("selector")
    return ("Pods selected by this PodDisruptionBudget (selector: " + _go_selector(selector) + ") were found to be "
            "unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in "
            "undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an "
            "integer value.")


def _go_selector(selector: Obj | None) -> str:
    """%v of a *metav1.LabelSelector: its generated String()."""
    if selector is None:
        return "nil"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    exprs = "".join(f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
                    f"Values:[{' '.join(e.get('values') or [])}],}},"
                    for e in selector.get("matchExpressions") or [])
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


# ---- stale DisruptionTarget conditions --------------------------------------------------------------

def stale_disruption_wait(pod: Obj, now: datetime) -> float | None:
    """nonTerminatingPodHasStaleDisruptionCondition: seconds until a DisruptionTarget=True condition
    that no deletion followed is stale (0: now), or None when the pod has none to clean up (deleting,
    terminal, or set by the kubelet)."""
    if pod["metadata"].get("deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    cond = next((c for c in status.get("conditions") or [] if c.get("type") == "DisruptionTarget"), None)
    if (cond is None or cond.get("status") != "True" or cond.get("reason") == "TerminationByKubelet"
            or status.get("phase") in ("Succeeded", "Failed")):
        return None
    since = parse_time(cond.get("lastTransitionTime")) or now
    return max((since + STALE_POD_DISRUPTION_TIMEOUT - now).total_seconds(), 0.0)


def without_stale_disruption(pod: Obj, now: datetime) -> Obj:
    """syncStalePodDisruption: the pod with DisruptionTarget=False (reason and message cleared, as
    UpdatePodCondition with a bare condition does)."""
    new = copy.deepcopy(pod)
    conditions = new.setdefault("status", {}).setdefault("conditions", [])
    for i, cond in enumerate(conditions):
        if cond.get("type") == "DisruptionTarget":
            conditions[i] = {"type": "DisruptionTarget", "status": "False", "lastProbeTime": None,
                             "lastTransitionTime": format_time(now)}
    return new
