"""Garbage collector plans and the apiserver's finalizers for each propagation policy, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.garbagecollector import (
    Delete,
    DependentView,
    Keep,
    OwnerPlan,
    RemoveRefs,
    plan_deleting_owner,
    plan_dependent,
)
from boxk8s.resources import registry
from boxk8s.resources.status import deletion_finalizers

REFS = [{"uid": "a"}, {"uid": "b"}]


@pytest.mark.parametrize(("states", "finalizers", "expected"), [
    ({"a": "solid", "b": "solid"}, [], Keep()),
    ({"a": "solid", "b": "absent"}, [], RemoveRefs(frozenset({"b"}))),
    ({"a": "solid", "b": "waiting"}, [], RemoveRefs(frozenset({"b"}))),
    ({"a": "absent", "b": "absent"}, [], Delete("Background")),
    ({"a": "absent", "b": "absent"}, ["orphan"], Delete("Orphan")),
    ({"a": "absent", "b": "absent"}, ["foregroundDeletion"], Delete("Foreground")),
    ({"a": "absent", "b": "waiting"}, [], Delete("Foreground")),
    ({"a": "waiting", "b": "waiting"}, [], Delete("Foreground")),
    ({}, [], Keep()),  # unknown owners count as solid
])
def test_plan_dependent(states: dict[str, Any], finalizers: list[str], expected: object) -> None:
    assert plan_dependent(REFS, states, finalizers) == expected


DEPS = [DependentView("p1", blocking=False, deleting=False), DependentView("rs", blocking=True, deleting=False),
        DependentView("p2", blocking=True, deleting=True)]


@pytest.mark.parametrize(("finalizers", "deps", "expected"), [
    (["orphan"], DEPS, OwnerPlan(unlink=("p1", "rs", "p2"), remove_finalizer="orphan")),
    (["orphan"], [], OwnerPlan(remove_finalizer="orphan")),
    (["foregroundDeletion"], DEPS, OwnerPlan(delete=("rs", "p1"))),  # blocking first; p2 is already going
    (["foregroundDeletion"], DEPS[:1], OwnerPlan(delete=("p1",), remove_finalizer="foregroundDeletion")),
    (["foregroundDeletion"], [], OwnerPlan(remove_finalizer="foregroundDeletion")),
    (["example.com/x"], DEPS, OwnerPlan()),
])
def test_plan_deleting_owner(finalizers: list[str], deps: list[DependentView], expected: OwnerPlan) -> None:
    assert plan_deleting_owner(finalizers, deps) == expected


DEPLOY = registry.find("apps", "v1", "deployments")
JOB = registry.find("batch", "v1", "jobs")


@pytest.mark.parametrize(("rt", "finalizers", "options", "expected"), [
    (DEPLOY, [], {}, []),
    (DEPLOY, [], {"propagationPolicy": "Background"}, []),
    (DEPLOY, [], {"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
    (DEPLOY, [], {"propagationPolicy": "Orphan"}, ["orphan"]),
    (DEPLOY, ["x"], {"orphanDependents": True}, ["x", "orphan"]),
    (DEPLOY, ["orphan"], {"orphanDependents": False}, []),
    (DEPLOY, ["orphan"], {"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
    (JOB, [], {}, ["orphan"]),  # batch/v1 Jobs orphan their pods unless told otherwise
    (JOB, ["foregroundDeletion"], {}, ["foregroundDeletion"]),
    (JOB, [], {"propagationPolicy": "Background"}, []),
])
def test_deletion_finalizers(rt: Any, finalizers: list[str], options: dict[str, Any], expected: list[str]) -> None:
    assert deletion_finalizers(rt, finalizers, options) == expected
