"""What the node lifecycle controller decides, as pure functions (tested by tables).

- `plan_node_health`: a node whose kubelet stopped posting (Lease and Ready heartbeat older than
  the grace period) gets its conditions set to Unknown, "Kubelet stopped posting node status.".
- `plan_taints`: Ready Unknown → `node.kubernetes.io/unreachable` NoSchedule + NoExecute; Ready
  False → `node.kubernetes.io/not-ready` likewise; Ready True → neither.
- `eviction_delay`: when a pod on a node with NoExecute taints must go (taint-based eviction):
  at once if it does not tolerate them all, else after its shortest tolerationSeconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from boxk8s.resources import meta
from boxk8s.resources.scheduling import tolerates

Obj = dict[str, Any]

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
MANAGED_TAINT_KEYS = (UNREACHABLE, NOT_READY)
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
DEFAULT_TOLERATION_SECONDS = 300  # what the DefaultTolerationSeconds admission plugin adds




def ready_status(node: Obj) -> str:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status") or "Unknown")
    return "Unknown"


def last_heartbeat(node: Obj, lease: Obj | None) -> datetime | None:
    times = [meta.parse_time(c.get("lastHeartbeatTime")) for c in (node.get("status") or {}).get("conditions") or []
             if c.get("type") == "Ready"]
    if lease is not None:
        times.append(meta.parse_time((lease.get("spec") or {}).get("renewTime")))
    times.append(meta.parse_time(node["metadata"].get("creationTimestamp")))
    found = [t for t in times if t is not None]
    return max(found) if found else None


@dataclass
class HealthPlan:
    conditions: list[Obj] | None = None  # new status.conditions, or None to leave them
    ready: str = "True"  # the Ready status after the plan
    became_not_ready: bool = False
    recheck: float | None = None  # seconds until the heartbeat turns stale


def plan_node_health(node: Obj, lease: Obj | None, now: datetime, grace: float) -> HealthPlan:
    current = ready_status(node)
    last = last_heartbeat(node, lease)
    age = (now - last).total_seconds() if last else grace + 1
    if age <= grace:
        return HealthPlan(ready=current, recheck=max(grace - age, 0.0) + 0.05)
    if current == "Unknown" and all(
            c.get("status") == "Unknown" for c in (node.get("status") or {}).get("conditions") or []
            if c.get("type") in CONDITION_TYPES):
        return HealthPlan(ready="Unknown")
    conditions = []
    seen = set()
    for c in (node.get("status") or {}).get("conditions") or []:
        c = dict(c)
        if c.get("type") in CONDITION_TYPES:
            seen.add(c["type"])
            if c.get("status") != "Unknown":
                c.update(status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE,
                         lastTransitionTime=meta.format_time(now))
        conditions.append(c)
    for ctype in CONDITION_TYPES:
        if ctype not in seen:
            conditions.append({"type": ctype, "status": "Unknown", "reason": UNKNOWN_REASON,
                               "message": UNKNOWN_MESSAGE, "lastHeartbeatTime": meta.format_time(now),
                               "lastTransitionTime": meta.format_time(now)})
    return HealthPlan(conditions=conditions, ready="Unknown", became_not_ready=current == "True")


def plan_taints(taints: list[Obj], ready: str, now: datetime) -> list[Obj] | None:
    """The node's taints for its Ready status, or None when they are right already."""
    key = {"True": None, "False": NOT_READY}.get(ready, UNREACHABLE)
    wanted = {(key, "NoSchedule"), (key, "NoExecute")} if key else set()
    kept = [t for t in taints if t.get("key") not in MANAGED_TAINT_KEYS
            or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    added = []
    for k, effect in sorted(wanted - have):
        t: Obj = {"key": k, "effect": effect}
        if effect == "NoExecute":
            t["timeAdded"] = meta.format_time(now)
        added.append(t)
    new = kept + added
    return None if new == taints else new


@dataclass(frozen=True)
class Eviction:
    at: datetime | None  # None: never (tolerated forever)


def eviction_time(pod: Obj, taints: list[Obj], now: datetime, override: float | None = None) -> Eviction:
    """When taint-based eviction deletes `pod` from a node with these taints.

    `override` (the cluster's --eviction-seconds) replaces the 300 s of the default not-ready and
    unreachable tolerations, so that a local cluster moves pods off a dead node sooner.
    """
    no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
    if not no_execute:
        return Eviction(None)
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    seconds: list[float] = []
    for taint in no_execute:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return Eviction(now)
        for t in matching:
            s = t.get("tolerationSeconds")
            if s is None:
                continue
            if (override is not None and t.get("key") in MANAGED_TAINT_KEYS
                    and int(s) == DEFAULT_TOLERATION_SECONDS):
                s = override
            seconds.append(max(float(s), 0.0))
    if not seconds:
        return Eviction(None)
    since = min((meta.parse_time(t.get("timeAdded")) or now for t in no_execute), default=now)
    return Eviction(since + timedelta(seconds=min(seconds)))


@dataclass
class EvictionPlan:
    evict: list[str] = field(default_factory=list)  # pod keys, due now
    recheck: float | None = None


def plan_evictions(pods: list[Obj], taints: list[Obj], now: datetime, override: float | None = None) -> EvictionPlan:
    plan = EvictionPlan()
    for pod in pods:
        md = pod["metadata"]
        if md.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        ev = eviction_time(pod, taints, now, override)
        if ev.at is None:
            continue
        left = (ev.at - now).total_seconds()
        if left <= 0:
            plan.evict.append(f"{md.get('namespace')}/{md['name']}")
        else:
            plan.recheck = left if plan.recheck is None else min(plan.recheck, left)
    return plan
