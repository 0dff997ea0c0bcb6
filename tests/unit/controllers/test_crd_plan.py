"""The CRD controller's decisions: names accepted or refused as the naming controller does, the
Established condition, and the CRD finalizer's steps."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.crd_plan import calculate_names, plan_status, plan_termination
from boxk8s.resources.crd_serving import CLEANUP_FINALIZER

NOW = "2026-01-01T00:00:00Z"


def crd(plural: str, kind: str, *, short: list[str] | None = None, accepted: dict[str, Any] | None = None,
        conditions: list[dict[str, Any]] | None = None, group: str = "example.com") -> dict[str, Any]:
    names: dict[str, Any] = {"plural": plural, "singular": plural[:-1], "kind": kind, "listKind": kind + "List"}
    if short:
        names["shortNames"] = short
    return {"metadata": {"name": f"{plural}.{group}", "resourceVersion": "1"},
            "spec": {"group": group, "names": names},
            "status": {"acceptedNames": accepted or {"kind": "", "plural": ""}, "conditions": conditions or []}}


def accepted(c: dict[str, Any]) -> dict[str, Any]:
    return {**c, "status": {"acceptedNames": c["spec"]["names"]}}


def test_fresh_names_are_accepted_and_the_crd_established() -> None:
    status = plan_status(crd("widgets", "Widget", short=["wd"]), [], NOW)
    assert status is not None
    assert status["acceptedNames"] == {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets",
                                       "shortNames": ["wd"], "singular": "widget"}
    conds = {c["type"]: c for c in status["conditions"]}
    assert (conds["NamesAccepted"]["status"], conds["NamesAccepted"]["reason"], conds["NamesAccepted"]["message"]) == (
        "True", "NoConflicts", "no conflicts found")
    assert (conds["Established"]["status"], conds["Established"]["reason"], conds["Established"]["message"]) == (
        "True", "InitialNamesAccepted", "the initial names have been accepted")
    assert [c["type"] for c in status["conditions"]] == ["NamesAccepted", "Established"]


@pytest.mark.parametrize("new, reason, message", [
    # each conflict in turn sets the reason: the list kind, checked last, is the one shown
    (crd("gadgets", "Widget"), "ListKindConflict", '"WidgetList" is already in use'),
    (crd("gadgets", "Gadget", short=["wd"]), "ShortNamesConflict", '"wd" is already in use'),
    (crd("widgetz", "Gadget", short=["widget"]), "ShortNamesConflict", '"widget" is already in use'),
])
def test_names_another_crd_of_the_group_holds_are_refused(new: dict[str, Any], reason: str, message: str) -> None:
    other = accepted(crd("widgets", "Widget", short=["wd"]))
    names, cond, established = calculate_names(new, [other])
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", reason, message)
    assert established["status"] == "False"


def test_a_kind_alone_in_conflict() -> None:
    new = crd("gadgets", "Widget")
    new["spec"]["names"]["listKind"] = "GadgetList"
    _, cond, _ = calculate_names(new, [accepted(crd("widgets", "Widget"))])
    assert (cond["reason"], cond["message"]) == ("KindConflict", '"Widget" is already in use')


def test_a_refused_name_keeps_what_was_accepted() -> None:
    mine = crd("gadgets", "Gadget", accepted={"plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                                              "listKind": "GadgetList"})
    mine["spec"]["names"]["kind"] = "Widget"
    mine["spec"]["names"]["listKind"] = "GadgetList"
    names, cond, _ = calculate_names(mine, [accepted(crd("widgets", "Widget"))])
    assert names["kind"] == "Gadget" and cond["reason"] == "KindConflict"


def test_nothing_to_write_once_accepted_and_established() -> None:
    done = plan_status(crd("widgets", "Widget"), [], NOW)
    assert done is not None
    again = crd("widgets", "Widget")
    again["status"] = done
    assert plan_status(again, [], NOW) is None


def _terminating(established: bool, finalizers: list[str] | None = None) -> dict[str, Any]:
    c = crd("widgets", "Widget", conditions=[{"type": "Established", "status": "True" if established else "False"}])
    c["metadata"]["finalizers"] = [CLEANUP_FINALIZER] if finalizers is None else finalizers
    c["metadata"]["deletionTimestamp"] = NOW
    return c


def test_instances_are_deleted_before_the_finalizer_goes() -> None:
    plan = plan_termination(_terminating(True), remaining=2)
    assert plan.delete_instances and not plan.remove_finalizer
    assert (plan.condition["status"], plan.condition["reason"]) == ("True", "InstanceDeletionInProgress")
    plan = plan_termination(_terminating(True), remaining=0)
    assert plan.remove_finalizer and not plan.delete_instances
    assert (plan.condition["status"], plan.condition["reason"], plan.condition["message"]) == (
        "False", "InstanceDeletionCompleted", "removed all instances")


def test_a_crd_never_established_goes_at_once() -> None:
    plan = plan_termination(_terminating(False), remaining=0)
    assert plan.remove_finalizer and plan.condition["reason"] == "NeverEstablished"


def test_without_the_cleanup_finalizer_there_is_nothing_to_do() -> None:
    plan = plan_termination(_terminating(True, ["other"]), remaining=3)
    assert not plan.delete_instances and not plan.remove_finalizer
