"""What the CRD controller decides, as pure functions over CRD dicts.

- `plan_status`: the naming controller's calculateNamesAndConditions (apiextensions-apiserver
  pkg/controller/status/naming_controller.go) — a requested name already accepted by another CRD
  of the group is refused (NamesAccepted False with PluralConflict, SingularConflict,
  ShortNamesConflict, KindConflict or ListKindConflict, `"x" is already in use`), the others are
  accepted — and the establishing controller's step (Established True, InitialNamesAccepted, once
  the names are accepted).
- `plan_termination`: the CRD finalizer's (pkg/controller/finalizer/crd_finalizer.go) — while
  instances remain, Terminating True (InstanceDeletionInProgress) and delete them; once none
  remain, Terminating False (InstanceDeletionCompleted, or NeverEstablished) and the
  `customresourcecleanup.apiextensions.k8s.io` finalizer goes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from boxk8s.resources.crd_serving import CLEANUP_FINALIZER, condition, condition_true, set_condition

Obj = dict[str, Any]

_NAME_FIELDS = ("plural", "singular", "shortNames", "kind", "listKind", "categories")


def _names(crd: Obj, where: str) -> Obj:
    source = (crd.get("spec") or {}).get("names") if where == "spec" else (crd.get("status") or {}).get("acceptedNames")
    return source if isinstance(source, dict) else {}


def _same_names(a: Obj, b: Obj) -> bool:
    return all((a.get(k) or None) == (b.get(k) or None) for k in _NAME_FIELDS)


def used_names(others: list[Obj]) -> tuple[set[str], set[str]]:
    """The resource names (plural, singular, short names) and kinds (kind, listKind) other CRDs of
    the group have had accepted (getAcceptedNamesForGroup)."""
    resources: set[str] = set()
    kinds: set[str] = set()
    for crd in others:
        accepted = _names(crd, "status")
        resources.update(n for n in (accepted.get("plural"), accepted.get("singular")) if n)
        resources.update(n for n in accepted.get("shortNames") or [] if n)
        kinds.update(n for n in (accepted.get("kind"), accepted.get("listKind")) if n)
    return resources, kinds


def _conflict(requested: Any, accepted: Any, used: set[str]) -> str | None:
    """equalToAcceptedOrFresh."""
    if requested == accepted or requested not in used:
        return None
    return f'"{requested}" is already in use'


def calculate_names(crd: Obj, others: list[Obj]) -> tuple[Obj, Obj, Obj]:
    """(accepted names, NamesAccepted condition, Established condition) for `crd`, given the other
    CRDs of its group."""
    resources, kinds = used_names(others)
    requested, accepted = _names(crd, "spec"), _names(crd, "status")
    new = copy.deepcopy(accepted)
    cond: Obj = {"type": "NamesAccepted", "status": "Unknown"}

    def refuse(reason: str, message: str) -> None:
        cond.update(status="False", reason=reason, message=message)

    for key, reason, used in (("plural", "PluralConflict", resources), ("singular", "SingularConflict", resources)):
        problem = _conflict(requested.get(key, ""), accepted.get(key, ""), used)
        if problem:
            refuse(reason, problem)
        else:
            new[key] = requested.get(key, "")
    short = list(requested.get("shortNames") or [])
    if short != list(accepted.get("shortNames") or []):
        mine = set(accepted.get("shortNames") or [])
        problems = [p for s in short if s not in mine and s not in (accepted.get("plural"), accepted.get("singular"))
                    and (p := _conflict(s, "", resources))]
        if problems:
            refuse("ShortNamesConflict", problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]")
        elif short:
            new["shortNames"] = short
        else:
            new.pop("shortNames", None)
    for key, reason in (("kind", "KindConflict"), ("listKind", "ListKindConflict")):
        problem = _conflict(requested.get(key, ""), accepted.get(key, ""), kinds)
        if problem:
            refuse(reason, problem)
        else:
            new[key] = requested.get(key, "")
    if requested.get("categories"):
        new["categories"] = list(requested["categories"])
    else:
        new.pop("categories", None)
    if cond["status"] == "Unknown":
        cond.update(status="True", reason="NoConflicts", message="no conflicts found")
    established = copy.deepcopy(condition(crd, "Established") or {
        "type": "Established", "status": "False", "reason": "NotAccepted", "message": "not all names are accepted"})
    if established.get("status") != "True" and cond["status"] == "True":
        # The establishing controller's step, taken at once (one process: no other apiserver to wait for).
        established = {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                       "message": "the initial names have been accepted"}
    return _ordered_names(new), cond, established


def _ordered_names(names: Obj) -> Obj:
    order = ("categories", "kind", "listKind", "plural", "shortNames", "singular")
    return {k: names[k] for k in order if k in names} | {k: v for k, v in names.items() if k not in order}


def plan_status(crd: Obj, others: list[Obj], now: str) -> Obj | None:
    """The CRD's new status, or None when it is right as it is."""
    if _same_names(_names(crd, "spec"), _names(crd, "status")) and condition_true(crd, "NamesAccepted") \
            and condition_true(crd, "Established"):
        return None
    accepted, names_cond, established = calculate_names(crd, others)
    new = copy.deepcopy(crd)
    new.setdefault("status", {})["acceptedNames"] = accepted
    set_condition(new, names_cond, now)
    set_condition(new, established, now)
    if new.get("status") == crd.get("status"):
        return None
    return new["status"]


@dataclass(frozen=True)
class TerminationPlan:
    condition: Obj  # the Terminating condition to show
    delete_instances: bool  # delete what custom resources remain
    remove_finalizer: bool  # done: the CRD may go


def plan_termination(crd: Obj, remaining: int) -> TerminationPlan:
    """A CRD being deleted, with `remaining` custom resources still stored."""
    if CLEANUP_FINALIZER not in ((crd.get("metadata") or {}).get("finalizers") or []):
        return TerminationPlan(condition(crd, "Terminating") or {}, False, False)
    if not condition_true(crd, "Established"):
        return TerminationPlan({"type": "Terminating", "status": "False", "reason": "NeverEstablished",
                                "message": "resource was never established"}, False, True)
    if remaining:
        return TerminationPlan({"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
                                "message": "CustomResource deletion is in progress"}, True, False)
    return TerminationPlan({"type": "Terminating", "status": "False", "reason": "InstanceDeletionCompleted",
                            "message": "removed all instances"}, False, True)
