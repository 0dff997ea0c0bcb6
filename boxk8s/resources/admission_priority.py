"""The Priority admission plugin (plugin/pkg/admission/priority/admission.go, Kubernetes 1.32).

A new pod's priorityClassName resolves to spec.priority and spec.preemptionPolicy; without a
class, the global default class (the lowest valued one if several) gives them, and with none the
priority is 0 and the policy PreemptLowerPriority. A priority or policy the pod already carries
must equal the computed one. On update, what create set is kept when the new body omits it. A
PriorityClass may be globalDefault only when no other one is, and a system one is never deleted.
"""

from __future__ import annotations

from typing import Any

from boxk8s import errors
from boxk8s.resources.validation_cluster import SYSTEM_PRIORITY_CLASSES

Obj = dict[str, Any]

DEFAULT_PRIORITY = 0  # scheduling.DefaultPriorityWhenNoDefaultClassExists
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"


def forbidden(group_resource: str, obj: Obj, reason: str) -> errors.Forbidden:
    """admission.NewForbidden: `<resource> "<name>" is forbidden: <reason>`, the name being the
    object's, or its generateName before one is generated."""
    md = obj.get("metadata") or {}
    name = md.get("name") or md.get("generateName") or "Unknown"
    group = group_resource.partition(".")[2]
    return errors.Forbidden(f'{group_resource} "{name}" is forbidden: {reason}', name=name, group=group,
                            kind=group_resource.partition(".")[0])


def default_priority_class(classes: list[Obj]) -> Obj | None:
    """getDefaultPriorityClass: among the globalDefault classes (more than one only after a race),
    the one with the lowest value."""
    found: Obj | None = None
    for pc in classes:
        if pc.get("globalDefault") and (found is None or int(found.get("value") or 0) > int(pc.get("value") or 0)):
            found = pc
    return found


def resolve_priority(class_name: str, classes: list[Obj]) -> tuple[str, int, str | None]:
    """(class name, priority, preemption policy) for a pod naming `class_name` ("" for none).
    Raises LookupError when the named class does not exist."""
    if not class_name:
        default = default_priority_class(classes)
        if default is None:
            return "", DEFAULT_PRIORITY, PREEMPT_LOWER_PRIORITY
        return default["metadata"]["name"], int(default.get("value") or 0), default.get("preemptionPolicy")
    pc = next((c for c in classes if c["metadata"]["name"] == class_name), None)
    if pc is None:
        raise LookupError(class_name)
    return class_name, int(pc.get("value") or 0), pc.get("preemptionPolicy")


def admit_pod_create(pod: Obj, classes: list[Obj]) -> None:
    """admitPod on Create: fill spec.priorityClassName (from a default class), spec.priority and
    spec.preemptionPolicy, or raise Forbidden."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return  # validation reports the missing spec
    try:
        name, priority, policy = resolve_priority(str(spec.get("priorityClassName") or ""), classes)
    except LookupError:
        raise forbidden("pods", pod, f"no PriorityClass with name {spec.get('priorityClassName')} was found") from None
    given = spec.get("priority")
    if given is not None and given != priority:
        raise forbidden("pods", pod, f"the integer value of priority ({given}) must not be provided in pod spec; "
                                     f"priority admission controller computed {priority} from the given "
                                     "PriorityClass name")
    given_policy = spec.get("preemptionPolicy")
    if policy is not None and given_policy is not None and given_policy != policy:
        raise forbidden("pods", pod, f"the string value of PreemptionPolicy ({given_policy}) must not be "
                                     f"provided in pod spec; priority admission controller computed {policy} "
                                     "from the given PriorityClass name")
    if name:
        spec["priorityClassName"] = name
    spec["priority"] = priority
    if policy is not None:
        spec["preemptionPolicy"] = policy


def admit_pod_update(pod: Obj, old: Obj) -> None:
    """admitPod on Update: keep the priority and policy create set when the new body leaves them
    out (validation refuses any other change to them)."""
    spec, old_spec = pod.get("spec"), old.get("spec") or {}
    if not isinstance(spec, dict):
        return
    for key in ("priority", "preemptionPolicy"):
        if spec.get(key) is None and old_spec.get(key) is not None:
            spec[key] = old_spec[key]


def validate_priority_class(pc: Obj, classes: list[Obj], creating: bool) -> None:
    """validatePriorityClass: a second globalDefault class is refused."""
    if not pc.get("globalDefault"):
        return
    default = default_priority_class(classes)
    if default is None:
        return
    if creating or default["metadata"]["name"] != (pc.get("metadata") or {}).get("name"):
        raise forbidden("priorityclasses.scheduling.k8s.io", pc,
                        f"PriorityClass {default['metadata']['name']} is already marked as default. "
                        "Only one default can exist")


def check_delete(pc: Obj) -> None:
    """The priorityclasses REST Delete (pkg/registry/scheduling/priorityclass/storage): the system
    classes cannot be deleted."""
    name = pc["metadata"]["name"]
    if name in SYSTEM_PRIORITY_CLASSES:
        raise forbidden("priorityclasses.scheduling.k8s.io", pc, "this is a system priority class and cannot be deleted")
