"""metrics.k8s.io/v1beta1, served by boxk8s itself: NodeMetrics and PodMetrics.

What metrics-server (0.7) serves once registered as an APIService, so that `kubectl top` works
with no add-on (kind and k3d need metrics-server installed): get and list, with label and field
selectors, of
    /apis/metrics.k8s.io/v1beta1/nodes[/NAME]
    /apis/metrics.k8s.io/v1beta1/[namespaces/NS/]pods[/NAME]
Objects as metrics-server's pkg/api/pod.go and node.go build them: the pod's or node's name,
namespace and labels, `creationTimestamp` now, `timestamp` the end of the measuring window,
`window` its length, usage as Quantities (cpu in nanocores "1234567n", memory a working set in
BinarySI "5676Ki"). Only Running pods with metrics are listed; a pod or node without metrics is
NotFound as `podmetrics.metrics.k8s.io "ns/name" not found`. Usage comes from the cluster's
MetricsSource (kubelet/metrics.py); nothing is read from the store but the pods and nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from boxk8s import errors
from boxk8s.api import request as rq
from boxk8s.api.respond import json_response
from boxk8s.client.metrics import (
    GROUP,
    GROUP_VERSION,
    VERSION,
    MetricsSource,
    NodeUsage,
    PodUsage,
    pods_with_usage,
)
from boxk8s.resources import registry, selectors
from boxk8s.resources.layer import Resources
from boxk8s.resources.meta import format_time
from boxk8s.resources.quantity import canonical_binary, canonical_decimal, parse_quantity, value

TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"

# /apis/metrics.k8s.io/v1beta1, as metrics-server registers it (get and list; no singular name).
RESOURCE_LIST: dict[str, Any] = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": GROUP_VERSION,
    "resources": [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
    ],
}
GROUP_ENTRY: dict[str, Any] = {
    "name": GROUP,
    "versions": [{"groupVersion": GROUP_VERSION, "version": VERSION}],
    "preferredVersion": {"groupVersion": GROUP_VERSION, "version": VERSION},
}


def go_duration(seconds: float) -> str:
    """metav1.Duration as JSON (Go's Duration.String), to the millisecond: "15.012s", "1m0.5s", "500ms"."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, frac = divmod(rest, 1000)
    text = f"{secs}" + (f".{frac:03d}".rstrip("0") if frac else "") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _stamp(ts: float) -> str:
    return format_time(datetime.fromtimestamp(ts, UTC))


def _usage(cpu_nanocores: int, memory_bytes: int) -> dict[str, str]:
    return {"cpu": canonical_decimal(cpu_nanocores, -9), "memory": canonical_binary(memory_bytes)}


def _meta(obj: dict[str, Any], now: float) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    out: dict[str, Any] = {"name": md.get("name", "")}
    if md.get("namespace"):
        out["namespace"] = md["namespace"]
    out["creationTimestamp"] = _stamp(now)
    if md.get("labels"):
        out["labels"] = dict(md["labels"])
    return out


def pod_metrics(pod: dict[str, Any], usage: PodUsage, now: float) -> dict[str, Any]:
    return {
        "kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(pod, now),
        "timestamp": _stamp(usage.timestamp), "window": go_duration(usage.window),
        "containers": [{"name": c.name, "usage": _usage(c.cpu_nanocores, c.memory_bytes)} for c in usage.containers],
    }


def node_metrics(node: dict[str, Any], usage: NodeUsage, now: float) -> dict[str, Any]:
    return {
        "kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(node, now),
        "timestamp": _stamp(usage.timestamp), "window": go_duration(usage.window),
        "usage": _usage(usage.cpu_nanocores, usage.memory_bytes),
    }


def _total(item: dict[str, Any]) -> tuple[int, int]:
    """(nanocores, bytes) of a PodMetrics (its containers summed) or a NodeMetrics."""
    usages = [c["usage"] for c in item.get("containers") or []] or [item.get("usage") or {}]
    cpu = sum(int(parse_quantity(u.get("cpu", "0")) * 1_000_000_000) for u in usages)
    return cpu, sum(value(u.get("memory", "0")) for u in usages)


def metrics_table(items: list[dict[str, Any]]) -> dict[str, Any]:
    """metrics-server's ConvertToTable: Name, the resources (sorted), Window."""
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name of the resource",
                "priority": 0}]
    if items:
        columns += [{"name": n, "type": "string", "format": "quantity", "description": "", "priority": 0}
                    for n in ("cpu", "memory")]
        columns.append({"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0})
    rows = []
    for item in items:
        cpu, memory = _total(item)
        rows.append({"cells": [item["metadata"]["name"], canonical_decimal(cpu, -9), canonical_binary(memory),
                               item["window"]],
                     "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                "metadata": item["metadata"]}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": columns,
            "rows": rows}


class MetricsHandler:
    """GET on the metrics.k8s.io/v1beta1 paths (the part after the version)."""

    def __init__(self, resources: Resources, source: MetricsSource | None,
                 now: Callable[[], float] = time.time) -> None:
        self.resources = resources
        self.source = source
        self.now = now

    async def handle(self, request: web.Request, parts: list[str]) -> web.Response:
        if request.method != "GET":
            raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource "
                                          f"({request.method})")
        namespace: str | None = None
        if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] == "pods":
            namespace, parts = parts[1], parts[2:]
        if not parts or len(parts) > 2 or parts[0] not in ("pods", "nodes") or (namespace and parts[0] != "pods"):
            raise errors.NotFound("the server could not find the requested resource")
        if rq.query_bool(request.query, "watch"):
            raise errors.MethodNotAllowed(f'watch is not supported on resources of kind "{parts[0]}"')
        table = rq.negotiate(request).table
        name = parts[1] if len(parts) == 2 else None
        if parts[0] == "pods":
            items = await self._pods(request, namespace, name)
        else:
            items = await self._nodes(request, name)
        if table:
            return json_response(metrics_table(items), content_type=TABLE_TYPE)
        if name is not None:
            return json_response(items[0])
        kind = "PodMetricsList" if parts[0] == "pods" else "NodeMetricsList"
        return json_response({"kind": kind, "apiVersion": GROUP_VERSION, "metadata": {}, "items": items})

    async def _pods(self, request: web.Request, namespace: str | None, name: str | None) -> list[dict[str, Any]]:
        pod_rt = registry.find("", "v1", "pods")
        assert pod_rt is not None
        now = self.now()
        if name is not None:
            if namespace is None:
                raise errors.NotFound("the server could not find the requested resource")
            pod = await self.resources.get(pod_rt, namespace, name)  # pods "x" not found
            found = pods_with_usage([pod], self.source)
            if not found:
                raise errors.not_found(GROUP, "podmetrics", f"{namespace}/{name}")
            return [pod_metrics(*found[0], now)]
        label, field = _selectors(request, "Pod")
        pods, _ = await self.resources.list(pod_rt, namespace, label=label, field=field)
        return [pod_metrics(pod, usage, now) for pod, usage in pods_with_usage(pods, self.source)]

    async def _nodes(self, request: web.Request, name: str | None) -> list[dict[str, Any]]:
        node_rt = registry.find("", "v1", "nodes")
        assert node_rt is not None
        now = self.now()
        if name is not None:
            node = await self.resources.get(node_rt, None, name)  # nodes "x" not found
            usage = self.source.node_usage(name) if self.source else None
            if usage is None:
                raise errors.not_found(GROUP, "nodemetrics", name)
            return [node_metrics(node, usage, now)]
        label, field = _selectors(request, "Node")
        nodes, _ = await self.resources.list(node_rt, None, label=label, field=field)
        out = []
        for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
            usage = self.source.node_usage(node["metadata"]["name"]) if self.source else None
            if usage is not None:
                out.append(node_metrics(node, usage, now))
        return out


def _selectors(request: web.Request, kind: str) -> tuple[Any, Any]:
    q = request.query
    label = selectors.parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
    field = selectors.parse_field_selector(q["fieldSelector"], kind) if q.get("fieldSelector") else None
    return label, field
