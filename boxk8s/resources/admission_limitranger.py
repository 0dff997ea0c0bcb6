"""The LimitRanger admission plugin (plugin/pkg/admission/limitranger/admission.go).

On a pod create, each LimitRange of the namespace (type Container) gives containers the
requests (`defaultRequest`) and limits (`default`) they lack, noted in the pod's
`kubernetes.io/limit-ranger` annotation (`LimitRanger plugin set: cpu, memory request for
container main; cpu limit for container main`); then every LimitRange's min, max and
maxLimitRequestRatio are enforced per container (type Container) and on the pod's totals (type
Pod), and a PVC's storage request (create and update) against type PersistentVolumeClaim. A
violation refuses the write: `pods "p" is forbidden: maximum cpu usage per Container is 1, but
limit is 2` (several: `[first, second]`, utilerrors.NewAggregate).

Decisions are the pure functions below; `LimitRanger` only reads the namespace's LimitRanges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boxk8s.resources import registry
from boxk8s.resources.admission_plugins import CREATE, UPDATE, Attributes, ResourceAccess, forbidden
from boxk8s.resources.podresources import (
    ResourceList,
    container_resources,
    pod_limits,
    pod_requests,
    resource_list,
)
from boxk8s.resources.quantity import Quantity

Obj = dict[str, Any]

ANNOTATION = "kubernetes.io/limit-ranger"
CONTAINER, POD, PVC = "Container", "Pod", "PersistentVolumeClaim"
MAX_MILLI_VALUE = (2**63 - 1) // 1000  # resource.MaxMilliValue


def _items(limit_range: Mapping[str, Any]) -> list[Obj]:
    """The LimitRange's items as stored: defaulted already (SetDefaults_LimitRangeItem fills a
    Container item's default from max, and its defaultRequest from default, then min)."""
    return list((limit_range.get("spec") or {}).get("limits") or [])


# --- Admit: defaults ------------------------------------------------------------------------------

def default_requirements(limit_range: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """defaultContainerResourceRequirements: (requests, limits) from the Container items."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in _items(limit_range):
        if item.get("type") == CONTAINER:
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    return requests, limits


def _merge_container(container: Obj, requests: Mapping[str, Any], limits: Mapping[str, Any], what: str) -> list[str]:
    """mergeContainerResources: fill what the container lacks; the annotation's phrases for it."""
    res = container.get("resources")
    if not isinstance(res, dict):
        res = container["resources"] = {}
    own_limits = res.get("limits") if isinstance(res.get("limits"), dict) else {}
    own_requests = res.get("requests") if isinstance(res.get("requests"), dict) else {}
    set_limits = sorted(k for k in limits if k not in own_limits)
    set_requests = sorted(k for k in requests if k not in own_requests)
    if set_limits:
        res["limits"] = {**own_limits, **{k: limits[k] for k in set_limits}}
    if set_requests:
        res["requests"] = {**own_requests, **{k: requests[k] for k in set_requests}}
    name = container.get("name", "")
    notes = []
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {what} {name}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {what} {name}")
    return notes


def default_pod_resources(limit_range: Mapping[str, Any], pod: Obj) -> None:
    """PodMutateLimitFunc: the LimitRange's defaults into every container, and the annotation."""
    requests, limits = default_requirements(limit_range)
    spec = pod.get("spec") or {}
    notes: list[str] = []
    for field, what in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                notes += _merge_container(c, requests, limits, what)
    if notes:
        md = pod.setdefault("metadata", {})
        md["annotations"] = {**(md.get("annotations") or {}), ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes)}


# --- Validate: min, max, ratio --------------------------------------------------------------------

def _units(q: Quantity) -> int:
    return math.ceil(q.value)  # Quantity.Value()


def _millis(q: Quantity) -> int:
    return math.ceil(q.value * 1000)  # Quantity.MilliValue()


def _compared(*quantities: Quantity | None) -> list[int]:
    """requestLimitEnforcedValues: millis when none overflows them, else whole units (rounded up);
    an absent value is zero."""
    present = [q if q is not None else Quantity.of(0) for q in quantities]
    if all(_units(q) <= MAX_MILLI_VALUE for q in present):
        return [_millis(q) for q in present]
    return [_units(q) for q in present]


def min_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList, limits: ResourceList) -> str:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, floor = _compared(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if observed_req < floor:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and observed_lim < floor:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return ""


def max_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList, limits: ResourceList) -> str:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, ceiling = _compared(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if observed_lim > ceiling:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and observed_req > ceiling:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return ""


def max_request_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList) -> str:
    """For kinds whose limits mean nothing (PVCs): the request against max."""
    req = requests.get(name)
    observed_req, _, ceiling = _compared(req, None, enforced)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if observed_req > ceiling:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return ""


def ratio_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList, limits: ResourceList) -> str:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, _ = _compared(req, lim, enforced)
    if req is None or observed_req == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, "
                "but no request is specified or request is 0")
    if lim is None or observed_lim == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
    observed = observed_lim / observed_req
    shown, allowed = observed, float(_units(enforced))
    if _units(enforced) <= MAX_MILLI_VALUE:
        observed, allowed = observed * 1000, float(_millis(enforced))
    if observed > allowed:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {shown:f}"
    return ""


def _check(kind: str, item: Mapping[str, Any], requests: ResourceList, limits: ResourceList) -> list[str]:
    problems = []
    for name, q in resource_list(item.get("min")).items():
        problems.append(min_constraint(kind, name, q, requests, limits))
    for name, q in resource_list(item.get("max")).items():
        problems.append(max_constraint(kind, name, q, requests, limits))
    for name, q in resource_list(item.get("maxLimitRequestRatio")).items():
        problems.append(ratio_constraint(kind, name, q, requests, limits))
    return [p for p in problems if p]


def pod_problems(limit_range: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    """PodValidateLimitFunc: each container (and init container) against Container items, the
    pod's totals (without overhead) against Pod items."""
    spec = pod.get("spec") or {}
    problems: list[str] = []
    for item in _items(limit_range):
        if item.get("type") == CONTAINER:
            for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
                problems += _check(CONTAINER, item, container_resources(c, "requests"), container_resources(c, "limits"))
        elif item.get("type") == POD:
            problems += _check(POD, item, pod_requests(pod, overhead=False), pod_limits(pod, overhead=False))
    return problems


def pvc_problems(limit_range: Mapping[str, Any], pvc: Mapping[str, Any]) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: spec.resources.requests against min and max."""
    requests = resource_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    problems: list[str] = []
    for item in _items(limit_range):
        if item.get("type") != PVC:
            continue
        for name, q in resource_list(item.get("min")).items():
            problems.append(min_constraint(PVC, name, q, requests, {}))
        for name, q in resource_list(item.get("max")).items():
            problems.append(max_request_constraint(PVC, name, q, requests))
    return [p for p in problems if p]


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several (repeats once) in brackets."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    if len(messages) == 1 or len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


# --- the plugin -------------------------------------------------------------------------------------

class LimitRanger:
    name = "LimitRanger"

    def __init__(self) -> None:
        self.rt = registry.find("", "v1", "limitranges")

    def handles(self, attrs: Attributes) -> bool:
        """SupportsAttributes: pods on create (their resources cannot change after), PVCs on create
        and update; never a subresource, nor an object already being deleted."""
        if attrs.subresource or attrs.rt.group != "":
            return False
        if attrs.old is not None and attrs.old["metadata"].get("deletionTimestamp"):
            return False
        if attrs.rt.plural == "pods":
            return attrs.operation == CREATE
        return attrs.rt.plural == "persistentvolumeclaims" and attrs.operation in (CREATE, UPDATE)

    async def _limit_ranges(self, attrs: Attributes, api: ResourceAccess) -> list[Obj]:
        assert self.rt is not None
        if not await api.store.count(self.rt.key_prefix(attrs.namespace)):
            return []  # the common case, without decoding anything
        items, _ = await api.list(self.rt, attrs.namespace)
        return items

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        if attrs.rt.plural != "pods":
            return
        for limit_range in await self._limit_ranges(attrs, api):
            default_pod_resources(limit_range, attrs.obj)

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        check = pod_problems if attrs.rt.plural == "pods" else pvc_problems
        for limit_range in await self._limit_ranges(attrs, api):
            problems = check(limit_range, attrs.obj)
            if problems:
                raise forbidden(attrs, aggregate(problems))
