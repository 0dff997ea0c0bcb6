"""What a DaemonSet should do next, as pure functions (k8s.io/kubernetes/pkg/controller/daemon).

- `node_fit`: should a daemon pod run on this node, and may an existing one stay
  (NodeShouldRunDaemonPod: nodeName, nodeSelector, required node affinity, taints against the
  template's tolerations plus the ones every daemon pod gets).
- `plan_manage`: create a pod on each eligible node that has none, delete failed and surplus
  pods and pods on nodes that should not run them (podsShouldBeOnNode).
- `plan_rolling_update`: replace pods of old revisions within maxUnavailable, or surge new pods
  within maxSurge and delete the old one once the new one is available (rollingUpdate).
- `plan_status`: the counters of DaemonSetStatus.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources.scheduling import pod_matches_node_selector_and_affinity, untolerated_taint

Obj = dict[str, Any]

# AddOrUpdateDaemonPodTolerations (pkg/controller/daemon/util)
DEFAULT_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION: Obj = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                                "effect": "NoSchedule"}


def add_default_tolerations(pod_spec: Obj) -> Obj:
    """A copy of the pod spec with the daemon tolerations added (an identical one is not repeated)."""
    spec = copy.deepcopy(pod_spec)
    tolerations = list(spec.get("tolerations") or [])
    extra = list(DEFAULT_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])
    for t in extra:
        if not any(_same_toleration(t, o) for o in tolerations):
            tolerations.append(dict(t))
    spec["tolerations"] = tolerations
    return spec


def _same_toleration(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("key", "operator", "value", "effect"))


def pin_to_node(pod_spec: Obj, node: str) -> Obj:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes metadata.name In [node]."""
    spec = copy.deepcopy(pod_spec)
    affinity = spec.setdefault("affinity", {}) or {}
    spec["affinity"] = affinity
    node_affinity = affinity.setdefault("nodeAffinity", {}) or {}
    affinity["nodeAffinity"] = node_affinity
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    return spec


def target_node(pod: Mapping[str, Any]) -> str:
    """util.GetTargetNodeName: spec.nodeName, else the node the pinning affinity names."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            values = f.get("values") or []
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return ""


@dataclass(frozen=True)
class NodeFit:
    should_run: bool
    should_continue: bool


def node_fit(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> NodeFit:
    """NodeShouldRunDaemonPod for a template spec (tolerations already include the defaults)."""
    pod = {"spec": pod_spec}
    name = (node.get("metadata") or {}).get("name", "")
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != name:
        return NodeFit(False, False)
    if not pod_matches_node_selector_and_affinity(pod, node):
        return NodeFit(False, False)
    if untolerated_taint(pod, node, ("NoExecute",)) is not None:
        return NodeFit(False, False)
    if untolerated_taint(pod, node, ("NoSchedule",)) is not None:
        return NodeFit(False, True)
    return NodeFit(True, True)


@dataclass(frozen=True)
class DaemonPod:
    name: str
    node: str
    hash: str
    created: str = ""  # creationTimestamp: RFC 3339 sorts as text
    terminating: bool = False
    failed: bool = False
    ready: bool = False
    available: bool = False


@dataclass(frozen=True)
class Plan:
    create_on: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    failed: tuple[str, ...] = field(default=())  # of `delete`, the ones deleted because they failed

    def __bool__(self) -> bool:
        return bool(self.create_on or self.delete)


def _oldest_first(pods: Sequence[DaemonPod]) -> list[DaemonPod]:
    return sorted(pods, key=lambda p: (p.created, p.name))


def plan_manage(nodes: Mapping[str, NodeFit], pods: Mapping[str, Sequence[DaemonPod]], hash_: str,
                surge: bool = False) -> Plan:
    create: list[str] = []
    delete: list[str] = []
    failed: list[str] = []
    for node, fit in sorted(nodes.items()):
        on_node = list(pods.get(node) or ())
        if fit.should_run and not on_node:
            create.append(node)
        elif fit.should_continue:
            running = []
            for p in on_node:
                if p.terminating:
                    continue
                if p.failed:
                    delete.append(p.name)
                    failed.append(p.name)
                    continue
                running.append(p)
            delete += [p.name for p in _surplus(running, hash_, surge)]
        else:
            delete += [p.name for p in on_node if not p.terminating]
    for node, on_node in sorted(pods.items()):
        if node not in nodes:  # the node is gone (or never existed)
            delete += [p.name for p in on_node if not p.terminating]
    return Plan(tuple(create), tuple(delete), tuple(failed))


def _surplus(running: list[DaemonPod], hash_: str, surge: bool) -> list[DaemonPod]:
    """Pods beyond the one (or, while surging, two) a node keeps."""
    if len(running) <= 1:
        return []
    ordered = _oldest_first(running)
    if not surge:
        return ordered[1:]
    new = [p for p in ordered if p.hash == hash_]
    old = [p for p in ordered if p.hash != hash_]
    keep: list[DaemonPod] = []
    if new and old and not new[0].ready and old[0].ready:
        keep = [new[0], old[0]]  # the surge is in progress: the old pod serves until the new one is ready
    elif new:
        keep = [new[0]]
    else:
        keep = [old[0]]
    return [p for p in ordered if p not in keep]


def scaled(value: int | str | None, total: int, default: int) -> int:
    """GetScaledValueFromIntOrPercent rounding up."""
    if value is None:
        return default
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def _updated_and_old(on_node: Sequence[DaemonPod], hash_: str) -> tuple[DaemonPod | None, DaemonPod | None, bool]:
    """findUpdatedPodsOnNode: the one new and one old pod of a node; False if there are more."""
    new = old = None
    for p in on_node:
        if p.terminating:
            continue
        if p.hash == hash_:
            if new is not None:
                return None, None, False
            new = p
        else:
            if old is not None:
                return None, None, False
            old = p
    return new, old, True


def plan_rolling_update(nodes: Mapping[str, NodeFit], pods: Mapping[str, Sequence[DaemonPod]], hash_: str,
                        max_surge: int, max_unavailable: int) -> Plan:
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    if max_surge == 0:
        unavailable = 0
        allowed: list[str] = []
        candidates: list[str] = []
        for node in sorted(set(pods) | {n for n, f in nodes.items() if f.should_run}):
            if not nodes.get(node, NodeFit(False, False)).should_run:
                continue
            new, old, ok = _updated_and_old(pods.get(node) or (), hash_)
            if not ok or (new is None) == (old is None):
                unavailable += 1  # being created, or several pods: the manage pass sorts it out
            elif new is not None:
                unavailable += not new.available
            elif old is not None:
                if not old.available:
                    allowed.append(old.name)
                elif unavailable < max_unavailable:
                    candidates.append(old.name)
        remaining = max(0, min(max_unavailable - unavailable, len(candidates)))
        return Plan(delete=tuple(allowed + candidates[:remaining]))
    surged = 0
    delete: list[str] = []
    allowed_nodes: list[str] = []
    candidate_nodes: list[str] = []
    for node in sorted(pods):
        if not nodes.get(node, NodeFit(False, False)).should_run:
            continue
        new, old, ok = _updated_and_old(pods[node], hash_)
        if not ok:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not old.available:
                allowed_nodes.append(node)
            elif surged < max_surge:
                candidate_nodes.append(node)
        elif not new.available:
            surged += 1  # waiting for the new pod to become available
        else:
            delete.append(old.name)
    remaining = max(0, min(max_surge - surged, len(candidate_nodes)))
    return Plan(create_on=tuple(allowed_nodes + candidate_nodes[:remaining]), delete=tuple(delete))


def plan_status(nodes: Mapping[str, NodeFit], pods: Mapping[str, Sequence[DaemonPod]], hash_: str) -> Obj:
    st = {"desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0,
          "numberAvailable": 0, "updatedNumberScheduled": 0}
    for node, fit in nodes.items():
        on_node = [p for p in pods.get(node) or () if not p.terminating] or list(pods.get(node) or ())
        if fit.should_run:
            st["desiredNumberScheduled"] += 1
            if on_node:
                st["currentNumberScheduled"] += 1
                first = _oldest_first(on_node)[0]
                st["numberReady"] += first.ready
                st["numberAvailable"] += first.available
                st["updatedNumberScheduled"] += first.hash == hash_
        elif on_node:
            st["numberMisscheduled"] += 1
    st["numberUnavailable"] = st["desiredNumberScheduled"] - st["numberAvailable"]
    return st
