"""Table tests for the DefaultStorageClass and Priority admission plugins' decisions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.resources.admission_priority import (
    admit_pod_create,
    admit_pod_update,
    check_delete,
    resolve_priority,
    validate_priority_class,
)
from boxk8s.resources.admission_storageclass import admit_claim_create, default_class

Obj = dict[str, Any]


# ---- DefaultStorageClass ---------------------------------------------------------------------

def sc(name: str, created: str = "2024-01-01T00:00:00Z", default: str | None = "true", beta: bool = False) -> Obj:
    annotations = {}
    if default is not None:
        key = "storageclass.beta.kubernetes.io/is-default-class" if beta else "storageclass.kubernetes.io/is-default-class"
        annotations[key] = default
    return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations}}


@pytest.mark.parametrize(("classes", "expected"), [
    ([], None),
    ([sc("a", default=None), sc("b", default="false")], None),  # only "true" makes a default
    ([sc("standard")], "standard"),
    ([sc("old", beta=True)], "old"),  # the beta annotation counts too
    # several defaults: the newest wins (since 1.26), then the first by name
    ([sc("standard", "2024-01-01T00:00:00Z"), sc("fast", "2024-06-01T00:00:00Z")], "fast"),
    ([sc("zeta", "2024-06-01T00:00:00Z"), sc("alpha", "2024-06-01T00:00:00Z"), sc("mid", "2023-01-01T00:00:00Z")],
     "alpha"),
    ([sc("fast", "2024-06-01T00:00:00Z", default=None), sc("standard")], "standard"),
])
def test_default_class(classes: list[Obj], expected: str | None) -> None:
    found = default_class(classes)
    assert (found["metadata"]["name"] if found else None) == expected


def claim(spec: Obj | None = None, annotations: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"name": "data", "annotations": annotations or {}},
            "spec": {"accessModes": ["ReadWriteOnce"], **(spec or {})}}


@pytest.mark.parametrize(("c", "classes", "expected"), [
    (claim(), [sc("standard")], "standard"),
    (claim(), [], None),  # no default class: the claim keeps none
    (claim({"storageClassName": "fast"}), [sc("standard")], "fast"),
    (claim({"storageClassName": ""}), [sc("standard")], ""),  # "" asks for no class: kept
    # the beta annotation names a class already: left alone
    (claim(annotations={"volume.beta.kubernetes.io/storage-class": "fast"}), [sc("standard")], None),
])
def test_admit_claim(c: Obj, classes: list[Obj], expected: str | None) -> None:
    admit_claim_create(c, classes)
    assert c["spec"].get("storageClassName") == expected


# ---- Priority --------------------------------------------------------------------------------

def pc(name: str, value: int, default: bool = False, policy: str | None = "PreemptLowerPriority") -> Obj:
    out: Obj = {"metadata": {"name": name}, "value": value, "globalDefault": default}
    if policy:
        out["preemptionPolicy"] = policy
    return out


SYSTEM = [pc("system-node-critical", 2000001000), pc("system-cluster-critical", 2000000000)]


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


@pytest.mark.parametrize(("name", "classes", "expected"), [
    ("", SYSTEM, ("", 0, "PreemptLowerPriority")),
    ("system-cluster-critical", SYSTEM, ("system-cluster-critical", 2000000000, "PreemptLowerPriority")),
    ("never", [pc("never", 5, policy="Never")], ("never", 5, "Never")),
    # a globalDefault class applies to pods without one; with several (a race), the lowest value
    ("", [*SYSTEM, pc("batch", 10, default=True)], ("batch", 10, "PreemptLowerPriority")),
    ("", [pc("hi", 100, default=True), pc("lo", -5, default=True, policy="Never")], ("lo", -5, "Never")),
    # a class without a policy (stored before the field was defaulted) leaves the pod's alone
    ("bare", [pc("bare", 7, policy=None)], ("bare", 7, None)),
])
def test_resolve_priority(name: str, classes: list[Obj], expected: tuple[str, int, str | None]) -> None:
    assert resolve_priority(name, classes) == expected


def test_admit_pod_fills_priority() -> None:
    p = pod(priorityClassName="system-node-critical")
    admit_pod_create(p, SYSTEM)
    assert (p["spec"]["priority"], p["spec"]["preemptionPolicy"]) == (2000001000, "PreemptLowerPriority")
    p = pod()
    admit_pod_create(p, SYSTEM)
    assert (p["spec"]["priority"], p["spec"]["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in p["spec"]
    p = pod()
    admit_pod_create(p, [pc("batch", 10, default=True, policy="Never")])
    assert p["spec"] | {"containers": []} == {"containers": [], "priorityClassName": "batch", "priority": 10,
                                              "preemptionPolicy": "Never"}
    # the values the class gives may be repeated
    p = pod(priorityClassName="system-node-critical", priority=2000001000, preemptionPolicy="PreemptLowerPriority")
    admit_pod_create(p, SYSTEM)
    assert p["spec"]["priority"] == 2000001000


@pytest.mark.parametrize(("p", "classes", "message"), [
    (pod(priorityClassName="nope"), SYSTEM, 'pods "web" is forbidden: no PriorityClass with name nope was found'),
    (pod(priority=100), SYSTEM,
     'pods "web" is forbidden: the integer value of priority (100) must not be provided in pod spec; priority '
     "admission controller computed 0 from the given PriorityClass name"),
    (pod(preemptionPolicy="Never"), SYSTEM,
     'pods "web" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; '
     "priority admission controller computed PreemptLowerPriority from the given PriorityClass name"),
    # before a name is generated, the message names the generateName
    ({"metadata": {"generateName": "web-"}, "spec": {"priorityClassName": "nope"}}, [],
     'pods "web-" is forbidden: no PriorityClass with name nope was found'),
])
def test_admit_pod_refuses(p: Obj, classes: list[Obj], message: str) -> None:
    before = copy.deepcopy(p)
    with pytest.raises(errors.Forbidden) as e:
        admit_pod_create(p, classes)
    assert e.value.message == message
    assert e.value.status()["details"]["kind"] == "pods"
    assert p == before


def test_admit_pod_update_keeps_what_create_set() -> None:
    old = pod(priority=7, preemptionPolicy="Never")
    new = pod()
    admit_pod_update(new, old)
    assert (new["spec"]["priority"], new["spec"]["preemptionPolicy"]) == (7, "Never")
    changed = pod(priority=9)
    admit_pod_update(changed, old)
    assert changed["spec"]["priority"] == 9  # left for validation to refuse


@pytest.mark.parametrize(("new", "classes", "creating", "refused_by"), [
    (pc("a", 1, default=True), SYSTEM, True, None),
    (pc("a", 1, default=True), [pc("b", 2, default=True)], True, "b"),
    (pc("a", 1), [pc("b", 2, default=True)], True, None),  # not a default: no conflict
    (pc("b", 3, default=True), [pc("b", 2, default=True)], False, None),  # updating the default itself
    (pc("a", 1, default=True), [pc("a", 1), pc("b", 2, default=True)], False, "b"),
])
def test_validate_priority_class(new: Obj, classes: list[Obj], creating: bool, refused_by: str | None) -> None:
    if refused_by is None:
        validate_priority_class(new, classes, creating)
        return
    with pytest.raises(errors.Forbidden) as e:
        validate_priority_class(new, classes, creating)
    assert e.value.message == (f'priorityclasses.scheduling.k8s.io "{new["metadata"]["name"]}" is forbidden: '
                               f"PriorityClass {refused_by} is already marked as default. Only one default can exist")
    assert e.value.status()["details"] == {"name": new["metadata"]["name"], "group": "scheduling.k8s.io",
                                           "kind": "priorityclasses"}


def test_system_classes_cannot_be_deleted() -> None:
    check_delete(pc("mine", 5))
    with pytest.raises(errors.Forbidden) as e:
        check_delete(SYSTEM[0])
    assert e.value.message == ('priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a '
                               "system priority class and cannot be deleted")
