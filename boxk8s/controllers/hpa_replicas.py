"""The HPA's replica calculation for resource metrics: upstream's replica_calculator.go
(GetResourceReplicas, GetRawResourceReplicas, groupPods, calculatePodRequests) and
metrics/utilization.go, as pure functions over plain data.

Values are milli-units as upstream keeps them (Quantity.MilliValue(): CPU in millicores,
memory in thousandths of a byte). Errors carry upstream's messages: they end up in the HPA's
ScalingActive condition and its FailedGetResourceMetric events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s.client.metrics import PodUsage
from boxk8s.resources.meta import parse_time
from boxk8s.resources.quantity import QuantityError, milli_value

Obj = dict[str, Any]


class MetricsError(Exception):
    """A metric that cannot give a replica count (upstream returns it as `err`)."""


@dataclass(frozen=True)
class PodMetric:
    value: int  # milli-units
    timestamp: float  # seconds since the epoch
    window: float  # seconds


@dataclass(frozen=True)
class Grouped:
    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


@dataclass(frozen=True)
class Tuning:
    """kube-controller-manager's --horizontal-pod-autoscaler-* settings the calculation uses."""

    tolerance: float = 0.1
    cpu_initialization_seconds: float = 300.0
    initial_readiness_delay_seconds: float = 30.0


def _ts(value: str | None) -> float | None:
    when = parse_time(value)
    return when.timestamp() if when is not None else None


def resource_metrics(usages: Iterable[tuple[Obj, PodUsage]], resource: str, container: str = ""
                     ) -> tuple[dict[str, PodMetric], float]:
    """The REST metrics client's GetResourceMetric over what metrics.k8s.io lists for the
    selector: per pod, the sum of its containers' usage (getPodMetrics; a pod missing the
    resource for a container is left out), or one container's (getContainerMetrics); and the
    first item's timestamp. Raises when the list is empty."""
    items = list(usages)
    if not items:
        raise MetricsError("no metrics returned from resource metrics API")
    out: dict[str, PodMetric] = {}
    for pod, usage in items:
        values = [_milli(c.cpu_nanocores, c.memory_bytes, resource) for c in usage.containers
                  if not container or c.name == container]
        if not values or (container and len(values) != 1):
            continue
        out[pod["metadata"]["name"]] = PodMetric(sum(values), usage.timestamp, usage.window)
    return out, items[0][1].timestamp


def _milli(cpu_nanocores: int, memory_bytes: int, resource: str) -> int:
    if resource == "cpu":
        return -(-cpu_nanocores // 1_000_000)  # MilliValue of "Nn" rounds up
    return memory_bytes * 1000


def group_pods(pods: Iterable[Obj], metrics: Mapping[str, PodMetric], resource: str, tuning: Tuning,
               now: float) -> Grouped:
    """groupPods: deleted and failed pods are ignored, pending ones unready, pods without
    metrics missing; for CPU, a pod is unready while it is not Ready, or (within the CPU
    initialization period) until a whole metric window has passed since it became Ready."""
    ready, unready, missing, ignored = 0, set(), set(), set()
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            ignored.add(name)
            continue
        if status.get("phase") == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu" and _cpu_unready(status, metric, tuning, now):
            unready.add(name)
            continue
        ready += 1
    return Grouped(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(status: Obj, metric: PodMetric, tuning: Tuning, now: float) -> bool:
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    start = _ts(status.get("startTime"))
    if condition is None or start is None:
        return True
    transition = _ts(condition.get("lastTransitionTime")) or 0.0
    if start + tuning.cpu_initialization_seconds > now:
        # Still initializing: unready, or not one whole window measured since it became ready.
        return condition.get("status") == "False" or metric.timestamp < transition + metric.window
    # Unready and never ready since it started.
    return condition.get("status") == "False" and start + tuning.initial_readiness_delay_seconds > transition


def pod_requests(pods: Iterable[Obj], resource: str, container: str = "") -> dict[str, int]:
    """calculatePodRequests: per pod, the sum of its containers' (and restartable init
    containers') requests of the resource, in milli-units; a container without one is an error."""
    out: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        containers = list(spec.get("containers") or []) + [
            c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            if container and c.get("name") != container:
                continue
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricsError(f"missing request for {resource} in container {c.get('name', '')} "
                                   f"of Pod {pod['metadata']['name']}")
            try:
                total += milli_value(request)
            except QuantityError as e:
                raise MetricsError(f"invalid request for {resource} in container {c.get('name', '')}: {e}") from e
        out[pod["metadata"]["name"]] = total
    return out


def utilization_ratio(metrics: Mapping[str, PodMetric], requests: Mapping[str, int], target: int
                      ) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (usage ratio, utilization %, average raw value) over the pods
    that have both a metric and a request."""
    metrics_total = requests_total = entries = 0
    for name, metric in metrics.items():
        if name not in requests:
            continue  # extraneous metrics: requests are checked elsewhere
        metrics_total += metric.value
        requests_total += requests[name]
        entries += 1
    if requests_total == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = metrics_total * 100 // requests_total  # Go's integer division (both non-negative)
    return utilization / target, utilization, metrics_total // entries


def usage_ratio(metrics: Mapping[str, PodMetric], target: int) -> tuple[float, int]:
    """GetMetricUsageRatio: (usage ratio, average usage) for an AverageValue target."""
    usage = sum(m.value for m in metrics.values()) // len(metrics)
    return usage / target, usage


def _within(ratio: float, tuning: Tuning) -> bool:
    return abs(1.0 - ratio) <= tuning.tolerance


def _rebalanced(current: int, grouped: Grouped, metrics: dict[str, PodMetric], ratio: float,
                ratio_of: Callable[[dict[str, PodMetric]], float], missing_on_scale_down: Callable[[str], int],
                tuning: Tuning) -> int:
    """What GetResourceReplicas and calcPlainMetricReplicas share once the ratio over the ready
    pods is known: with no unready pods pointing up and no missing pods, the ratio decides (within
    the tolerance: no change). Otherwise, on a scale up unready and missing pods count as using
    nothing, on a scale down missing ones as `missing_on_scale_down`; a recomputed ratio within the
    tolerance, or pointing the other way, or a count that would move against it, keeps `current`."""
    scale_up_with_unready = bool(grouped.unready) and ratio > 1.0
    if not scale_up_with_unready and not grouped.missing:
        return current if _within(ratio, tuning) else math.ceil(ratio * grouped.ready_count)
    if grouped.missing and ratio != 1.0:
        for name in grouped.missing:
            metrics[name] = PodMetric(missing_on_scale_down(name) if ratio < 1.0 else 0, 0.0, 0.0)
    if scale_up_with_unready:
        for name in grouped.unready:
            metrics[name] = PodMetric(0, 0.0, 0.0)
    new_ratio = ratio_of(metrics)
    if _within(new_ratio, tuning) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def _ready_metrics(pods: list[Obj], metrics: dict[str, PodMetric], resource: str, tuning: Tuning, now: float
                   ) -> tuple[Grouped, dict[str, PodMetric]]:
    """groupPods, and the metrics of the pods that count (ignored and unready ones removed)."""
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    grouped = group_pods(pods, metrics, resource, tuning, now)
    counted = {name: m for name, m in metrics.items() if name not in grouped.ignored | grouped.unready}
    if not counted:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return grouped, counted


def resource_replicas(current: int, target_utilization: int, resource: str, pods: list[Obj],
                      metrics: dict[str, PodMetric], tuning: Tuning, now: float, container: str = ""
                      ) -> tuple[int, int, int]:
    """GetResourceReplicas for a Utilization target: (replicas, utilization %, raw average).
    Missing pods count as using 100% of their request (or the target, above 100%) on a scale down."""
    grouped, metrics = _ready_metrics(pods, metrics, resource, tuning, now)
    requests = pod_requests(pods, resource, container)
    ratio, utilization, raw = utilization_ratio(metrics, requests, target_utilization)
    fallback = max(100, target_utilization)
    replicas = _rebalanced(current, grouped, metrics, ratio,
                           lambda m: utilization_ratio(m, requests, target_utilization)[0],
                           lambda name: requests[name] * fallback // 100, tuning)
    return replicas, utilization, raw


def raw_resource_replicas(current: int, target_usage: int, resource: str, pods: list[Obj],
                          metrics: dict[str, PodMetric], tuning: Tuning, now: float) -> tuple[int, int]:
    """GetRawResourceReplicas (calcPlainMetricReplicas) for an AverageValue target, in milli-units:
    (replicas, average usage). Missing pods count as using the target on a scale down."""
    grouped, metrics = _ready_metrics(pods, metrics, resource, tuning, now)
    ratio, usage = usage_ratio(metrics, target_usage)
    replicas = _rebalanced(current, grouped, metrics, ratio, lambda m: usage_ratio(m, target_usage)[0],
                           lambda _name: target_usage, tuning)
    return replicas, usage
