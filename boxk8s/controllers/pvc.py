"""The PVC binder: a local-path style provisioner, so claims become Bound as they do on kind.

A claim whose storageClassName is unset, "standard" or "local-path" gets a PersistentVolume
`pvc-<claim uid>` (a hostPath under /var/lib/boxk8s, claimRef to the claim); then the claim gets
`spec.volumeName`, the bind annotations and status Bound, and the volume status Bound. An unset
class becomes "standard", as kind's default StorageClass would make it (storage.k8s.io is not
served, so there is no StorageClass object). A volume whose claim is gone is deleted (reclaim
policy Delete) or marked Released. The data itself lives in the kubelet's named volume per claim
(kubelet/volumes.py); the PV records where a real local-path provisioner would have put it.
"""

from __future__ import annotations

import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.events import NORMAL, EventRecorder
from boxk8s.resources import registry

log = logging.getLogger(__name__)

PERSISTENT_VOLUMES = registry.find("", "v1", "persistentvolumes")
PROVISIONER = "boxk8s.io/local-path"
DEFAULT_CLASS = "standard"
PROVISIONED_CLASSES = (None, DEFAULT_CLASS, "local-path")
DEFAULT_SIZE = "1Gi"
HOST_ROOT = "/var/lib/boxk8s"
Obj = dict[str, Any]

# Steps, in the order they must happen.
CREATE_VOLUME = "create-volume"
BIND_CLAIM = "bind-claim"  # spec.volumeName + annotations
CLAIM_BOUND = "claim-bound"  # claim status
VOLUME_BOUND = "volume-bound"  # volume status
CLAIM_LOST = "claim-lost"
VOLUME_AVAILABLE = "volume-available"
VOLUME_RELEASED = "volume-released"
DELETE_VOLUME = "delete-volume"


def volume_name(claim: Obj) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def _phase(obj: Obj | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "")


def provisionable(claim: Obj) -> bool:
    return (claim.get("spec") or {}).get("storageClassName") in PROVISIONED_CLASSES


def plan_claim(claim: Obj, volume: Obj | None) -> list[str]:
    """Steps that bind `claim`; `volume` is the PV named by spec.volumeName (or the one we would make)."""
    if claim["metadata"].get("deletionTimestamp"):
        return []
    spec = claim.get("spec") or {}
    bound_name = spec.get("volumeName")
    if volume is None:
        if bound_name and bound_name != volume_name(claim):
            return [CLAIM_LOST] if _phase(claim) == "Bound" else []  # a static volume we do not make
        if not provisionable(claim):
            return []
        return [CREATE_VOLUME, *([] if bound_name else [BIND_CLAIM]), CLAIM_BOUND, VOLUME_BOUND]
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    if ref.get("uid") and ref["uid"] != claim["metadata"]["uid"]:
        return []  # the volume belongs to another claim
    if not bound_name and ref.get("uid") is None and not provisionable(claim):
        return []
    steps = [] if bound_name else [BIND_CLAIM]
    if _phase(claim) != "Bound" or not bound_name:
        steps.append(CLAIM_BOUND)
    if _phase(volume) != "Bound":
        steps.append(VOLUME_BOUND)
    return steps


def plan_volume(volume: Obj, claim: Obj | None) -> list[str]:
    """Steps for a volume given the claim its claimRef names (None if that claim is gone)."""
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef")
    if not ref:
        return [VOLUME_AVAILABLE] if _phase(volume) in ("", "Pending") else []
    if claim is not None and (not ref.get("uid") or ref["uid"] == claim["metadata"]["uid"]):
        return []
    if spec.get("persistentVolumeReclaimPolicy") == "Delete":
        return [DELETE_VOLUME]
    return [] if _phase(volume) in ("Released", "Failed") else [VOLUME_RELEASED]


def new_volume(claim: Obj) -> Obj:
    md, spec = claim["metadata"], claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage") or DEFAULT_SIZE
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(claim), "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec.get("storageClassName") or DEFAULT_CLASS,
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "hostPath": {"path": f"{HOST_ROOT}/{md['uid']}", "type": "DirectoryOrCreate"},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": md.get("namespace"),
                         "name": md["name"], "uid": md["uid"], "resourceVersion": md.get("resourceVersion", "")},
        },
    }


def claim_binding(claim: Obj, volume: Obj) -> Obj:
    """The merge patch that binds a claim to a volume."""
    spec: Obj = {"volumeName": volume["metadata"]["name"]}
    if not (claim.get("spec") or {}).get("storageClassName"):
        spec["storageClassName"] = (volume.get("spec") or {}).get("storageClassName") or DEFAULT_CLASS
    annotations = {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
    if (volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER:
        annotations["volume.kubernetes.io/storage-provisioner"] = PROVISIONER
        annotations["volume.beta.kubernetes.io/storage-provisioner"] = PROVISIONER
    return {"metadata": {"annotations": annotations}, "spec": spec}


def claim_bound_status(volume: Obj) -> Obj:
    vspec = volume.get("spec") or {}
    return {"status": {"phase": "Bound", "accessModes": list(vspec.get("accessModes") or []),
                       "capacity": dict(vspec.get("capacity") or {})}}


class PersistentVolumeBinder(Controller):
    """Keys are `claim:<ns>/<name>` or `volume:<name>`."""

    name = "persistentvolume-binder-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.PVC and PERSISTENT_VOLUMES
        self.claims = factory.informer(Kind.PVC)
        self.volumes = factory.informer(PERSISTENT_VOLUMES)
        self.claims.add_handler(self._on_claim)
        self.volumes.add_handler(self._on_volume)

    def _on_claim(self, _type: str, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        if obj is None:
            return
        md = obj["metadata"]
        self.queue.add(f"claim:{md['namespace']}/{md['name']}")
        for o in (old, new):
            if o is not None:
                self.queue.add(f"volume:{(o.get('spec') or {}).get('volumeName') or volume_name(o)}")

    def _on_volume(self, _type: str, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        if obj is None:
            return
        self.queue.add(f"volume:{obj['metadata']['name']}")
        ref = (obj.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.queue.add(f"claim:{ref.get('namespace', 'default')}/{ref['name']}")

    async def reconcile(self, key: str) -> float | None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            await self._sync_claim(rest)
        elif kind == "volume":
            await self._sync_volume(rest)
        return None

    async def _sync_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        name = (claim.get("spec") or {}).get("volumeName") or volume_name(claim)
        volume = self.volumes.get(name)
        ns, cname = split_key(key)
        for step in plan_claim(claim, volume):
            if step == CREATE_VOLUME:
                try:
                    volume = await self.client.create(PERSISTENT_VOLUMES, None, new_volume(claim))
                except errors.AlreadyExists:
                    volume = await self.client.get(PERSISTENT_VOLUMES, None, name)
                log.info("persistentvolumeclaim/%s/%s: provisioned %s", ns, cname, name)
                await self.recorder.event(claim, NORMAL, "ProvisioningSucceeded",
                                          f"Successfully provisioned volume {name}")
            elif step == BIND_CLAIM and volume is not None:
                claim = await self.client.patch(Kind.PVC, ns, cname, claim_binding(claim, volume))
            elif step == CLAIM_BOUND and volume is not None:
                claim = await self.client.patch(Kind.PVC, ns, cname, claim_bound_status(volume), "merge", "status")
            elif step == VOLUME_BOUND and volume is not None:
                volume = await self.client.patch(PERSISTENT_VOLUMES, None, volume["metadata"]["name"],
                                                 {"status": {"phase": "Bound"}}, "merge", "status")
            elif step == CLAIM_LOST:
                await self.client.patch(Kind.PVC, ns, cname, {"status": {"phase": "Lost"}}, "merge", "status")

    async def _sync_volume(self, name: str) -> None:
        volume = self.volumes.get(name)
        if volume is None:
            return
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        claim = self.claims.get(f"{ref.get('namespace', 'default')}/{ref.get('name', '')}") if ref else None
        steps = plan_volume(volume, claim)
        if steps and ref and claim is None:
            try:  # the cache only lags: make sure the claim is really gone before letting the volume go
                claim = await self.client.get(Kind.PVC, ref.get("namespace"), ref.get("name", ""))
                steps = plan_volume(volume, claim)
            except errors.NotFound:
                pass
        for step in steps:
            if step == DELETE_VOLUME:
                try:
                    await self.client.delete(PERSISTENT_VOLUMES, None, name)
                except errors.NotFound:
                    pass
                log.info("persistentvolume/%s: claim gone, deleted", name)
            elif step in (VOLUME_RELEASED, VOLUME_AVAILABLE):
                phase = "Released" if step == VOLUME_RELEASED else "Available"
                await self.client.patch(PERSISTENT_VOLUMES, None, name, {"status": {"phase": phase}}, "merge", "status")
