"""Filter plugins of kube-scheduler 1.32 as pure functions: (pod, node_info) -> None or a reason.

Reasons are worded exactly as upstream's, because `kubectl describe` users (and tools) read
them. `FILTERS` runs in upstream's order and, as upstream's framework does, a node is judged by
the first plugin that rejects it. Each entry also says whether preemption could help
(Unschedulable) or not (UnschedulableAndUnresolvable), which the preemption message needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s.resources.scheduling import (
    pod_matches_node_selector_and_affinity,
    tolerates,
    tolerations_of,
    untolerated_taint,
)
from boxk8s.scheduler.nodeinfo import CPU, EPHEMERAL, MEMORY, PODS, NodeInfo, PodUsage

ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_NODE_NAME = "node(s) didn't match the requested node name"
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS = "Too many pods"
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"

Pod = Mapping[str, Any]


# --- NodeUnschedulable -------------------------------------------------------------------------

def node_unschedulable(pod: Pod, info: NodeInfo) -> str | None:
    if not (info.node.get("spec") or {}).get("unschedulable"):
        return None
    taint = {"key": UNSCHEDULABLE_TAINT_KEY, "effect": "NoSchedule"}
    if any(tolerates(t, taint) for t in tolerations_of(pod)):
        return None
    return ERR_UNSCHEDULABLE


# --- NodeName ------------------------------------------------------------------------------------

def node_name(pod: Pod, info: NodeInfo) -> str | None:
    wanted = (pod.get("spec") or {}).get("nodeName")
    return None if not wanted or wanted == info.name else ERR_NODE_NAME


# --- TaintToleration -----------------------------------------------------------------------------

def taint_toleration(pod: Pod, info: NodeInfo) -> str | None:
    taint = untolerated_taint(pod, info.node, ("NoSchedule", "NoExecute"))
    if taint is None:
        return None
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"


# --- NodeAffinity (nodeSelector + required node affinity) ----------------------------------------

def node_affinity(pod: Pod, info: NodeInfo) -> str | None:
    return None if pod_matches_node_selector_and_affinity(pod, info.node) else ERR_NODE_AFFINITY


# --- NodePorts -------------------------------------------------------------------------------------

def _ports_conflict(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    if a[1] != b[1] or a[2] != b[2]:
        return False
    return a[0] == b[0] or "0.0.0.0" in (a[0], b[0])


def node_ports(pod: Pod, info: NodeInfo, usage: PodUsage | None = None) -> str | None:
    wanted = (usage or PodUsage.of(pod)).host_ports
    if not wanted:
        return None
    used = [p for placed in info.pods for p in placed.host_ports]
    if any(_ports_conflict(w, u) for w in wanted for u in used):
        return ERR_NODE_PORTS
    return None


# --- NodeResourcesFit --------------------------------------------------------------------------

def insufficient_resources(requests: Mapping[str, int], info: NodeInfo,
                           requested: Mapping[str, int] | None = None, pod_count: int | None = None) -> list[str]:
    """fitsRequest: every reason, in upstream's order (pods, cpu, memory, ephemeral-storage, others)."""
    alloc = info.allocatable
    used = info.requested if requested is None else requested
    count = info.pod_count if pod_count is None else pod_count
    reasons = []
    if count + 1 > alloc.get(PODS, 0):
        reasons.append(ERR_TOO_MANY_PODS)
    for name in (CPU, MEMORY, EPHEMERAL):
        want = requests.get(name, 0)
        if want > 0 and want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    for name in sorted(requests):
        if name in (CPU, MEMORY, EPHEMERAL, PODS) or requests[name] <= 0:
            continue
        if requests[name] > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def node_resources_fit_reasons(pod: Pod, info: NodeInfo, usage: PodUsage | None = None) -> list[str]:
    return insufficient_resources((usage or PodUsage.of(pod)).requests, info)


def node_resources_fit(pod: Pod, info: NodeInfo, usage: PodUsage | None = None) -> str | None:
    """The Status message: reasons joined by ", " (e.g. "Insufficient cpu, Insufficient memory")."""
    reasons = node_resources_fit_reasons(pod, info, usage)
    return ", ".join(reasons) if reasons else None


# --- the chain ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FilterPlugin:
    name: str
    reasons: Callable[[Pod, NodeInfo, PodUsage], list[str]]
    resolvable: bool  # False: UnschedulableAndUnresolvable, preemption cannot help


def _one(f: Callable[[Pod, NodeInfo], str | None]) -> Callable[[Pod, NodeInfo, PodUsage], list[str]]:
    def reasons(pod: Pod, info: NodeInfo, _usage: PodUsage) -> list[str]:
        r = f(pod, info)
        return [r] if r else []
    return reasons


def _ports(pod: Pod, info: NodeInfo, usage: PodUsage) -> list[str]:
    r = node_ports(pod, info, usage)
    return [r] if r else []


FILTERS: tuple[FilterPlugin, ...] = (
    FilterPlugin("NodeUnschedulable", _one(node_unschedulable), False),
    FilterPlugin("NodeName", _one(node_name), False),
    FilterPlugin("TaintToleration", _one(taint_toleration), False),
    FilterPlugin("NodeAffinity", _one(node_affinity), False),
    FilterPlugin("NodePorts", _ports, True),
    FilterPlugin("NodeResourcesFit", node_resources_fit_reasons, True),
)


@dataclass(frozen=True)
class FilterStatus:
    plugin: str
    reasons: tuple[str, ...]
    resolvable: bool


NODE_ONLY = 4  # FILTERS[:NODE_ONLY] judge the node object alone, not what is placed on it


def run_filters(pod: Pod, info: NodeInfo, usage: PodUsage | None = None, *,
                first: int = 0) -> FilterStatus | None:
    """None when the pod fits; else the first rejecting plugin's status (from FILTERS[first:])."""
    usage = usage or PodUsage.of(pod)
    for f in FILTERS[first:]:
        reasons = f.reasons(pod, info, usage)
        if reasons:
            return FilterStatus(f.name, tuple(reasons), f.resolvable)
    return None


def run_node_filters(pod: Pod, info: NodeInfo) -> FilterStatus | None:
    """The node-only part of the chain: depends on the node object and `node_terms(pod)` only."""
    for f in FILTERS[:NODE_ONLY]:
        reasons = f.reasons(pod, info, _NO_USAGE)
        if reasons:
            return FilterStatus(f.name, tuple(reasons), f.resolvable)
    return None


def node_terms(pod: Pod) -> str:
    """What of a pod the node-only filters and scores read (pods of one template share it)."""
    spec = pod.get("spec") or {}
    return json.dumps([spec.get("nodeName"), spec.get("tolerations"), spec.get("nodeSelector"),
                       spec.get("affinity")], sort_keys=True, separators=(",", ":"))


_NO_USAGE = PodUsage("", {}, (0, 0))
