"""What each kind costs a ResourceQuota (pkg/quota/v1/evaluator/core and apiserver/pkg/quota/v1/generic).

An evaluator knows, for one group-resource, which quota resource names it tracks, which writes
it charges (`handles`), whether a quota's scopes apply to an object, the usage of one object, and
the constraints a quota puts on an object (pods must name their cpu and memory). Pods, Services
and PersistentVolumeClaims have their own; every other namespaced kind is counted as
`count/<resource>.<group>` (ConfigMaps, Secrets, ReplicationControllers and ResourceQuotas also
under their legacy names). Pure functions over wire dicts; the admission plugin and the quota
controller share them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from boxk8s.resources import meta, registry
from boxk8s.resources.defaults import qos_class
from boxk8s.resources.podresources import ResourceList, add_into, pod_limits, pod_requests, resource_list
from boxk8s.resources.quantity import Quantity

Obj = Mapping[str, Any]

CREATE, UPDATE = "CREATE", "UPDATE"
IGNORED = {("", "events"), ("events.k8s.io", "events")}  # quota's default ignored resources
LEGACY_COUNT_NAMES = {  # legacyObjectCountAliases
    ("", "configmaps"): "configmaps", ("", "secrets"): "secrets",
    ("", "replicationcontrollers"): "replicationcontrollers", ("", "resourcequotas"): "resourcequotas",
}
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
ONE = Quantity.of(1)
ZERO = Quantity.of(0)


def count_name(group: str, plural: str) -> str:
    """ObjectCountQuotaResourceNameFor: `count/pods`, `count/deployments.apps`."""
    return f"count/{plural}.{group}" if group else f"count/{plural}"


@dataclass(frozen=True)
class Evaluator:
    """The generic object count evaluator; the kinds with more to count subclass it."""

    group: str
    plural: str
    alias: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (count_name(self.group, self.plural), *((self.alias,) if self.alias else ()))

    def handles(self, operation: str, subresource: str) -> bool:
        return operation == CREATE

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n in self.names]

    def matches_scope(self, selector: Mapping[str, Any], obj: Obj) -> bool:
        return False  # MatchesNoScopeFunc: a scoped quota counts pods only

    def usage(self, obj: Obj, now: datetime) -> ResourceList:
        return {name: ONE for name in self.names}

    def constraints(self, required: list[str], obj: Obj) -> str:
        return ""


# --- pods -------------------------------------------------------------------------------------------

POD_RESOURCES = (
    count_name("", "pods"), "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
)
POD_PREFIXES = ("hugepages-", "requests.hugepages-")
# If a quota limits these, every container must name them (a mistake upstream keeps for compatibility).
VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def is_native(name: str) -> bool:
    """helper.IsNativeResource: no domain, or a kubernetes.io one."""
    return "/" not in name or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    """helper.IsExtendedResourceName: a domain-qualified name outside kubernetes.io, not `requests.`."""
    return not is_native(name) and not name.startswith("requests.") and bool(_QUALIFIED.match(name))


def compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper: one pod, its requests under both names, its limits, extended resources."""
    out: ResourceList = {"pods": ONE}
    for res in ("cpu", "memory", "ephemeral-storage"):
        if res in requests:
            out[res] = out[f"requests.{res}"] = requests[res]
        if res in limits:
            out[f"limits.{res}"] = limits[res]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = out[f"requests.{name}"] = q
        if is_extended(name):
            out[f"requests.{name}"] = q
    return out


def quota_v1_pod(pod: Obj, now: datetime) -> bool:
    """QuotaV1Pod: a pod is charged until it is terminal, or stuck terminating past its grace period."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    md = pod.get("metadata") or {}
    deleted = meta.parse_time(md.get("deletionTimestamp"))
    grace = md.get("deletionGracePeriodSeconds")
    return not (deleted is not None and grace is not None and now > deleted + timedelta(seconds=int(grace)))


def _is_terminating(pod: Obj) -> bool:
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    return isinstance(deadline, int) and deadline >= 0


def _cross_namespace_affinity(pod: Obj) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        terms = affinity.get(kind) or {}
        required = terms.get("requiredDuringSchedulingIgnoredDuringExecution") or []
        preferred = [t.get("podAffinityTerm") or {} for t in terms.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in required + preferred):
            return True
    return False


def _priority_matches(pod: Obj, selector: Mapping[str, Any]) -> bool:
    """A PriorityClass scope selector as a label selector over {PriorityClass: <name>}."""
    name = (pod.get("spec") or {}).get("priorityClassName") or ""
    op, values = selector.get("operator"), selector.get("values") or []
    if op == "Exists":
        return bool(name)
    if op == "DoesNotExist":
        return not name
    if op == "In":
        return bool(name) and name in values
    if op == "NotIn":
        return not name or name not in values
    return False


@dataclass(frozen=True)
class PodEvaluator(Evaluator):
    group: str = ""
    plural: str = "pods"

    def handles(self, operation: str, subresource: str) -> bool:
        return operation == CREATE and not subresource

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n in POD_RESOURCES or n.startswith(POD_PREFIXES)
                or (not is_native(n) and n.startswith("requests."))]

    def matches_scope(self, selector: Mapping[str, Any], obj: Obj) -> bool:
        scope = selector.get("scopeName")
        if scope in ("Terminating", "NotTerminating"):
            return _is_terminating(obj) == (scope == "Terminating")
        if scope in ("BestEffort", "NotBestEffort"):
            return (qos_class(dict(obj.get("spec") or {})) == "BestEffort") == (scope == "BestEffort")
        if scope == "PriorityClass":
            return _priority_matches(obj, selector)
        if scope == "CrossNamespacePodAffinity":
            return _cross_namespace_affinity(obj)
        return False

    def usage(self, obj: Obj, now: datetime) -> ResourceList:
        """PodUsageFunc: count/pods always; the rest while the pod is not terminal."""
        out: ResourceList = {count_name("", "pods"): ONE}
        if quota_v1_pod(obj, now):
            add_into(out, compute_usage(pod_requests(obj), pod_limits(obj)))
        return out

    def constraints(self, required: list[str], obj: Obj) -> str:
        """Every container must name each of cpu and memory the quota limits: `must specify
        limits.cpu for: main; requests.cpu for: main`."""
        needed = set(required) & set(VALIDATION_SET)
        missing: dict[str, set[str]] = {}
        spec = obj.get("spec") or {}
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            res = c.get("resources") or {}
            have = compute_usage(resource_list(res.get("requests")), resource_list(res.get("limits")))
            for name in needed - set(have):
                missing.setdefault(name, set()).add(c.get("name", ""))
        if not missing:
            return ""
        return "must specify " + "; ".join(f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing))


# --- services ---------------------------------------------------------------------------------------

SERVICE_RESOURCES = (count_name("", "services"), "services", "services.loadbalancers", "services.nodeports")


@dataclass(frozen=True)
class ServiceEvaluator(Evaluator):
    group: str = ""
    plural: str = "services"

    def handles(self, operation: str, subresource: str) -> bool:
        return operation in (CREATE, UPDATE)  # a Service's type can change

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n in SERVICE_RESOURCES]

    def usage(self, obj: Obj, now: datetime) -> ResourceList:
        spec = obj.get("spec") or {}
        ports = spec.get("ports") or []
        out: ResourceList = {count_name("", "services"): ONE, "services": ONE,
                             "services.loadbalancers": ZERO, "services.nodeports": ZERO}
        if spec.get("type") == "NodePort":
            out["services.nodeports"] = Quantity.of(len(ports))
        elif spec.get("type") == "LoadBalancer":
            if spec.get("allocateLoadBalancerNodePorts") is False:  # only ports asking for one
                out["services.nodeports"] = Quantity.of(sum(1 for p in ports if p.get("nodePort")))
            else:
                out["services.nodeports"] = Quantity.of(len(ports))
            out["services.loadbalancers"] = ONE
        return out


# --- persistent volume claims -----------------------------------------------------------------------

PVC_RESOURCES = ("persistentvolumeclaims", "requests.storage")


def claim_class(pvc: Obj) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName."""
    annotations = (pvc.get("metadata") or {}).get("annotations") or {}
    if "volume.beta.kubernetes.io/storage-class" in annotations:
        return str(annotations["volume.beta.kubernetes.io/storage-class"])
    return (pvc.get("spec") or {}).get("storageClassName") or ""


@dataclass(frozen=True)
class ClaimEvaluator(Evaluator):
    group: str = ""
    plural: str = "persistentvolumeclaims"

    def handles(self, operation: str, subresource: str) -> bool:
        return operation in (CREATE, UPDATE) and not subresource

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        count = count_name("", "persistentvolumeclaims")
        return [n for n in names if n == count or n in PVC_RESOURCES
                or any(n.endswith(STORAGE_CLASS_SUFFIX + r) for r in PVC_RESOURCES)]

    def usage(self, obj: Obj, now: datetime) -> ResourceList:
        cls = claim_class(obj)
        out: ResourceList = {"persistentvolumeclaims": ONE, count_name("", "persistentvolumeclaims"): ONE}
        if cls:
            out[cls + STORAGE_CLASS_SUFFIX + "persistentvolumeclaims"] = ONE
        storage = _claim_storage(obj)
        if storage is not None:
            out["requests.storage"] = storage
            if cls:
                out[cls + STORAGE_CLASS_SUFFIX + "requests.storage"] = storage
        return out


def _whole(q: Quantity) -> Quantity:
    """RoundUp(0): storage is counted in whole bytes."""
    return q if q.value.denominator == 1 else Quantity.of(-(-q.value.numerator // q.value.denominator), q.format)


def _claim_storage(pvc: Obj) -> Quantity | None:
    """getStorageUsage: the request, or what is allocated when that is more (a resize under way)."""
    requested = resource_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests")).get("storage")
    if requested is None:
        return None
    allocated = resource_list((pvc.get("status") or {}).get("allocatedResources")).get("storage")
    if allocated is not None and allocated.value > requested.value:
        return _whole(allocated)
    return _whole(requested)


# --- the registry -----------------------------------------------------------------------------------

_SPECIAL: dict[tuple[str, str], Evaluator] = {
    ("", "pods"): PodEvaluator(), ("", "services"): ServiceEvaluator(), ("", "persistentvolumeclaims"): ClaimEvaluator(),
}


@functools.cache
def evaluator_for(group: str, plural: str) -> Evaluator | None:
    """The evaluator of a namespaced group-resource (None for the kinds quota ignores: events)."""
    if (group, plural) in IGNORED:
        return None
    special = _SPECIAL.get((group, plural))
    if special is not None:
        return special
    return Evaluator(group, plural, LEGACY_COUNT_NAMES.get((group, plural), ""))


@functools.cache
def _all_evaluators() -> tuple[Evaluator, ...]:
    seen: dict[tuple[str, str], Evaluator] = {}
    for rt in registry.RESOURCES:
        if rt.namespaced and (rt.group, rt.plural) not in seen:
            found = evaluator_for(rt.group, rt.plural)
            if found is not None:
                seen[(rt.group, rt.plural)] = found
    return tuple(seen.values())


def all_evaluators() -> list[Evaluator]:
    """One per namespaced group-resource boxk8s serves (registry.List)."""
    return list(_all_evaluators())
