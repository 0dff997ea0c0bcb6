"""Score plugins of kube-scheduler 1.32 (default profile, default weights) as pure functions.

NodeResourcesFit/LeastAllocated (weight 1) and NodeResourcesBalancedAllocation (weight 1) use
upstream's integer arithmetic; TaintToleration (weight 3, PreferNoSchedule taints) and
NodeAffinity (weight 2, preferred terms) are normalized across the feasible nodes as upstream's
DefaultNormalizeScore does. Each node score is 0–100 per plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from boxk8s.resources.scheduling import node_selector_term_matches, tolerates
from boxk8s.scheduler.nodeinfo import CPU, MEMORY, NodeInfo, PodUsage

MAX_NODE_SCORE = 100
WEIGHTS = {"NodeResourcesFit": 1, "NodeResourcesBalancedAllocation": 1, "TaintToleration": 3, "NodeAffinity": 2}


def _least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_allocated(usage: PodUsage, info: NodeInfo) -> int:
    """Mean over cpu and memory of (allocatable - requested) * 100 / allocatable, with the pod placed.

    Requests are the "non-zero" ones (100m / 200Mi for containers asking for nothing), so that
    best-effort pods spread too.
    """
    total = weights = 0
    for i, name in enumerate((CPU, MEMORY)):
        alloc = info.allocatable.get(name, 0)
        if alloc == 0:
            continue
        total += _least_requested(info.non_zero_requested[i] + usage.non_zero[i], alloc)
        weights += 1
    return total // weights if weights else 0


def balanced_allocation(usage: PodUsage, info: NodeInfo) -> int:
    """100 * (1 - std-dev of the cpu and memory fractions), with the pod placed; 0 for best-effort pods."""
    if not any(usage.requests.get(r, 0) for r in (CPU, MEMORY)):
        return 0
    fractions = []
    for name in (CPU, MEMORY):
        alloc = info.allocatable.get(name, 0)
        if alloc == 0:
            continue
        fractions.append(min(1.0, (info.requested.get(name, 0) + usage.requests.get(name, 0)) / alloc))
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    return int((1 - std) * MAX_NODE_SCORE)


def intolerable_prefer_no_schedule(pod: Mapping[str, Any], node: Mapping[str, Any]) -> int:
    tolerations = [t for t in (pod.get("spec") or {}).get("tolerations") or []
                   if not t.get("effect") or t.get("effect") == "PreferNoSchedule"]
    return sum(
        1 for taint in (node.get("spec") or {}).get("taints") or []
        if taint.get("effect") == "PreferNoSchedule" and not any(tolerates(t, taint) for t in tolerations)
    )


def preferred_affinity(pod: Mapping[str, Any], node: Mapping[str, Any]) -> int:
    terms = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    return sum(int(t.get("weight") or 0) for t in terms
               if t.get("weight") and node_selector_term_matches(t.get("preference") or {}, node))


def normalize(raw: Sequence[int], reverse: bool = False) -> list[int]:
    """framework/plugins/helper.DefaultNormalizeScore."""
    top = max(raw, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in raw]
    out = []
    for s in raw:
        s = MAX_NODE_SCORE * s // top
        out.append(MAX_NODE_SCORE - s if reverse else s)
    return out


def node_raw_scores(pod: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[int, int]:
    """The node-only raw scores (TaintToleration, NodeAffinity), before normalizing."""
    return intolerable_prefer_no_schedule(pod, node), preferred_affinity(pod, node)


def resource_score(usage: PodUsage, info: NodeInfo) -> int:
    """The weighted scores that depend on what is placed on the node (not normalized across nodes)."""
    return (WEIGHTS["NodeResourcesFit"] * least_allocated(usage, info)
            + WEIGHTS["NodeResourcesBalancedAllocation"] * balanced_allocation(usage, info))


def score_nodes(pod: Mapping[str, Any], usage: PodUsage, infos: Sequence[NodeInfo],
                raw: Sequence[tuple[int, int]] | None = None, resource: Sequence[int] | None = None) -> list[int]:
    """The weighted total per feasible node, in the order given (`raw`: their node_raw_scores, and
    `resource`: their resource_score, if known)."""
    if raw is None:
        raw = [node_raw_scores(pod, i.node) for i in infos]
    if resource is None:
        resource = [resource_score(usage, info) for info in infos]
    taints = normalize([r[0] for r in raw], reverse=True)
    affinity = normalize([r[1] for r in raw])
    weight_taints, weight_affinity = WEIGHTS["TaintToleration"], WEIGHTS["NodeAffinity"]
    return [resource[k] + weight_taints * taints[k] + weight_affinity * affinity[k] for k in range(len(infos))]
