"""Decide where one pod goes: filter, score, pick — or explain, in upstream's words, why nowhere.

The unschedulable message is `FitError.Error()` of kube-scheduler 1.32, including the message of
the DefaultPreemption PostFilter plugin ("preemption: 0/3 nodes are available: 3 No preemption
victims found for incoming pod."). We do not evict victims: when upstream would preempt, the
message has no preemption part, like upstream's, but the pod simply waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from boxk8s.scheduler.filters import (
    NODE_ONLY,
    FilterStatus,
    insufficient_resources,
    node_terms,
    run_filters,
    run_node_filters,
)
from boxk8s.scheduler.nodeinfo import NodeInfo, PodUsage
from boxk8s.scheduler.scores import node_raw_scores, resource_score, score_nodes

NO_NODES = "no nodes available to schedule pods"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."


@dataclass(frozen=True)
class ScheduleResult:
    node: str | None
    message: str = ""  # why no node fits (empty when one does)


def fit_error(total: int, statuses: Sequence[FilterStatus], post_filter: str = "") -> str:
    """framework.FitError.Error(): reasons counted, "<n> <reason>" strings sorted as Go's sort.Strings."""
    counts: Counter[str] = Counter(r for s in statuses for r in s.reasons)
    msg = f"0/{total} nodes are available:"
    parts = sorted(f"{n} {reason}" for reason, n in counts.items())
    if parts:
        msg += f" {', '.join(parts)}."
    if post_filter:
        msg += f" {post_filter}"
    return msg


def _preemption_status(pod: Mapping[str, Any], usage: PodUsage, info: NodeInfo,
                       status: FilterStatus) -> FilterStatus | None:
    """What DefaultPreemption's dry run says of one node; None when evicting lower-priority pods would help."""
    if not status.resolvable:
        return FilterStatus("DefaultPreemption", (NOT_HELPFUL,), False)
    lower = [p for p in info.pods if p.priority < usage.priority]
    if not lower:
        return FilterStatus("DefaultPreemption", (NO_VICTIMS,), False)
    remaining = [p for p in info.pods if p.priority >= usage.priority]
    smaller = NodeInfo.build(info.node, remaining)
    after = run_filters(pod, smaller, usage)
    if after is not None:
        return after
    if insufficient_resources(usage.requests, smaller):  # defensive: the filter chain said it fits
        return status
    return None


def preemption_message(pod: Mapping[str, Any], usage: PodUsage, rejected: Sequence[tuple[NodeInfo, FilterStatus]],
                       total: int) -> str:
    """The PostFilter message, or "" when upstream would find a preemption candidate."""
    if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
        return f"preemption: {NOT_ELIGIBLE_NEVER}"
    statuses = []
    for info, status in rejected:
        s = _preemption_status(pod, usage, info, status)
        if s is None:
            return ""
        statuses.append(s)
    return "preemption: " + fit_error(total, statuses)


NodeOnly = tuple[Mapping[str, Any], FilterStatus | None, tuple[int, int]]  # node judged, status, raw scores
Placed = tuple[NodeInfo, FilterStatus | None, int]  # snapshot judged, status, resource score
MEMO_LIMIT = 1024


@dataclass
class ScheduleMemo:
    """What plan_schedule keeps between pods; the decision is the same with or without it.

    `node_only`: node_terms(pod) → node name → what depends only on the node object and those terms
    (the first filters, the taint and affinity raw scores).
    `placed`: the pod's resource shape → node name → what depends only on the node's snapshot and
    that shape (NodePorts and NodeResourcesFit, LeastAllocated + BalancedAllocation). A binding
    changes one node's snapshot, so the next pod of a template is judged again on that node only.
    """

    node_only: dict[str, dict[str, NodeOnly]] = field(default_factory=dict)
    placed: dict[tuple[Any, ...], dict[str, Placed]] = field(default_factory=dict)

    def for_pod(self, pod: Mapping[str, Any], usage: PodUsage) -> tuple[dict[str, NodeOnly], dict[str, Placed]]:
        if len(self.node_only) > MEMO_LIMIT:
            self.node_only.clear()
        if len(self.placed) > MEMO_LIMIT:
            self.placed.clear()
        return (self.node_only.setdefault(node_terms(pod), {}),
                self.placed.setdefault(resource_shape(usage), {}))


def resource_shape(usage: PodUsage) -> tuple[Any, ...]:
    """What of a pod's usage NodePorts, NodeResourcesFit and the resource scores read."""
    return tuple(sorted(usage.requests.items())), usage.non_zero, usage.host_ports


def plan_schedule(pod: Mapping[str, Any], node_infos: Sequence[NodeInfo], *, tie_breaker: int = 0,
                  memo: ScheduleMemo | None = None) -> ScheduleResult:
    """Pick the best feasible node. Among equal scores, `tie_breaker` rotates through them (sorted
    by name), so a burst of identical pods on identical nodes spreads instead of piling up.

    `memo` keeps judgements between calls (see ScheduleMemo): pods of one template are judged once
    per node version. The decision is the same with or without it."""
    if not node_infos:
        return ScheduleResult(None, NO_NODES)
    usage = PodUsage.of(pod)
    judged, placed = (memo or ScheduleMemo()).for_pod(pod, usage)
    feasible: list[NodeInfo] = []
    raw: list[tuple[int, int]] = []
    resource: list[int] = []
    rejected: list[tuple[NodeInfo, FilterStatus]] = []
    for info in node_infos:
        name = info.name
        entry = judged.get(name)
        if entry is None or entry[0] is not info.node:
            entry = judged[name] = (info.node, run_node_filters(pod, info), node_raw_scores(pod, info.node))
        status = entry[1]
        if status is None:
            fit = placed.get(name)
            if fit is None or fit[0] is not info:
                fit_status = run_filters(pod, info, usage, first=NODE_ONLY)
                score = resource_score(usage, info) if fit_status is None else 0
                fit = placed[name] = (info, fit_status, score)
            status = fit[1]
        if status is None:
            feasible.append(info)
            raw.append(entry[2])
            resource.append(fit[2])
        else:
            rejected.append((info, status))
    if not feasible:
        statuses = [s for _, s in rejected]
        post = preemption_message(pod, usage, rejected, len(node_infos))
        return ScheduleResult(None, fit_error(len(node_infos), statuses, post))
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name)
    scores = score_nodes(pod, usage, feasible, raw, resource)
    best = max(scores)
    ties = sorted(info.name for info, s in zip(feasible, scores, strict=True) if s == best)
    return ScheduleResult(ties[tie_breaker % len(ties)])
