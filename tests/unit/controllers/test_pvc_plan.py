"""Table tests for the PVC binder's plans and the objects it writes."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.pvc import (
    BIND_CLAIM,
    CLAIM_BOUND,
    CLAIM_LOST,
    CREATE_VOLUME,
    DELETE_VOLUME,
    VOLUME_AVAILABLE,
    VOLUME_BOUND,
    VOLUME_RELEASED,
    claim_binding,
    claim_bound_status,
    new_volume,
    plan_claim,
    plan_volume,
)


def claim(cls: str | None = None, volume: str | None = None, phase: str = "Pending", uid: str = "u1",
          deleting: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if volume:
        spec["volumeName"] = volume
    md: dict[str, Any] = {"name": "data", "namespace": "default", "uid": uid, "resourceVersion": "7"}
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": md, "spec": spec, "status": {"phase": phase}}


def volume(phase: str = "Bound", uid: str | None = "u1", policy: str = "Delete") -> dict[str, Any]:
    spec: dict[str, Any] = {"persistentVolumeReclaimPolicy": policy, "accessModes": ["ReadWriteOnce"],
                            "capacity": {"storage": "2Gi"}, "storageClassName": "standard"}
    if uid is not None:
        spec["claimRef"] = {"namespace": "default", "name": "data", "uid": uid}
    return {"metadata": {"name": "pvc-u1", "annotations": {"pv.kubernetes.io/provisioned-by": "boxk8s.io/local-path"}},
            "spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(("c", "v", "expected"), [
    (claim(), None, [CREATE_VOLUME, BIND_CLAIM, CLAIM_BOUND, VOLUME_BOUND]),
    (claim("standard"), None, [CREATE_VOLUME, BIND_CLAIM, CLAIM_BOUND, VOLUME_BOUND]),
    (claim("local-path"), None, [CREATE_VOLUME, BIND_CLAIM, CLAIM_BOUND, VOLUME_BOUND]),
    # classes we do not provision stay Pending (as with no provisioner for them)
    (claim("fast-ssd"), None, []),
    (claim(""), None, []),
    # partly done: resume where it stopped
    (claim(), volume("Pending"), [BIND_CLAIM, CLAIM_BOUND, VOLUME_BOUND]),
    (claim(volume="pvc-u1"), volume("Pending"), [CLAIM_BOUND, VOLUME_BOUND]),
    (claim(volume="pvc-u1"), volume("Bound"), [CLAIM_BOUND]),
    (claim(volume="pvc-u1", phase="Bound"), volume(), []),
    # our volume vanished before binding finished: make it again
    (claim(volume="pvc-u1"), None, [CREATE_VOLUME, CLAIM_BOUND, VOLUME_BOUND]),
    # a static volume named by the claim and gone
    (claim(volume="pv-static", phase="Bound"), None, [CLAIM_LOST]),
    (claim(volume="pv-static"), None, []),
    # a volume bound to another claim of the same name
    (claim(volume="pvc-u1"), volume(uid="other"), []),
    (claim(deleting=True), None, []),
])
def test_plan_claim(c: dict[str, Any], v: dict[str, Any] | None, expected: list[str]) -> None:
    assert plan_claim(c, v) == expected


@pytest.mark.parametrize(("v", "c", "expected"), [
    (volume(), claim(volume="pvc-u1", phase="Bound"), []),
    (volume(), None, [DELETE_VOLUME]),
    (volume(), claim(uid="u2"), [DELETE_VOLUME]),  # the claim was recreated: this volume is not its
    (volume(policy="Retain"), None, [VOLUME_RELEASED]),
    (volume("Released", policy="Retain"), None, []),
    (volume("Pending", uid=None), None, [VOLUME_AVAILABLE]),
    (volume("Available", uid=None), None, []),
])
def test_plan_volume(v: dict[str, Any], c: dict[str, Any] | None, expected: list[str]) -> None:
    assert plan_volume(v, c) == expected


def test_objects() -> None:
    pv = new_volume(claim())
    assert pv["metadata"]["name"] == "pvc-u1"
    assert pv["spec"]["capacity"] == {"storage": "2Gi"} and pv["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pv["spec"]["hostPath"]["path"] == "/var/lib/boxk8s/u1"
    assert pv["spec"]["storageClassName"] == "standard"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "default",
                                      "name": "data", "uid": "u1", "resourceVersion": "7"}
    patch = claim_binding(claim(), pv)
    assert patch["spec"] == {"volumeName": "pvc-u1", "storageClassName": "standard"}
    assert patch["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert claim_binding(claim("local-path"), pv)["spec"] == {"volumeName": "pvc-u1"}
    assert claim_bound_status(pv) == {"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                                 "capacity": {"storage": "2Gi"}}}
