"""A pod's resource requests and limits as quota and limit ranges count them (pkg/api/v1/resource).

`ResourceList` is a map of resource name to `Quantity` (formats kept, so that messages print the
values as the apiserver does). `pod_requests` and `pod_limits` are PodRequests and PodLimits:
the containers' sum, at least every init container's (restartable "sidecar" init containers
run beside the others, so they add up), plus the pod's overhead when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boxk8s.resources.quantity import Quantity, QuantityError

ResourceList = dict[str, Quantity]


def resource_list(values: Mapping[str, Any] | None) -> ResourceList:
    """A ResourceList from its wire form (names to quantity strings); unparsable entries are left out
    (validation refuses them before admission sees them)."""
    out: ResourceList = {}
    for name, text in (values or {}).items():
        try:
            out[name] = Quantity.parse(text)
        except (QuantityError, TypeError):
            continue
    return out


def wire(values: ResourceList) -> dict[str, str]:
    """A ResourceList as the apiserver writes it: canonical strings."""
    return {name: str(q) for name, q in values.items()}


def add_into(total: ResourceList, more: ResourceList) -> None:
    """addResourceList: sums, in place."""
    for name, q in more.items():
        total[name] = total[name] + q if name in total else q


def max_into(total: ResourceList, other: ResourceList) -> None:
    """maxResourceList: the larger of each, in place."""
    for name, q in other.items():
        if name not in total or q.value > total[name].value:
            total[name] = q


def container_resources(container: Mapping[str, Any], field: str) -> ResourceList:
    res = container.get("resources")
    return resource_list(res.get(field) if isinstance(res, Mapping) else None)


def _pod_total(pod: Mapping[str, Any], field: str) -> ResourceList:
    spec = pod.get("spec") or {}
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        add_into(total, container_resources(c, field))
    sidecars: ResourceList = {}
    init_max: ResourceList = {}
    for c in spec.get("initContainers") or []:
        own = container_resources(c, field)
        if c.get("restartPolicy") == "Always":
            add_into(total, own)
            add_into(sidecars, own)
            running = dict(sidecars)
        else:
            running = dict(own)
            add_into(running, sidecars)
        max_into(init_max, running)
    max_into(total, init_max)
    return total


def pod_requests(pod: Mapping[str, Any], *, overhead: bool = True) -> ResourceList:
    """PodRequests: with the pod's overhead added (LimitRanger's own podRequests leaves it out)."""
    total = _pod_total(pod, "requests")
    if overhead:
        add_into(total, resource_list((pod.get("spec") or {}).get("overhead")))
    return total


def pod_limits(pod: Mapping[str, Any], *, overhead: bool = True) -> ResourceList:
    """PodLimits: the overhead is added only to the resources that have a limit."""
    total = _pod_total(pod, "limits")
    if overhead:
        for name, q in resource_list((pod.get("spec") or {}).get("overhead")).items():
            if name in total:
                total[name] = total[name] + q
    return total
