"""Table tests for the PVC binder's plans and the objects it writes."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.pvc import (
    BIND_CLAIM,
    CLAIM_BOUND,
    CLAIM_LOST,
    CLASS_MISSING,
    CREATE_VOLUME,
    DELETE_VOLUME,
    EXTERNAL,
    PROVISIONER,
    VOLUME_AVAILABLE,
    VOLUME_BOUND,
    VOLUME_RELEASED,
    claim_binding,
    claim_bound_status,
    external_provisioning_message,
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
    return {"metadata": {"name": "pvc-u1", "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": spec, "status": {"phase": phase}}


def storage_class(name: str, provisioner: str = PROVISIONER, reclaim: str = "Delete") -> dict[str, Any]:
    return {"metadata": {"name": name}, "provisioner": provisioner, "reclaimPolicy": reclaim}


CLASSES = {sc["metadata"]["name"]: sc for sc in (
    storage_class("standard"), storage_class("keep", reclaim="Retain"), storage_class("ebs", "ebs.csi.aws.com"))}


@pytest.mark.parametrize(("c", "v", "expected"), [
    # no class (no default class made one), or a class whose provisioner is ours: provision
    (claim(), None, [CREATE_VOLUME, VOLUME_BOUND, BIND_CLAIM, CLAIM_BOUND]),
    (claim("standard"), None, [CREATE_VOLUME, VOLUME_BOUND, BIND_CLAIM, CLAIM_BOUND]),
    (claim("keep"), None, [CREATE_VOLUME, VOLUME_BOUND, BIND_CLAIM, CLAIM_BOUND]),
    # another provisioner's class: Pending, waiting for it; a class that does not exist: Pending
    (claim("ebs"), None, [EXTERNAL]),
    (claim("local-path"), None, [CLASS_MISSING]),
    # "" asks for no class: only a volume made for it
    (claim(""), None, []),
    # partly done: resume where it stopped (the volume is Bound first, as upstream's bind)
    (claim(), volume("Pending"), [VOLUME_BOUND, BIND_CLAIM, CLAIM_BOUND]),
    (claim(volume="pvc-u1"), volume("Pending"), [VOLUME_BOUND, CLAIM_BOUND]),
    (claim(volume="pvc-u1"), volume("Bound"), [CLAIM_BOUND]),
    (claim(volume="pvc-u1", phase="Bound"), volume(), []),
    # our volume vanished before binding finished: make it again
    (claim(volume="pvc-u1"), None, [CREATE_VOLUME, VOLUME_BOUND, CLAIM_BOUND]),
    # a static volume named by the claim and gone
    (claim(volume="pv-static", phase="Bound"), None, [CLAIM_LOST]),
    (claim(volume="pv-static"), None, []),
    # a volume bound to another claim of the same name
    (claim(volume="pvc-u1"), volume(uid="other"), []),
    (claim(deleting=True), None, []),
    (claim("ebs", deleting=True), None, []),
])
def test_plan_claim(c: dict[str, Any], v: dict[str, Any] | None, expected: list[str]) -> None:
    assert plan_claim(c, v, CLASSES) == expected


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
    pv = new_volume(claim("standard"), CLASSES["standard"])
    assert pv["metadata"]["name"] == "pvc-u1"
    assert pv["metadata"]["annotations"] == {"pv.kubernetes.io/provisioned-by": "boxk8s.io/docker-volume"}
    assert pv["spec"]["capacity"] == {"storage": "2Gi"} and pv["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pv["spec"]["hostPath"]["path"] == "/var/lib/boxk8s/u1"
    assert pv["spec"]["storageClassName"] == "standard"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "default",
                                      "name": "data", "uid": "u1", "resourceVersion": "7"}
    # the class's reclaim policy; a claim of no class gets a volume of no class, deleted with it
    assert new_volume(claim("keep"), CLASSES["keep"])["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    unclassed = new_volume(claim(), None)
    assert "storageClassName" not in unclassed["spec"]
    assert unclassed["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    patch = claim_binding(pv)
    assert patch["spec"] == {"volumeName": "pvc-u1"}
    assert patch["metadata"]["annotations"] == {
        "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.kubernetes.io/storage-provisioner": "boxk8s.io/docker-volume",
        "volume.beta.kubernetes.io/storage-provisioner": "boxk8s.io/docker-volume"}
    assert claim_bound_status(pv) == {"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                                 "capacity": {"storage": "2Gi"}}}
    assert external_provisioning_message("ebs.csi.aws.com") == (
        "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by "
        "the system administrator. If volume creation is delayed, please verify that the provisioner is running "
        "and correctly registered.")
