"""Deployment status and conditions, as pure functions (upstream's calculateStatus, syncRolloutStatus).

Messages and reasons are upstream's: `kubectl rollout status` and `kubectl describe` print them.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from boxk8s.controllers.deployment_plan import max_unavailable, replicas_of
from boxk8s.resources import meta

Obj = dict[str, Any]

AVAILABLE = "Available"
PROGRESSING = "Progressing"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


def get_condition(status: Obj, ctype: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def new_condition(ctype: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    ts = meta.format_time(now)
    return {"type": ctype, "status": status, "lastUpdateTime": ts, "lastTransitionTime": ts,
            "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """SetDeploymentCondition: same status and reason → unchanged; same status keeps lastTransitionTime."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, ctype: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != ctype]


def has_progress_deadline(d: Obj) -> bool:
    value = d["spec"].get("progressDeadlineSeconds")
    return value is not None and value != 2**31 - 1


def _rs_status(rs: Obj | None, key: str) -> int:
    return int(((rs or {}).get("status") or {}).get(key) or 0)


def calculate_status(d: Obj, all_rss: list[Obj | None], new_rs: Obj | None, now: datetime) -> Obj:
    """calculateStatus: counts from the ReplicaSets' statuses, and the Available condition."""
    rss = [rs for rs in all_rss if rs is not None]
    available = sum(_rs_status(rs, "availableReplicas") for rs in rss)
    total_spec = sum(replicas_of(rs) for rs in rss)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": d["metadata"].get("generation") or 0,
        "replicas": sum(_rs_status(rs, "replicas") for rs in rss),
        "updatedReplicas": _rs_status(new_rs, "replicas"),
        "readyReplicas": sum(_rs_status(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(total_spec - available, 0),
        "conditions": copy.deepcopy(old.get("conditions") or []),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if available >= replicas_of(d) - max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                            "Deployment does not have minimum availability.", now))
    return status


def deployment_complete(d: Obj, status: Obj) -> bool:
    desired = replicas_of(d)
    return (status.get("updatedReplicas", 0) == desired and status.get("replicas", 0) == desired
            and status.get("availableReplicas", 0) == desired
            and status.get("observedGeneration", 0) >= (d["metadata"].get("generation") or 0))


def deployment_progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}
    old_old = (old.get("replicas") or 0) - (old.get("updatedReplicas") or 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > (old.get("updatedReplicas") or 0) or new_old < old_old
            or new.get("readyReplicas", 0) > (old.get("readyReplicas") or 0)
            or new.get("availableReplicas", 0) > (old.get("availableReplicas") or 0))


def deployment_timed_out(d: Obj, status: Obj, now: datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = meta.parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) < now


def rollout_status(d: Obj, all_rss: list[Obj | None], new_rs: Obj | None, now: datetime) -> Obj:
    """syncRolloutStatus: calculateStatus plus the Progressing condition."""
    status = calculate_status(d, all_rss, new_rs, now)
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(d.get("status") or {}, PROGRESSING)
    complete = (status["replicas"] == status["updatedReplicas"] and current is not None
                and current.get("reason") == NEW_RS_AVAILABLE)
    name = d["metadata"]["name"]
    what = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None else f'Deployment "{name}"'
    if has_progress_deadline(d) and not complete:
        if deployment_complete(d, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{what} has successfully progressed.", now))
        elif deployment_progressing(d, status):
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.", now)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif deployment_timed_out(d, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{what} has timed out progressing.", now))
    return status


def seconds_until_stuck(d: Obj, status: Obj, now: datetime) -> float | None:
    """requeueStuckDeployment: when to look again so ProgressDeadlineExceeded is noticed in time."""
    cond = get_condition(status, PROGRESSING)
    if not has_progress_deadline(d) or cond is None:
        return None
    if deployment_complete(d, status) or cond.get("reason") in (NEW_RS_AVAILABLE, TIMED_OUT):
        return None
    since = meta.parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    left = (since + timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) - now).total_seconds()
    return max(left, 0.0) + 1.0


def paused_condition(d: Obj, now: datetime) -> Obj | None:
    """checkPausedConditions: the Progressing condition to set when pausing or resuming, if any."""
    if not has_progress_deadline(d):
        return None
    cond = get_condition(d.get("status") or {}, PROGRESSING)
    if cond is not None and cond.get("reason") == TIMED_OUT:
        return None
    paused_exists = cond is not None and cond.get("reason") == PAUSED
    if d["spec"].get("paused") and not paused_exists:
        return new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    if not d["spec"].get("paused") and paused_exists:
        return new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
    return None
