"""ResourceQuota accounting, pure: the ResourceList arithmetic of apiserver/pkg/quota/v1, whether a
quota applies to an object, what a write would charge (CheckRequest, for admission) and what a
namespace uses (CalculateUsage, for the quota controller).

Usage is charged against `status.hard` and `status.used`, which only the quota controller fills
in: until it has, a new quota constrains nothing (as upstream).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boxk8s.resources.podresources import ResourceList, resource_list, wire
from boxk8s.resources.quantity import Quantity
from boxk8s.resources.quota_evaluators import CREATE, UPDATE, Evaluator, all_evaluators, count_name

Obj = dict[str, Any]


# --- ResourceList arithmetic (apiserver/pkg/quota/v1/resources.go) ----------------------------------

def add(a: ResourceList, b: ResourceList) -> ResourceList:
    out = dict(a)
    for name, q in b.items():
        out[name] = out[name] + q if name in out else q
    return out


def subtract_non_negative(a: ResourceList, b: ResourceList) -> ResourceList:
    """SubtractWithNonNegativeResult: a - b, never below zero."""
    out: ResourceList = {}
    for name, q in a.items():
        diff = q - b[name] if name in b else q
        out[name] = diff if diff.value > 0 else Quantity.of(0, diff.format)
    return out


def mask(a: ResourceList, names: Iterable[str]) -> ResourceList:
    keep = set(names)
    return {name: q for name, q in a.items() if name in keep}


def less_than_or_equal(a: ResourceList, b: ResourceList) -> tuple[bool, list[str]]:
    """Each of b's resources that a also has must be no more; the ones that are, named."""
    exceeded = [name for name, q in b.items() if name in a and a[name].value > q.value]
    return not exceeded, exceeded


def equals(a: ResourceList, b: ResourceList) -> bool:
    return a.keys() == b.keys() and all(a[k].value == b[k].value for k in a)


def remove_zeros(a: ResourceList) -> ResourceList:
    return {name: q for name, q in a.items() if q.value != 0}


def pretty(a: ResourceList) -> str:
    """prettyPrint: `requests.cpu=500m,requests.memory=1Gi`, sorted by name."""
    return ",".join(f"{name}={a[name]}" for name in sorted(a))


# --- which quotas apply ------------------------------------------------------------------------------

def hard(quota: Mapping[str, Any]) -> ResourceList:
    return resource_list((quota.get("status") or {}).get("hard"))


def used(quota: Mapping[str, Any]) -> ResourceList:
    return resource_list((quota.get("status") or {}).get("used"))


def scope_selectors(quota: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """getScopeSelectorsFromQuota: spec.scopes (as Exists) and spec.scopeSelector's expressions."""
    spec = quota.get("spec") or {}
    out: list[Mapping[str, Any]] = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    return out + list((spec.get("scopeSelector") or {}).get("matchExpressions") or [])


def matches(evaluator: Evaluator, quota: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """generic.Matches: the quota limits something the evaluator tracks, and every scope fits."""
    if not evaluator.matching_resources(hard(quota)):
        return False
    return all(evaluator.matches_scope(s, obj) for s in scope_selectors(quota))


# --- admission: CheckRequest ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """What admission hands the evaluation (admission.Attributes, the parts quota reads)."""

    operation: str
    subresource: str
    obj: Mapping[str, Any]
    old: Mapping[str, Any] | None = None


class Refused(Exception):
    """The reason a request exceeds or cannot be checked against a quota (the Forbidden's text)."""


def check_request(quotas: Sequence[Obj], request: Request, evaluator: Evaluator, now: datetime) -> list[Obj]:
    """CheckRequest (admission/plugin/resourcequota/controller.go): the quotas as they would be with
    this request charged (copies; the same list when nothing changes), or Refused."""
    if not evaluator.handles(request.operation, request.subresource):
        return list(quotas)
    interesting: list[int] = []
    for i, quota in enumerate(quotas):
        if not matches(evaluator, quota, request.obj):
            continue
        name = quota["metadata"]["name"]
        restricted = evaluator.matching_resources(hard(quota))
        problem = evaluator.constraints(restricted, request.obj)
        if problem:
            raise Refused(f"failed quota: {name}: {problem}")
        if any(r not in used(quota) for r in restricted):
            raise Refused(f"status unknown for quota: {name}, resources: {','.join(sorted(restricted))}")
        interesting.append(i)
    if not interesting:
        return list(quotas)
    usage = evaluator.usage(request.obj, now)
    negative = sorted(name for name, q in usage.items() if q.value < 0)
    if negative:
        raise Refused(f"quota usage is negative for resource(s): {','.join(negative)}")
    deltas = {i: usage for i in interesting}
    if request.operation == UPDATE:
        if request.old is None:
            raise Refused("unable to get previous usage since prior version of object was not found")
        if (request.old.get("metadata") or {}).get("resourceVersion"):
            delta = subtract_non_negative(usage, evaluator.usage(request.old, now))
            for i in interesting:
                if matches(evaluator, quotas[i], request.old):
                    deltas[i] = delta
    deltas = {i: d for i, d in ((i, remove_zeros(d)) for i, d in deltas.items()) if d}
    if not deltas:
        return list(quotas)
    out = [copy.deepcopy(q) if i in deltas else q for i, q in enumerate(quotas)]
    for i, delta in deltas.items():
        quota = out[i]
        limits = hard(quota)
        requested = mask(delta, limits)
        new_used = add(used(quota), requested)
        if request.subresource != "status":
            fits, exceeded = less_than_or_equal(mask(new_used, requested), limits)
            if not fits:
                raise Refused(f"exceeded quota: {quota['metadata']['name']}, "
                              f"requested: {pretty(mask(requested, exceeded))}, "
                              f"used: {pretty(mask(used(quota), exceeded))}, "
                              f"limited: {pretty(mask(limits, exceeded))}")
        quota.setdefault("status", {})["used"] = wire(new_used)
    return out


def charged(before: Sequence[Obj], after: Sequence[Obj]) -> list[Obj]:
    """The quotas whose usage check_request changed (the ones to write)."""
    return [new for old, new in zip(before, after, strict=True) if not equals(used(old), used(new))]


# --- the controller: CalculateUsage --------------------------------------------------------------------

def evaluators_for(names: Iterable[str], custom: Iterable[tuple[str, str]] = ()) -> list[Evaluator]:
    """The evaluators that track any of these quota resource names: the built-in kinds', and the
    object count (`count/<plural>.<group>`) of the `custom` group-resources (the namespaced kinds
    CRDs serve: upstream's generic evaluator over discovery)."""
    names = list(names)
    found = [e for e in all_evaluators() if e.matching_resources(names)]
    known = {(e.group, e.plural) for e in found}
    found += [Evaluator(g, p) for g, p in custom if (g, p) not in known and count_name(g, p) in names]
    return found


def calculate_usage(quota: Mapping[str, Any], objects: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
                    now: datetime, custom: Iterable[tuple[str, str]] = ()) -> ResourceList:
    """CalculateUsage over the namespace's objects (by group and plural): for each evaluator of the
    quota's hard names, each of them (zero when none) summed over the objects its scopes select."""
    limits = resource_list((quota.get("spec") or {}).get("hard"))
    scopes = scope_selectors(quota)
    total: ResourceList = {}
    for evaluator in evaluators_for(limits, custom):
        tracked = evaluator.matching_resources(limits)
        sums: ResourceList = {name: Quantity.of(0) for name in limits if name in tracked}
        for obj in objects.get((evaluator.group, evaluator.plural), ()):
            if all(evaluator.matches_scope(s, obj) for s in scopes):
                sums = add(sums, evaluator.usage(obj, now))
        total = add(total, mask(sums, tracked))
    return total


def plan_quota_status(quota: Mapping[str, Any], objects: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
                      now: datetime, custom: Iterable[tuple[str, str]] = ()) -> dict[str, Any] | None:
    """syncResourceQuota: status.hard is spec.hard; status.used the observed usage of each hard
    resource (earlier values kept for names no evaluator tracks). None when nothing changes."""
    limits = resource_list((quota.get("spec") or {}).get("hard"))
    observed = {**used(quota), **calculate_usage(quota, objects, now, custom)}
    new_used = mask(observed, limits)
    if equals(limits, hard(quota)) and equals(new_used, used(quota)):
        return None
    return {"hard": wire(limits), "used": wire(new_used)}


__all__ = ["CREATE", "UPDATE", "Refused", "Request", "charged", "check_request", "plan_quota_status"]
