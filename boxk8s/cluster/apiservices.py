"""The local APIServices: one per group-version boxk8s serves, as `kubectl get apiservices` lists
them on a real cluster (SERVICE `Local`, AVAILABLE True).

Upstream the kube-aggregator's autoregister controller makes one for each group-version the
kube-apiserver lists (pkg/controlplane/apiserver/aggregator.go: apiServicesToRegister,
makeAPIService), with the group and version priorities of its table (DefaultGenericAPIServicePriorities
plus cmd/kube-apiserver/app/aggregator.go's apiVersionPriorities, 1.32); a group-version missing
from the table gets none, and apiregistration.k8s.io itself (served by the aggregator, not the
delegate) has none either. Those it syncs "on start" carry the automanaged label `onstart`, and
one so labelled that the server no longer serves is deleted. Their Available condition comes from
the local availability controller (kube-aggregator/pkg/controllers/status/local).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

API_VERSION = "apiregistration.k8s.io/v1"
AUTOMANAGED_LABEL = "kube-aggregator.kubernetes.io/automanaged"
ON_START = "onstart"
LOCAL_REASON = "Local"
LOCAL_MESSAGE = "Local APIServices are always available"

# (group, version) -> (groupPriorityMinimum, versionPriority), the 1.32 tables' entries for the
# versions a 1.32 cluster serves by default.
PRIORITIES: dict[tuple[str, str], tuple[int, int]] = {
    ("", "v1"): (18000, 1),
    ("apps", "v1"): (17800, 15),
    ("events.k8s.io", "v1"): (17750, 15),
    ("authentication.k8s.io", "v1"): (17700, 15),
    ("authorization.k8s.io", "v1"): (17600, 15),
    ("autoscaling", "v1"): (17500, 15),
    ("autoscaling", "v2"): (17500, 30),
    ("batch", "v1"): (17400, 15),
    ("certificates.k8s.io", "v1"): (17300, 15),
    ("networking.k8s.io", "v1"): (17200, 15),
    ("policy", "v1"): (17100, 15),
    ("rbac.authorization.k8s.io", "v1"): (17000, 15),
    ("storage.k8s.io", "v1"): (16800, 15),
    ("apiextensions.k8s.io", "v1"): (16700, 15),
    ("admissionregistration.k8s.io", "v1"): (16700, 15),
    ("scheduling.k8s.io", "v1"): (16600, 15),
    ("coordination.k8s.io", "v1"): (16500, 15),
    ("node.k8s.io", "v1"): (16300, 15),
    ("discovery.k8s.io", "v1"): (16200, 15),
    ("flowcontrol.apiserver.k8s.io", "v1"): (16100, 21),
}


def apiservice_name(group: str, version: str) -> str:
    """`version.group`; the core group's is `v1.` (legacyAPIServiceName)."""
    return f"{version}.{group}"


def desired_apiservice(group: str, version: str) -> Obj | None:
    """makeAPIService: None for a group-version without priorities."""
    priorities = PRIORITIES.get((group, version))
    if priorities is None:
        return None
    spec: Obj = {"version": version, "groupPriorityMinimum": priorities[0], "versionPriority": priorities[1]}
    if group:
        spec = {"group": group, **spec}
    return {"apiVersion": API_VERSION, "kind": "APIService",
            "metadata": {"name": apiservice_name(group, version), "labels": {AUTOMANAGED_LABEL: ON_START}},
            "spec": spec}


def available_condition(now: str) -> Obj:
    return {"type": "Available", "status": "True", "lastTransitionTime": now, "reason": LOCAL_REASON,
            "message": LOCAL_MESSAGE}


@dataclass
class APIServicePlan:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)  # ours, with the spec they should have
    delete: list[str] = field(default_factory=list)
    mark_available: list[str] = field(default_factory=list)  # local ones not (yet) Available


def _available(obj: Obj) -> bool:
    return any(c.get("type") == "Available" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def plan_apiservices(served: list[tuple[str, str]], existing: list[Obj]) -> APIServicePlan:
    """What makes the stored APIServices those of the served group-versions: create the missing,
    bring ours back to their spec, delete ours no longer served (never one someone else made),
    and mark the local ones Available."""
    plan = APIServicePlan()
    wanted = {obj["metadata"]["name"]: obj for obj in (desired_apiservice(g, v) for g, v in served) if obj}
    have = {obj["metadata"]["name"]: obj for obj in existing}
    for name, obj in wanted.items():
        current = have.get(name)
        if current is None:
            plan.create.append(obj)
            plan.mark_available.append(name)
            continue
        spec = current.get("spec") or {}
        if (current["metadata"].get("labels") or {}).get(AUTOMANAGED_LABEL) == ON_START and \
                any(spec.get(k) != v for k, v in obj["spec"].items()):
            plan.update.append(obj)
        if not spec.get("service") and not _available(current):
            plan.mark_available.append(name)
    for name, current in have.items():
        if name not in wanted and (current["metadata"].get("labels") or {}).get(AUTOMANAGED_LABEL) == ON_START:
            plan.delete.append(name)
    return plan
