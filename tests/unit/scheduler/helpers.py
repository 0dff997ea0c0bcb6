"""Plain-dict nodes and pods for the scheduler's table tests."""

from __future__ import annotations

from typing import Any

from boxk8s.scheduler.nodeinfo import NodeInfo


def node(name: str = "n1", cpu: str = "2", memory: str = "4Gi", pods: str = "110", *,
         labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
         unschedulable: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                   "capacity": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


def pod(name: str = "p", cpu: str | None = None, memory: str | None = None, *, namespace: str = "default",
        node_name: str = "", spec: dict[str, Any] | None = None, priority: int | None = None,
        extra: dict[str, str] | None = None) -> dict[str, Any]:
    requests: dict[str, str] = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    requests.update(extra or {})
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    s: dict[str, Any] = {"containers": [container]}
    if node_name:
        s["nodeName"] = node_name
    if priority is not None:
        s["priority"] = priority
    s.update(spec or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": s,
            "status": {"phase": "Pending"}}


def info(n: dict[str, Any], *pods: dict[str, Any]) -> NodeInfo:
    return NodeInfo.from_pods(n, pods)
