"""The StatefulSet controller: stable names, ordered start and stop, a claim per ordinal, rolling updates.

Each reconcile reads the set, its pods and its ControllerRevisions from the informer caches,
makes sure the update revision is stored, asks `plan_statefulset` what to do next, does it,
and writes the status. Claims made from volumeClaimTemplates (`<template>-<set>-<ordinal>`) are
never deleted here: a pod that comes back at the same ordinal finds its data again.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.podutil import is_pod_available, is_pod_ready, seconds_until_available
from boxk8s.controllers.revision import (
    CONTROLLER_REVISIONS,
    REVISION_HASH_LABEL,
    RevisionStore,
    is_owned_by,
    is_terminating,
    new_revision,
    next_revision_number,
    owner_reference,
    phase,
    plan_history_cleanup,
    template_of,
)
from boxk8s.controllers.statefulset_plan import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    Create,
    Delete,
    PodView,
    SetView,
    claim_name,
    ordinal_of,
    plan_statefulset,
    plan_status,
)
from boxk8s.events import NORMAL, WARNING, EventRecorder

log = logging.getLogger(__name__)

KIND = "StatefulSet"
Obj = dict[str, Any]


# --- pure builders -------------------------------------------------------------------------------

def new_pod(sts: Obj, template: Obj, ordinal: int, revision: str) -> Obj:
    """newVersionedStatefulSetPod: the template plus identity (name, hostname, subdomain) and storage."""
    md, spec = sts["metadata"], sts.get("spec") or {}
    name = f"{md['name']}-{ordinal}"
    tmpl = copy.deepcopy(template)
    tmd = tmpl.get("metadata") or {}
    pod_spec = tmpl.get("spec") or {}
    labels = {**(tmd.get("labels") or {}), POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
              REVISION_HASH_LABEL: revision}
    pod_spec["hostname"] = name
    if spec.get("serviceName"):
        pod_spec["subdomain"] = spec["serviceName"]
    claims = {c["metadata"]["name"]: claim_name(c["metadata"]["name"], md["name"], ordinal)
              for c in spec.get("volumeClaimTemplates") or []}
    if claims:
        volumes = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
        volumes += [{"name": t, "persistentVolumeClaim": {"claimName": c}} for t, c in claims.items()]
        pod_spec["volumes"] = volumes
    pod_md: Obj = {"name": name, "namespace": md.get("namespace"), "labels": labels,
                   "ownerReferences": [owner_reference(sts, KIND)]}
    if tmd.get("annotations"):
        pod_md["annotations"] = dict(tmd["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_md, "spec": pod_spec}


def new_claims(sts: Obj, ordinal: int) -> list[Obj]:
    """getPersistentVolumeClaims: one claim per template, labelled with the set's selector."""
    md, spec = sts["metadata"], sts.get("spec") or {}
    match = ((spec.get("selector") or {}).get("matchLabels")) or {}
    out = []
    for tmpl in spec.get("volumeClaimTemplates") or []:
        claim = {k: copy.deepcopy(v) for k, v in tmpl.items() if k != "status"}
        cmd = dict(claim.get("metadata") or {})
        cmd.update({"name": claim_name(cmd.get("name", ""), md["name"], ordinal), "namespace": md.get("namespace"),
                    "labels": {**(cmd.get("labels") or {}), **match}})
        claim.update({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": cmd})
        out.append(claim)
    return out


def pod_view(pod: Obj, ordinal: int, min_ready_seconds: int, now: datetime) -> PodView:
    ready = phase(pod) == "Running" and is_pod_ready(pod)
    return PodView(
        ordinal=ordinal,
        revision=((pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL, "")),
        terminating=is_terminating(pod),
        ready=ready,
        available=ready and is_pod_available(pod, min_ready_seconds, now),
        failed=phase(pod) in ("Failed", "Succeeded"),
    )


# --- controller ----------------------------------------------------------------------------------

class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.STATEFULSET and Kind.POD and Kind.PVC and CONTROLLER_REVISIONS
        self.sets = factory.informer(Kind.STATEFULSET)
        self.pods = factory.informer(Kind.POD)
        self.claims = factory.informer(Kind.PVC)
        self.revisions = factory.informer(CONTROLLER_REVISIONS)
        self.history = RevisionStore(client)
        self.sets.add_handler(lambda _t, old, new: self.enqueue(new or old))
        self.pods.add_handler(self._on_owned)
        self.revisions.add_handler(self._on_owned)

    def _on_owned(self, _type: str, old: Obj | None, new: Obj | None) -> None:
        self.enqueue_owner(new, KIND)
        self.enqueue_owner(old, KIND)

    def _owned(self, objs: list[Obj], namespace: str | None, uid: str) -> list[Obj]:
        return [o for o in objs if o["metadata"].get("namespace") == namespace and is_owned_by(o, uid)]

    async def reconcile(self, key: str) -> float | None:
        sts = self.sets.get(key)
        if sts is None or is_terminating(sts):
            return None
        ns, name = split_key(key)
        md, spec, status = sts["metadata"], sts.get("spec") or {}, sts.get("status") or {}
        revisions = self._owned(self.revisions.list(), ns, md["uid"])
        template = spec.get("template") or {}
        update, collisions = await self.history.ensure_update_revision(
            sts, revisions, lambda n: new_revision(sts, KIND, template, next_revision_number(revisions), n))
        by_name = {r["metadata"]["name"]: r for r in revisions}
        by_name[update["metadata"]["name"]] = update
        current_name = status.get("currentRevision")
        current = by_name.get(current_name or "") or update

        strategy = spec.get("updateStrategy") or {}
        s = SetView(
            replicas=int(spec.get("replicas", 1)),
            update_revision=update["metadata"]["name"],
            current_revision=current["metadata"]["name"],
            ordered=spec.get("podManagementPolicy", "OrderedReady") != "Parallel",
            rolling=strategy.get("type", "RollingUpdate") == "RollingUpdate",
            partition=int((strategy.get("rollingUpdate") or {}).get("partition") or 0),
        )
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = datetime.now(UTC)
        pods: dict[int, Obj] = {}
        for p in self._owned(self.pods.list(), ns, md["uid"]):
            ordinal = ordinal_of(name, p["metadata"]["name"])
            if ordinal is not None:
                pods[ordinal] = p
        views = {o: pod_view(p, o, min_ready, now) for o, p in pods.items()}

        for action in plan_statefulset(s, views):
            if isinstance(action, Create):
                await self._create(sts, action, by_name.get(action.revision) or update)
            elif isinstance(action, Delete):
                await self._delete(sts, pods[action.ordinal])

        new_status = plan_status(views.values(), s)
        await self._write_status(sts, new_status, collisions)
        live = {new_status["currentRevision"], new_status["updateRevision"]} | {v.revision for v in views.values()}
        stale = plan_history_cleanup(revisions, live, int(spec.get("revisionHistoryLimit", 10)))
        await self.history.delete(ns or "default", stale)
        waits = [w for p in pods.values() if (w := seconds_until_available(p, min_ready, now)) is not None]
        return min(waits) if waits else None

    async def _create(self, sts: Obj, action: Create, revision: Obj) -> None:
        ns = sts["metadata"].get("namespace")
        set_name = sts["metadata"]["name"]
        pod = new_pod(sts, template_of(revision), action.ordinal, revision["metadata"]["name"])
        pod_name = pod["metadata"]["name"]
        for claim in new_claims(sts, action.ordinal):
            cname = claim["metadata"]["name"]
            if self.claims.get(f"{ns}/{cname}") is not None:
                continue
            try:
                await self.client.create(Kind.PVC, ns, claim)
            except errors.AlreadyExists:
                continue
            except errors.ApiError as e:
                await self.recorder.event(sts, WARNING, "FailedCreate",
                                          f"create Claim {cname} for Pod {pod_name} in StatefulSet {set_name} "
                                          f"failed error: {e.message}")
                raise
            await self.recorder.event(sts, NORMAL, "SuccessfulCreate",
                                      f"create Claim {cname} Pod {pod_name} in StatefulSet {set_name} success")
        try:
            await self.client.create(Kind.POD, ns, pod)
        except errors.AlreadyExists:
            return  # made by an earlier pass the cache has not caught up with, or still terminating
        except errors.ApiError as e:
            await self.recorder.event(sts, WARNING, "FailedCreate",
                                      f"create Pod {pod_name} in StatefulSet {set_name} failed error: {e.message}")
            raise
        log.info("statefulset/%s/%s: created pod %s", ns, set_name, pod_name)
        await self.recorder.event(sts, NORMAL, "SuccessfulCreate",
                                  f"create Pod {pod_name} in StatefulSet {set_name} successful")

    async def _delete(self, sts: Obj, pod: Obj) -> None:
        ns, set_name, pod_name = sts["metadata"].get("namespace"), sts["metadata"]["name"], pod["metadata"]["name"]
        try:
            await self.client.delete(Kind.POD, ns, pod_name, {"preconditions": {"uid": pod["metadata"]["uid"]}})
        except (errors.NotFound, errors.Conflict):
            return  # already gone (or replaced)
        except errors.ApiError as e:
            await self.recorder.event(sts, WARNING, "FailedDelete",
                                      f"delete Pod {pod_name} in StatefulSet {set_name} failed error: {e.message}")
            raise
        log.info("statefulset/%s/%s: deleted pod %s", ns, set_name, pod_name)
        await self.recorder.event(sts, NORMAL, "SuccessfulDelete",
                                  f"delete Pod {pod_name} in StatefulSet {set_name} successful")

    async def _write_status(self, sts: Obj, counts: dict[str, Any], collisions: int) -> None:
        status = {**counts, "observedGeneration": sts["metadata"].get("generation", 1), "collisionCount": collisions}
        await self.write_status(Kind.STATEFULSET, sts, status)
