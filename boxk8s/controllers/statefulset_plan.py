"""What a StatefulSet should do next, as pure functions (k8s.io/kubernetes/pkg/controller/statefulset).

`plan_statefulset` follows upstream's updateStatefulSet pass: first make every ordinal in
[0, replicas) exist and be healthy (OrderedReady: one at a time, in order, each Running and Ready
before the next; Parallel: all at once), then remove the condemned ordinals from the highest
down (OrderedReady: one at a time, waiting for each to terminate), then — RollingUpdate only —
replace the highest ordinal >= partition that is not at the update revision, waiting for each
replacement to be healthy again. Scaling takes precedence over updates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


@dataclass(frozen=True)
class PodView:
    ordinal: int
    revision: str
    terminating: bool = False
    ready: bool = False  # Running and Ready
    available: bool = False  # ready for minReadySeconds
    failed: bool = False  # phase Failed or Succeeded: replaced

    @property
    def healthy(self) -> bool:
        return self.ready and self.available and not self.terminating


@dataclass(frozen=True)
class SetView:
    replicas: int
    update_revision: str
    current_revision: str
    ordered: bool = True  # podManagementPolicy OrderedReady (False: Parallel)
    rolling: bool = True  # updateStrategy RollingUpdate (False: OnDelete)
    partition: int = 0


@dataclass(frozen=True)
class Create:
    ordinal: int
    revision: str


@dataclass(frozen=True)
class Delete:
    ordinal: int
    why: Literal["failed", "condemned", "update"]


Action = Create | Delete


def creation_revision(s: SetView, ordinal: int) -> str:
    """Ordinals below the partition are (re)created at the current revision, the rest at the update one."""
    return s.current_revision if s.rolling and ordinal < s.partition else s.update_revision


def plan_statefulset(s: SetView, pods: Mapping[int, PodView]) -> list[Action]:
    actions: list[Action] = []
    monotonic = s.ordered
    for i in range(s.replicas):
        p = pods.get(i)
        if p is None:
            actions.append(Create(i, creation_revision(s, i)))
            if monotonic:
                return actions
            continue
        if p.failed and not p.terminating:
            actions.append(Delete(i, "failed"))
            if monotonic:
                return actions
            continue
        if monotonic and not p.healthy:
            return actions
    for o in sorted((o for o in pods if o >= s.replicas), reverse=True):
        if pods[o].terminating:
            if monotonic:
                return actions
            continue
        actions.append(Delete(o, "condemned"))
        if monotonic:
            return actions
    if not s.rolling:
        return actions  # OnDelete: pods are replaced when someone deletes them
    touched = {a.ordinal for a in actions}
    for t in range(s.replicas - 1, max(s.partition, 0) - 1, -1):
        p = pods.get(t)
        if p is None or t in touched:
            return actions  # being created or replaced: not healthy yet
        if p.revision != s.update_revision and not p.terminating:
            actions.append(Delete(t, "update"))
            return actions
        if not p.healthy:
            return actions
    return actions


def plan_status(pods: Iterable[PodView], s: SetView) -> dict[str, Any]:
    """The counters of StatefulSetStatus, and the current revision once a rolling update is complete."""
    st = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0,
          "currentRevision": s.current_revision, "updateRevision": s.update_revision}
    for p in pods:
        st["replicas"] += 1
        if p.ready and not p.terminating:
            st["readyReplicas"] += 1
            if p.available:
                st["availableReplicas"] += 1
        if not p.terminating:
            st["currentReplicas"] += p.revision == s.current_revision
            st["updatedReplicas"] += p.revision == s.update_revision
    if s.rolling and st["updatedReplicas"] == st["replicas"] and st["readyReplicas"] == st["replicas"]:
        st["currentRevision"] = s.update_revision
        st["currentReplicas"] = st["updatedReplicas"]
    return st


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    """The ordinal of `<set>-<n>`, or None for a pod that is not a member by name."""
    m = re.fullmatch(re.escape(set_name) + r"-(0|[1-9][0-9]*)", pod_name)
    return int(m.group(1)) if m else None


def claim_name(template: str, set_name: str, ordinal: int) -> str:
    return f"{template}-{set_name}-{ordinal}"
