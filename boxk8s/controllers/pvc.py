"""The PVC binder: a dynamic provisioner for boxk8s's own StorageClass, so claims become Bound as
they do on kind.

A claim of a StorageClass whose provisioner is boxk8s's (`boxk8s.io/docker-volume`, the class
`standard` made at bootstrap), or of no class at all, gets a PersistentVolume `pvc-<claim uid>`
(claimRef to the claim, the class's name and reclaimPolicy, `pv.kubernetes.io/provisioned-by`);
then the claim gets `spec.volumeName`, the bind annotations and status Bound, and the volume
status Bound. It provisions at once: `standard`'s volumeBindingMode is Immediate, as there is no
scheduler step that picks a node for a claim (WaitForFirstConsumer waits for the scheduler's
`volume.kubernetes.io/selected-node`); a class of ours that asks WaitForFirstConsumer is
provisioned at once all the same. A claim of another provisioner's class stays Pending with
the persistentvolume-controller's ExternalProvisioning event; one whose class does not exist with
its ProvisioningFailed event (both again every resync, as upstream's 15 s). A volume whose claim is
gone is deleted (reclaim policy Delete) or marked Released. The data itself lives in the kubelet's
named Docker volume per claim (kubelet/volumes.py); the PV records where a host-path provisioner
would have put it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.events import NORMAL, WARNING, EventRecorder
from boxk8s.resources import registry

log = logging.getLogger(__name__)

PERSISTENT_VOLUMES = registry.find("", "v1", "persistentvolumes")
STORAGE_CLASSES = registry.find("storage.k8s.io", "v1", "storageclasses")
PROVISIONER = "boxk8s.io/docker-volume"
LEGACY_PROVISIONER = "boxk8s.io/local-path"  # what volumes made before StorageClasses were served say
DEFAULT_CLASS = "standard"
DEFAULT_SIZE = "1Gi"
HOST_ROOT = "/var/lib/boxk8s"
RESYNC_SECONDS = 15.0  # the persistentvolume-controller's --pvclaimbinder-sync-period
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
Obj = dict[str, Any]

# Steps, in the order they must happen.
CREATE_VOLUME = "create-volume"
VOLUME_BOUND = "volume-bound"  # volume status
BIND_CLAIM = "bind-claim"  # spec.volumeName + annotations
CLAIM_BOUND = "claim-bound"  # claim status
CLAIM_LOST = "claim-lost"
EXTERNAL = "external-provisioning"  # another provisioner's class: name it on the claim, say so
CLASS_MISSING = "class-missing"  # the claim's class does not exist
VOLUME_AVAILABLE = "volume-available"
VOLUME_RELEASED = "volume-released"
DELETE_VOLUME = "delete-volume"


def volume_name(claim: Obj) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def _phase(obj: Obj | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "")


def claim_class(claim: Obj) -> str | None:
    """The claim's class name: None when it names none (then we provision, as before classes were
    served), "" when it asks for no class (bound only to a volume made for it)."""
    return (claim.get("spec") or {}).get("storageClassName")


def provisioning(claim: Obj, classes: Mapping[str, Obj]) -> str | None:
    """How a claim without a volume gets one: CREATE_VOLUME (ours to make), EXTERNAL (another
    provisioner's class), CLASS_MISSING, or None (no class: only a volume made for it)."""
    name = claim_class(claim)
    if name is None:
        return CREATE_VOLUME
    if name == "":
        return None
    sc = classes.get(name)
    if sc is None:
        return CLASS_MISSING
    return CREATE_VOLUME if sc.get("provisioner") == PROVISIONER else EXTERNAL


def plan_claim(claim: Obj, volume: Obj | None, classes: Mapping[str, Obj]) -> list[str]:
    """Steps that bind `claim`; `volume` is the PV named by spec.volumeName (or the one we would make)."""
    if claim["metadata"].get("deletionTimestamp"):
        return []
    spec = claim.get("spec") or {}
    bound_name = spec.get("volumeName")
    if volume is None:
        if bound_name and bound_name != volume_name(claim):
            return [CLAIM_LOST] if _phase(claim) == "Bound" else []  # a static volume we do not make
        how = provisioning(claim, classes)
        if how != CREATE_VOLUME:
            return [how] if how and not bound_name else []
        return [CREATE_VOLUME, VOLUME_BOUND, *([] if bound_name else [BIND_CLAIM]), CLAIM_BOUND]
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    if ref.get("uid") and ref["uid"] != claim["metadata"]["uid"]:
        return []  # the volume belongs to another claim
    if not bound_name and ref.get("uid") is None and provisioning(claim, classes) != CREATE_VOLUME:
        return []
    # The volume first, then the claim (pv_controller.go bind: "Volume is saved first"): a claim
    # seen Bound has its volume Bound.
    steps = [VOLUME_BOUND] if _phase(volume) != "Bound" else []
    if not bound_name:
        steps.append(BIND_CLAIM)
    if _phase(claim) != "Bound" or not bound_name:
        steps.append(CLAIM_BOUND)
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


def new_volume(claim: Obj, storage_class: Obj | None) -> Obj:
    """The volume provisioned for a claim: of its class, with the class's reclaim policy."""
    md, spec = claim["metadata"], claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage") or DEFAULT_SIZE
    vspec: Obj = {
        "capacity": {"storage": size},
        "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
        "persistentVolumeReclaimPolicy": (storage_class or {}).get("reclaimPolicy") or "Delete",
        "volumeMode": spec.get("volumeMode") or "Filesystem",
        "hostPath": {"path": f"{HOST_ROOT}/{md['uid']}", "type": "DirectoryOrCreate"},
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": md.get("namespace"),
                     "name": md["name"], "uid": md["uid"], "resourceVersion": md.get("resourceVersion", "")},
    }
    if spec.get("storageClassName"):
        vspec["storageClassName"] = spec["storageClassName"]
    if (storage_class or {}).get("mountOptions"):
        vspec["mountOptions"] = list(storage_class["mountOptions"])  # type: ignore[index]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(claim), "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": vspec,
    }


def claim_binding(volume: Obj) -> Obj:
    """The merge patch that binds a claim to a volume."""
    annotations = {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
    provisioner = (volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by")
    if provisioner in (PROVISIONER, LEGACY_PROVISIONER):
        annotations[STORAGE_PROVISIONER] = provisioner
        annotations[BETA_STORAGE_PROVISIONER] = provisioner
    return {"metadata": {"annotations": annotations}, "spec": {"volumeName": volume["metadata"]["name"]}}


def external_provisioning_message(provisioner: str) -> str:
    """pv_controller.go provisionClaimOperationExternal's event (1.32 wording)."""
    return (f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually "
            "by the system administrator. If volume creation is delayed, please verify that the provisioner is "
            "running and correctly registered.")


def claim_bound_status(volume: Obj) -> Obj:
    vspec = volume.get("spec") or {}
    return {"status": {"phase": "Bound", "accessModes": list(vspec.get("accessModes") or []),
                       "capacity": dict(vspec.get("capacity") or {})}}


class PersistentVolumeBinder(Controller):
    """Keys are `claim:<ns>/<name>` or `volume:<name>`."""

    name = "persistentvolume-binder-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.PVC and PERSISTENT_VOLUMES and STORAGE_CLASSES
        self.claims = factory.informer(Kind.PVC)
        self.volumes = factory.informer(PERSISTENT_VOLUMES)
        self.classes = factory.informer(STORAGE_CLASSES)
        self.claims.add_handler(self._on_claim)
        self.volumes.add_handler(self._on_volume)
        self.classes.add_handler(self._on_class)

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

    def _on_class(self, _type: str, old: Obj | None, new: Obj | None) -> None:
        """A class that appears or changes may be what a pending claim waits for."""
        name = (new or old or {}).get("metadata", {}).get("name")
        for claim in self.claims.list():
            if claim_class(claim) == name and not (claim.get("spec") or {}).get("volumeName"):
                self.queue.add(f"claim:{claim['metadata']['namespace']}/{claim['metadata']['name']}")

    async def reconcile(self, key: str) -> float | None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            return await self._sync_claim(rest)
        if kind == "volume":
            await self._sync_volume(rest)
        return None

    async def _sync_claim(self, key: str) -> float | None:
        claim = self.claims.get(key)
        if claim is None:
            return None
        name = (claim.get("spec") or {}).get("volumeName") or volume_name(claim)
        volume = self.volumes.get(name)
        ns, cname = split_key(key)
        class_name = claim_class(claim) or ""
        storage_class = self.classes.get(class_name) if class_name else None
        for step in plan_claim(claim, volume, self.classes.cache):
            if step == CREATE_VOLUME:
                try:
                    volume = await self.client.create(PERSISTENT_VOLUMES, None, new_volume(claim, storage_class))
                except errors.AlreadyExists:
                    volume = await self.client.get(PERSISTENT_VOLUMES, None, name)
                log.info("persistentvolumeclaim/%s/%s: provisioned %s", ns, cname, name)
                await self.recorder.event(claim, NORMAL, "ProvisioningSucceeded",
                                          f"Successfully provisioned volume {name}")
            elif step == BIND_CLAIM and volume is not None:
                claim = await self.client.patch(Kind.PVC, ns, cname, claim_binding(volume))
            elif step == CLAIM_BOUND and volume is not None:
                claim = await self.client.patch(Kind.PVC, ns, cname, claim_bound_status(volume), "merge", "status")
            elif step == VOLUME_BOUND and volume is not None:
                volume = await self.client.patch(PERSISTENT_VOLUMES, None, volume["metadata"]["name"],
                                                 {"status": {"phase": "Bound"}}, "merge", "status")
            elif step == CLAIM_LOST:
                await self.client.patch(Kind.PVC, ns, cname, {"status": {"phase": "Lost"}}, "merge", "status")
            elif step == EXTERNAL and storage_class is not None:
                await self._wait_for_external(claim, ns, cname, str(storage_class.get("provisioner") or ""))
                return RESYNC_SECONDS
            elif step == CLASS_MISSING:
                await self.recorder.event(claim, WARNING, "ProvisioningFailed",
                                          f'storageclass.storage.k8s.io "{class_name}" not found')
                return RESYNC_SECONDS
        return None

    async def _wait_for_external(self, claim: Obj, ns: str | None, name: str, provisioner: str) -> None:
        """setClaimProvisioner, then the ExternalProvisioning event (provisionClaimOperationExternal)."""
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(STORAGE_PROVISIONER) != provisioner:
            claim = await self.client.patch(Kind.PVC, ns, name, {"metadata": {"annotations": {
                STORAGE_PROVISIONER: provisioner, BETA_STORAGE_PROVISIONER: provisioner}}})
        await self.recorder.event(claim, NORMAL, "ExternalProvisioning", external_provisioning_message(provisioner))

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
