"""PodDisruptionBudget rules shared by the eviction subresource and the disruption controller.

Pure functions over wire dicts, as upstream's component-helpers/apps/poddisruptionbudget
(UpdateDisruptionAllowedCondition, ConditionsAreUpToDate), apimachinery's meta.SetStatusCondition
and the policy/v1 lister's GetPodPodDisruptionBudgets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boxk8s.errors import BadRequest
from boxk8s.resources import registry
from boxk8s.resources.meta import format_time
from boxk8s.resources.selectors import selector_from_label_selector

Obj = dict[str, Any]

PDB = registry.find("policy", "v1", "poddisruptionbudgets")
assert PDB is not None

DISRUPTION_ALLOWED = "DisruptionAllowed"  # policy.DisruptionAllowedCondition
SUFFICIENT_PODS = "SufficientPods"  # policy.SufficientPodsReason
INSUFFICIENT_PODS = "InsufficientPods"  # policy.InsufficientPodsReason
SYNC_FAILED = "SyncFailed"  # policy.SyncFailedReason
UNHEALTHY_ALWAYS_ALLOW = "AlwaysAllow"  # policy.AlwaysAllow (spec.unhealthyPodEvictionPolicy)


def is_pod_ready(pod: Obj) -> bool:
    """podutil.IsPodReady: the pod's Ready condition is True (the PDB's notion of healthy)."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pdb_selects(pdb: Obj, labels: dict[str, str] | None) -> bool:
    """Whether a PDB covers a pod with these labels. policy/v1: a null selector selects nothing, an
    empty one ({}) everything ("Unlike the v1beta version, here we let an empty selector match
    everything"); an invalid selector selects nothing."""
    try:
        select = selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
    except BadRequest:
        return False
    return select(labels or {})


def pdbs_for_pod(pdbs: list[Obj], pod: Obj) -> list[Obj]:
    """GetPodPodDisruptionBudgets: the PDBs of the pod's namespace that select it."""
    md = pod["metadata"]
    namespace = md.get("namespace")
    labels = md.get("labels") or {}
    return [p for p in pdbs if p["metadata"].get("namespace") == namespace and pdb_selects(p, labels)]


def find_condition(conditions: list[Obj], ctype: str) -> Obj | None:
    return next((c for c in conditions if c.get("type") == ctype), None)


def set_status_condition(conditions: list[Obj], new: Obj, now: datetime) -> bool:
    """meta.SetStatusCondition on a list of metav1.Conditions, in place: a new condition is
    appended; an existing one takes the new status (lastTransitionTime moves only when the status
    changes), reason, message and observedGeneration. Returns whether anything changed."""
    existing = find_condition(conditions, new["type"])
    if existing is None:
        cond = dict(new)
        cond.setdefault("lastTransitionTime", format_time(now))
        conditions.append(_condition_fields(cond))
        return True
    changed = False
    if existing.get("status") != new["status"]:
        existing["status"] = new["status"]
        existing["lastTransitionTime"] = new.get("lastTransitionTime") or format_time(now)
        changed = True
    for key in ("reason", "message"):
        value = new.get(key, "")
        changed = changed or existing.get(key, "") != value
        existing[key] = value
    generation = int(new.get("observedGeneration") or 0)
    changed = changed or int(existing.get("observedGeneration") or 0) != generation
    if generation:
        existing["observedGeneration"] = generation
    else:
        existing.pop("observedGeneration", None)  # omitempty
    return changed


def _condition_fields(cond: Obj) -> Obj:
    """A metav1.Condition as Go writes it: message and reason always, observedGeneration when not 0."""
    out = {"type": cond["type"], "status": cond["status"]}
    if cond.get("observedGeneration"):
        out["observedGeneration"] = cond["observedGeneration"]
    out["lastTransitionTime"] = cond["lastTransitionTime"]
    out["reason"] = cond.get("reason", "")
    out["message"] = cond.get("message", "")
    return out


def update_disruption_allowed_condition(status: Obj, now: datetime) -> None:
    """UpdateDisruptionAllowedCondition: DisruptionAllowed True/SufficientPods when disruptions
    are allowed, else False/InsufficientPods; its observedGeneration is the status's."""
    conditions = status.setdefault("conditions", [])
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    set_status_condition(conditions, {
        "type": DISRUPTION_ALLOWED,
        "status": "True" if allowed else "False",
        "reason": SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS,
        "message": "",
        "observedGeneration": int(status.get("observedGeneration") or 0),
    }, now)


def conditions_are_up_to_date(pdb: Obj) -> bool:
    """ConditionsAreUpToDate: the DisruptionAllowed condition agrees with disruptionsAllowed and the
    status has observed the PDB's generation."""
    status = pdb.get("status") or {}
    cond = find_condition(status.get("conditions") or [], DISRUPTION_ALLOWED)
    if cond is None:
        return False
    if int(status.get("observedGeneration") or 0) != int(pdb["metadata"].get("generation") or 0):
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return cond.get("status") == "True" and cond.get("reason") == SUFFICIENT_PODS
    return cond.get("status") == "False" and cond.get("reason") == INSUFFICIENT_PODS
