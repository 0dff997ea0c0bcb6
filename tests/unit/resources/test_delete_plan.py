"""plan_delete as a table: stored object + DeleteOptions → remove now, mark terminating, change
finalizers, or only answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.deletion import DeletePlan, finalized, plan_delete
from boxk8s.resources.registry import ResourceType

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
TERMINATING = "2026-12-03T11:00:00Z"


def rt(group: str, plural: str) -> ResourceType:
    found = registry.find(group, "v1", plural)
    assert found is not None
    return found


PODS, CONFIGMAPS, NAMESPACES, JOBS = rt("", "pods"), rt("", "configmaps"), rt("", "namespaces"), rt("batch", "jobs")


def obj(name: str = "x", *, finalizers: list[str] | None = None, deleting: bool = False,
        spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": "u1", "resourceVersion": "7"}
    if finalizers:
        md["finalizers"] = finalizers
    if deleting:
        md["deletionTimestamp"] = TERMINATING
        md["deletionGracePeriodSeconds"] = 0
    out: dict[str, Any] = {"metadata": md}
    if spec is not None:
        out["spec"] = spec
    if status is not None:
        out["status"] = status
    return out


def with_md(o: dict[str, Any], **md: Any) -> dict[str, Any]:
    """`o` with metadata fields set (None removes one)."""
    new = {**o, "metadata": {**o["metadata"]}}
    for k, v in md.items():
        if v is None:
            new["metadata"].pop(k, None)
        else:
            new["metadata"][k] = v
    return new


RUNNING_POD = obj("p", spec={"nodeName": "n1", "terminationGracePeriodSeconds": 10}, status={"phase": "Running"})
FINALIZED_CM = obj(finalizers=["example.com/keep"])
ORPHANING_CM = obj(finalizers=["orphan"], deleting=True)
NS = obj("team", spec={"finalizers": ["kubernetes"]}, status={"phase": "Active"})
JOB = obj("j")


CASES: list[tuple[str, ResourceType, dict[str, Any], dict[str, Any], bool, DeletePlan]] = [
    ("plain object goes at once", CONFIGMAPS, obj(), {}, False, DeletePlan("remove", obj(), True)),
    ("plain object, dry run", CONFIGMAPS, obj(), {}, True, DeletePlan("answer", obj(), True)),
    ("running pod terminates with its grace period", PODS, RUNNING_POD, {}, False,
     DeletePlan("update", with_md(RUNNING_POD, deletionTimestamp="2026-12-03T12:00:10Z",
                                  deletionGracePeriodSeconds=10), False)),
    ("running pod, grace asked", PODS, RUNNING_POD, {"gracePeriodSeconds": 3}, False,
     DeletePlan("update", with_md(RUNNING_POD, deletionTimestamp="2026-12-03T12:00:03Z",
                                  deletionGracePeriodSeconds=3), False)),
    ("running pod, grace 0 goes at once", PODS, RUNNING_POD, {"gracePeriodSeconds": 0}, False,
     DeletePlan("remove", RUNNING_POD, True)),
    ("running pod, dry run", PODS, RUNNING_POD, {}, True,
     DeletePlan("answer", with_md(RUNNING_POD, deletionTimestamp="2026-12-03T12:00:10Z",
                                  deletionGracePeriodSeconds=10), False)),
    ("unbound pod goes at once", PODS, obj("p", spec={}), {}, False, DeletePlan("remove", obj("p", spec={}), True)),
    ("finished pod goes at once", PODS, obj("p", spec={"nodeName": "n1"}, status={"phase": "Succeeded"}), {}, False,
     DeletePlan("remove", obj("p", spec={"nodeName": "n1"}, status={"phase": "Succeeded"}), True)),
    ("finalizers keep it, terminating now", CONFIGMAPS, FINALIZED_CM, {}, False,
     DeletePlan("update", with_md(FINALIZED_CM, deletionTimestamp="2026-12-03T12:00:00Z",
                                  deletionGracePeriodSeconds=0), False)),
    ("foreground adds its finalizer", CONFIGMAPS, obj(), {"propagationPolicy": "Foreground"}, False,
     DeletePlan("update", with_md(obj(), finalizers=["foregroundDeletion"], deletionTimestamp="2026-12-03T12:00:00Z",
                                  deletionGracePeriodSeconds=0), False)),
    ("background takes away the only finalizer: gone", CONFIGMAPS, obj(finalizers=["orphan"]),
     {"propagationPolicy": "Background"}, False, DeletePlan("remove", obj(finalizers=["orphan"]), True)),
    ("job orphans by default", JOBS, JOB, {}, False,
     DeletePlan("update", with_md(JOB, finalizers=["orphan"], deletionTimestamp="2026-12-03T12:00:00Z",
                                  deletionGracePeriodSeconds=0), False)),
    ("job, background asked", JOBS, JOB, {"orphanDependents": False}, False, DeletePlan("remove", JOB, True)),
    ("already terminating, nothing new", CONFIGMAPS, ORPHANING_CM, {}, False, DeletePlan("answer", ORPHANING_CM, False)),
    ("already terminating, background now: gone", CONFIGMAPS, ORPHANING_CM, {"propagationPolicy": "Background"}, False,
     DeletePlan("remove", ORPHANING_CM, True)),
    ("already terminating, foreground now", CONFIGMAPS, ORPHANING_CM, {"propagationPolicy": "Foreground"}, False,
     DeletePlan("update", with_md(ORPHANING_CM, finalizers=["foregroundDeletion"]), False)),
    ("already terminating, dry run", CONFIGMAPS, ORPHANING_CM, {"propagationPolicy": "Background"}, True,
     DeletePlan("answer", with_md(ORPHANING_CM, finalizers=None), False)),
    ("namespace waits for its content", NAMESPACES, NS, {}, False,
     DeletePlan("update", {**with_md(NS, deletionTimestamp="2026-12-03T12:00:00Z", deletionGracePeriodSeconds=0),
                           "status": {"phase": "Terminating"}}, False)),
]


@pytest.mark.parametrize(("what", "kind", "current", "options", "dry_run", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_plan_delete(what: str, kind: ResourceType, current: dict[str, Any], options: dict[str, Any],
                     dry_run: bool, expected: DeletePlan) -> None:
    before = repr(current)
    assert plan_delete(kind, current, options, dry_run=dry_run, now=NOW) == expected
    assert repr(current) == before  # the plan changes a copy, never the object read


@pytest.mark.parametrize(
    ("kind", "current", "options", "error", "message"),
    [
        (CONFIGMAPS, obj(), {"preconditions": {"uid": "u2"}}, errors.Conflict,
         "Precondition failed: UID in precondition: u2, UID in object meta: u1"),
        (CONFIGMAPS, obj(), {"preconditions": {"resourceVersion": "6"}}, errors.Conflict,
         'Operation cannot be fulfilled on configmaps "x": the object has been modified; '
         "please apply your changes to the latest version and try again"),
        (NAMESPACES, obj("kube-system"), {}, errors.Forbidden,
         'namespaces "kube-system" is forbidden: this namespace may not be deleted'),
    ],
)
def test_plan_delete_refuses(kind: ResourceType, current: dict[str, Any], options: dict[str, Any],
                             error: type[errors.ApiError], message: str) -> None:
    with pytest.raises(error) as caught:
        plan_delete(kind, current, options, dry_run=False, now=NOW)
    assert caught.value.message == message


def graceful(o: dict[str, Any], seconds: int) -> dict[str, Any]:
    return {**o, "metadata": {**o["metadata"], "deletionGracePeriodSeconds": seconds}}


@pytest.mark.parametrize(
    ("kind", "new", "current", "expected"),
    [
        (CONFIGMAPS, obj(), obj(), False),  # not terminating
        (CONFIGMAPS, obj(deleting=True), obj(deleting=True, finalizers=["x"]), True),  # its last finalizer went
        (CONFIGMAPS, obj(deleting=True, finalizers=["orphan"]), obj(deleting=True, finalizers=["orphan"]), False),
        (CONFIGMAPS, obj(deleting=True), obj(), False),  # no delete asked for before this write
        # a pod in its grace period is written as usual (shouldDeleteDuringUpdate)
        (CONFIGMAPS, graceful(obj(deleting=True), 30), graceful(obj(deleting=True), 30), False),
        (CONFIGMAPS, graceful(obj(deleting=True), 0), graceful(obj(deleting=True), 0), True),
        (NAMESPACES, {**obj("team", deleting=True), "spec": {"finalizers": ["kubernetes"]}}, obj("team", deleting=True),
         False),
        (NAMESPACES, {**obj("team", deleting=True), "spec": {"finalizers": []}}, obj("team", deleting=True), True),
    ],
)
def test_finalized(kind: ResourceType, new: dict[str, Any], current: dict[str, Any], expected: bool) -> None:
    assert finalized(kind, new, current) is expected
