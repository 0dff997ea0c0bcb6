"""The ReplicaSet controller's decisions, as pure functions: how many pods to create or delete, the status.

Also the in-memory expectations (controller.ControllerExpectations) that stop the controller from
creating or deleting again before its informer has seen the effect of what it already did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from boxk8s.controllers.podutil import (
    active_pods_sort_key,
    is_pod_available,
    is_pod_ready,
    seconds_until_available,
)
from boxk8s.resources.meta import format_time
from boxk8s.resources.selectors import label_selector_matches

Obj = dict[str, Any]

BURST_REPLICAS = 500  # upstream's burstReplicas: at most this many creates/deletes per sync
SLOW_START_INITIAL_BATCH = 1  # controller.SlowStartInitialBatchSize
EXPECTATIONS_TTL_SECONDS = 300.0  # controller.ExpectationsTimeout
REPLICA_FAILURE = "ReplicaFailure"


@dataclass(frozen=True)
class ReplicaPlan:
    create: int = 0
    delete: tuple[Obj, ...] = ()


def plan_replicas(replicas: int, active_pods: list[Obj], burst: int = BURST_REPLICAS) -> ReplicaPlan:
    """manageReplicas: create the missing pods, or delete the surplus least valuable first."""
    diff = len(active_pods) - replicas
    if diff < 0:
        return ReplicaPlan(create=min(-diff, burst))
    if diff > 0:
        ranked = sorted(active_pods, key=active_pods_sort_key)
        return ReplicaPlan(delete=tuple(ranked[: min(diff, burst)]))
    return ReplicaPlan()


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """slowStartBatch sizes: 1, 2, 4, … until `count` (a failing batch stops the rest)."""
    out, size, left = [], initial, count
    while left > 0:
        batch = min(size, left)
        out.append(batch)
        left -= batch
        size *= 2
    return out


def calculate_status(rs: Obj, pods: list[Obj], now: datetime, failure: tuple[str, str] | None) -> Obj:
    """calculateStatus over the active pods the ReplicaSet owns; `failure` is (reason, message) of manageReplicas."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    old = rs.get("status") or {}
    status: Obj = {k: v for k, v in old.items() if k != "conditions"}
    conditions = [c for c in old.get("conditions") or []]
    has_failure = any(c.get("type") == REPLICA_FAILURE for c in conditions)
    if failure is not None and not has_failure:
        conditions.append({"type": REPLICA_FAILURE, "status": "True", "reason": failure[0], "message": failure[1],
                           "lastTransitionTime": format_time(now)})
    elif failure is None and has_failure:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    status.update(replicas=len(pods), fullyLabeledReplicas=fully_labeled, readyReplicas=ready,
                  availableReplicas=available)
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return status


def status_needs_update(rs: Obj, status: Obj) -> bool:
    """updateReplicaSetStatus: write when a count, a condition or observedGeneration differs."""
    old = rs.get("status") or {}
    generation = rs["metadata"].get("generation") or 0
    if old.get("observedGeneration") != generation:
        return True
    for key in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if (old.get(key) or 0) != (status.get(key) or 0):
            return True
    return (old.get("conditions") or []) != (status.get("conditions") or [])


def next_availability_check(rs: Obj, pods: list[Obj], now: datetime) -> float | None:
    """Seconds until a ready pod passes minReadySeconds (so availableReplicas must be counted again)."""
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    waits = [w for p in pods if (w := seconds_until_available(p, min_ready, now)) is not None]
    return min(waits) if waits else None


def _spec_selector(owner: Obj) -> Obj | None:
    return (owner.get("spec") or {}).get("selector")


def matching_owners(pod: Obj, owners: list[Obj],
                    selector_of: Callable[[Obj], Obj | None] = _spec_selector) -> list[Obj]:
    """getPodReplicaSets: the owners in the pod's namespace whose selector (as `selector_of` reads
    it: a LabelSelector) matches its labels."""
    ns = pod["metadata"].get("namespace")
    labels = pod["metadata"].get("labels") or {}
    return [o for o in owners
            if o["metadata"].get("namespace") == ns and label_selector_matches(selector_of(o), labels)]


@dataclass
class _Expectation:
    adds: int
    deletes: set[str]
    timestamp: float


@dataclass
class Expectations:
    """UIDTrackingControllerExpectations, in memory: creations by count, deletions by pod key.

    A key is satisfied when everything expected has been observed, or the expectation expired
    (the informer must have missed something; a fresh sync sets things right), or when nothing
    was ever expected.
    """

    ttl: float = EXPECTATIONS_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _items: dict[str, _Expectation] = field(default_factory=dict)

    def expect_creations(self, key: str, count: int) -> None:
        self._items[key] = _Expectation(count, set(), self.clock())

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._items[key] = _Expectation(0, set(pod_keys), self.clock())

    def creation_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp is not None:
            exp.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        exp = self._items.get(key)
        if exp is not None:
            exp.deletes.discard(pod_key)

    def satisfied(self, key: str) -> bool:
        exp = self._items.get(key)
        if exp is None:
            return True
        if exp.adds <= 0 and not exp.deletes:
            return True
        return self.clock() - exp.timestamp > self.ttl

    def pending(self, key: str) -> tuple[int, int]:
        exp = self._items.get(key)
        return (0, 0) if exp is None else (max(exp.adds, 0), len(exp.deletes))

    def forget(self, key: str) -> None:
        self._items.pop(key, None)
