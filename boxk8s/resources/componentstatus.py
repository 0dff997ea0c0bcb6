"""ComponentStatus: computed when read, never stored (pkg/registry/core/componentstatus/rest.go).

Upstream probes each server it knows (the controller-manager's and scheduler's /healthz, each etcd
member) and reports one Healthy condition per component; the API serves only get and list, and
labels and fields select as on any list (the objects have no labels, so a label selector
matching something only on labels selects none). In boxk8s the controller manager, scheduler and
store run in the process that answers the request, so each is healthy when it can answer.
"""

from __future__ import annotations

from typing import Any

from boxk8s import errors

Obj = dict[str, Any]

# The order a 1.32 cluster usually lists them in (upstream's order is that of the probes' replies).
COMPONENTS = ("scheduler", "controller-manager", "etcd-0")


def component_status(name: str, *, healthy: bool = True, message: str = "ok", error: str = "") -> Obj:
    """getComponentStatus: one Healthy condition, its message the probe's answer."""
    condition: Obj = {"type": "Healthy", "status": "True" if healthy else "False", "message": message}
    if error:
        condition["error"] = error
    # creationTimestamp reads back null: ObjectMeta's field has no omitempty and nothing sets it.
    return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name, "creationTimestamp": None},
            "conditions": [condition]}


def component_statuses() -> list[Obj]:
    return [component_status(name) for name in COMPONENTS]


def get_component_status(name: str) -> Obj:
    if name not in COMPONENTS:
        # Upstream answers a plain error (a 500, "Component not found: <name>"); a NotFound says
        # the same with the status clients expect for a missing object.
        raise errors.not_found("", "componentstatuses", name)
    return component_status(name)
