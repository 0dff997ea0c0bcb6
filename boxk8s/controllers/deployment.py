"""The Deployment controller: ReplicaSets per pod template, rolled out RollingUpdate or Recreate.

A thin executor over deployment_plan (what to scale, create, delete) and deployment_status
(status and conditions), in upstream's order: claim ReplicaSets, paused conditions, then
sync (paused or scaling) or a rollout step, then the status.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers import deployment_plan as plan
from boxk8s.controllers import deployment_status as dstatus
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.podutil import get_controller_of, now_utc
from boxk8s.controllers.refmanager import ControllerRefManager
from boxk8s.controllers.replicaset_plan import matching_owners
from boxk8s.events import NORMAL, WARNING, EventRecorder

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class DeploymentController(Controller):
    name = "deployment-controller"
    workers = 4

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        self.deployments = factory.informer(Kind.DEPLOYMENT)
        self.refs = ControllerRefManager(client, Kind.DEPLOYMENT, Kind.REPLICASET)
        self.replicasets = factory.informer(Kind.REPLICASET)
        self.pods = factory.informer(Kind.POD)
        self.deployments.add_handler(lambda _k, old, new: self.enqueue(new or old))
        self.replicasets.add_handler(self._on_replicaset)
        self.pods.add_handler(self._on_pod)

    # ---- event handlers ----------------------------------------------------------------------
    def _deployment_key_of(self, rs: Obj) -> str | None:
        ref = get_controller_of(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        key = f"{rs['metadata']['namespace']}/{ref['name']}"
        d = self.deployments.get(key)
        return key if d is not None and d["metadata"].get("uid") == ref.get("uid") else None

    def _on_replicaset(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        for rs in (old, new):
            if rs is None:
                continue
            key = self._deployment_key_of(rs)
            if key is not None:
                self.queue.add(key)
            elif get_controller_of(rs) is None:
                for d in matching_owners(rs, self.deployments.list()):
                    self.enqueue(d)

    def _on_pod(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        # Recreate waits for the old pods to be gone: look again when one goes.
        if kind != "DELETED" or old is None:
            return
        ref = get_controller_of(old)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.get(f"{old['metadata']['namespace']}/{ref['name']}")
        if rs is not None:
            key = self._deployment_key_of(rs)
            if key is not None:
                self.queue.add(key)

    # ---- reconcile ----------------------------------------------------------------------------
    async def reconcile(self, key: str) -> float | None:
        cached = self.deployments.get(key)
        if cached is None:
            return None
        d = copy.deepcopy(cached)
        namespace, _ = split_key(key)
        selector = d["spec"].get("selector")
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            await self.recorder.event(d, WARNING, "SelectingAll",
                                      "This deployment is selecting all pods. A non-empty selector is required.")
            if (d.get("status") or {}).get("observedGeneration") != d["metadata"].get("generation"):
                d.setdefault("status", {})["observedGeneration"] = d["metadata"].get("generation")
                await self.client.update_status(Kind.DEPLOYMENT, d)
            return None
        rss = await self.refs.claim(d, [rs for rs in self.replicasets.list()
                                    if rs["metadata"].get("namespace") == namespace])
        run = _Sync(self, d, rss)
        if d["metadata"].get("deletionTimestamp"):
            return await run.status_only()
        await run.paused_conditions()
        if d["spec"].get("paused"):
            return await run.sync()
        new_rs, old_rss = run.split()
        if plan.is_scaling_event(d, new_rs, old_rss):
            return await run.sync()
        if plan.is_rolling(d):
            return await run.rolling()
        return await run.recreate()


class _Sync:
    """One pass over one Deployment; keeps the latest written copies of the objects it changes."""

    def __init__(self, ctl: DeploymentController, d: Obj, rss: list[Obj]) -> None:
        self.ctl = ctl
        self.client = ctl.client
        self.d = d
        self.rss = list(rss)

    def split(self) -> tuple[Obj | None, list[Obj]]:
        new_rs = plan.find_new_rs(self.d, self.rss)
        return new_rs, [rs for rs in self.rss if rs is not new_rs]

    # ---- writes ----------------------------------------------------------------------------
    async def _write_status(self, status: Obj) -> None:
        if status == (self.d.get("status") or {}):
            return
        self.d = await self.client.update_status(Kind.DEPLOYMENT, {**self.d, "status": status})

    async def _set_revision(self, rev: str) -> None:
        """SetDeploymentRevision: the Deployment carries its newest ReplicaSet's revision."""
        annotations = self.d["metadata"].get("annotations") or {}
        if annotations.get(plan.REVISION) == rev:
            return
        body = copy.deepcopy(self.d)
        body["metadata"]["annotations"] = {**annotations, plan.REVISION: rev}
        self.d = await self.client.update(Kind.DEPLOYMENT, body)

    def _replace(self, rs: Obj) -> Obj:
        self.rss = [rs if r["metadata"]["name"] == rs["metadata"]["name"] else r for r in self.rss]
        if all(r["metadata"]["name"] != rs["metadata"]["name"] for r in self.rss):
            self.rss.append(rs)
        return rs

    async def scale(self, name: str, replicas: int) -> bool:
        """scaleReplicaSetAndRecordEvent: size plus desired/max-replicas annotations."""
        rs = next(r for r in self.rss if r["metadata"]["name"] == name)
        old = plan.replicas_of(rs)
        wanted = plan.replica_annotations(self.d)
        annotations = rs["metadata"].get("annotations") or {}
        if old == replicas and all(annotations.get(k) == v for k, v in wanted.items()):
            return False
        body = copy.deepcopy(rs)
        body["spec"]["replicas"] = replicas
        body["metadata"]["annotations"] = {**annotations, **wanted}
        self._replace(await self.client.update(Kind.REPLICASET, body))
        if old != replicas:
            op = "up" if replicas > old else "down"
            await self.ctl.recorder.event(self.d, NORMAL, "ScalingReplicaSet",
                                          f"Scaled {op} replica set {name} to {replicas} from {old}")
        return old != replicas

    async def new_replica_set(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        """getAllReplicaSetsAndSyncRevision / getNewReplicaSet."""
        new_rs, old_rss = self.split()
        new_revision = plan.max_revision(old_rss) + 1
        now = now_utc()
        if new_rs is not None:
            annotations = plan.new_rs_annotations(self.d, new_rs["metadata"].get("annotations"), new_revision, True)
            min_ready = self.d["spec"].get("minReadySeconds") or 0
            if annotations != (new_rs["metadata"].get("annotations") or {}) \
                    or (new_rs["spec"].get("minReadySeconds") or 0) != min_ready:
                body = copy.deepcopy(new_rs)
                body["metadata"]["annotations"] = annotations
                body["spec"]["minReadySeconds"] = min_ready
                new_rs = self._replace(await self.client.update(Kind.REPLICASET, body))
            await self._set_revision(str(plan.revision(new_rs)))
            status = copy.deepcopy(self.d.get("status") or {})
            if dstatus.has_progress_deadline(self.d) and dstatus.get_condition(status, dstatus.PROGRESSING) is None:
                dstatus.set_condition(status, dstatus.new_condition(
                    dstatus.PROGRESSING, "True", dstatus.FOUND_NEW_RS,
                    f'Found new replica set "{new_rs["metadata"]["name"]}"', now))
                await self._write_status(status)
            return new_rs, old_rss
        if not create:
            return None, old_rss
        status = copy.deepcopy(self.d.get("status") or {})
        template_hash = plan.compute_hash(self.d["spec"].get("template") or {}, status.get("collisionCount"))
        replicas = plan.new_rs_replicas(self.d, [*old_rss, None], None)
        annotations = plan.new_rs_annotations(self.d, {}, new_revision, False)
        body = plan.new_replica_set(self.d, template_hash, replicas, annotations)
        name = body["metadata"]["name"]
        try:
            created = await self.client.create(Kind.REPLICASET, self.d["metadata"]["namespace"], body)
            existed = False
        except errors.AlreadyExists:
            existing = await self.client.get(Kind.REPLICASET, self.d["metadata"]["namespace"], name)
            ref = get_controller_of(existing)
            if not (ref and ref.get("uid") == self.d["metadata"].get("uid")
                    and plan.equal_ignore_hash(self.d["spec"].get("template"), existing["spec"].get("template"))):
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                await self._write_status(status)
                raise
            created, existed = existing, True
        except errors.ApiError as e:
            msg = f'Failed to create new replica set "{name}": {e.message}'
            if dstatus.has_progress_deadline(self.d):
                dstatus.set_condition(status, dstatus.new_condition(
                    dstatus.PROGRESSING, "False", dstatus.FAILED_RS_CREATE, msg, now))
                await self._write_status(status)
            await self.ctl.recorder.event(self.d, WARNING, dstatus.FAILED_RS_CREATE, msg)
            raise
        self._replace(created)
        if not existed and replicas > 0:
            await self.ctl.recorder.event(self.d, NORMAL, "ScalingReplicaSet",
                                          f"Scaled up replica set {name} to {replicas} from 0")
        await self._set_revision(str(new_revision))
        if not existed and dstatus.has_progress_deadline(self.d):
            status = copy.deepcopy(self.d.get("status") or {})
            dstatus.set_condition(status, dstatus.new_condition(
                dstatus.PROGRESSING, "True", dstatus.NEW_RS_CREATED, f'Created new replica set "{name}"', now))
            await self._write_status(status)
        return created, old_rss

    # ---- the paths of syncDeployment ---------------------------------------------------------
    async def status_only(self) -> float | None:
        new_rs, old_rss = await self.new_replica_set(create=False)
        await self._write_status(dstatus.calculate_status(self.d, [*old_rss, new_rs], new_rs, now_utc()))
        return None

    async def paused_conditions(self) -> None:
        cond = dstatus.paused_condition(self.d, now_utc())
        if cond is not None:
            status = copy.deepcopy(self.d.get("status") or {})
            dstatus.set_condition(status, cond)
            await self._write_status(status)

    async def sync(self) -> float | None:
        """sync(): scaling (proportional mid-rollout) and, when paused, history cleanup."""
        new_rs, old_rss = await self.new_replica_set(create=False)
        for step in plan.plan_scale(self.d, new_rs, old_rss):
            await self.scale(step.name, step.replicas)
        new_rs, old_rss = self.split()
        if self.d["spec"].get("paused"):
            await self.cleanup(old_rss)
        await self._write_status(dstatus.calculate_status(self.d, [*old_rss, new_rs], new_rs, now_utc()))
        return None

    async def rolling(self) -> float | None:
        new_rs, old_rss = await self.new_replica_set(create=True)
        assert new_rs is not None
        scaled = False
        for step in plan.plan_rolling(self.d, new_rs, old_rss):
            scaled = await self.scale(step.name, step.replicas) or scaled
        new_rs, old_rss = self.split()
        if not scaled and dstatus.deployment_complete(self.d, self.d.get("status") or {}):
            await self.cleanup(old_rss)
        return await self.rollout_status(new_rs, old_rss)

    async def recreate(self) -> float | None:
        new_rs, old_rss = await self.new_replica_set(create=False)
        owned_uids = {rs["metadata"].get("uid") for rs in self.rss}
        pods_by_owner: dict[str, list[Obj]] = {}
        namespace = self.d["metadata"]["namespace"]
        for pod in self.ctl.pods.list():
            ref = get_controller_of(pod)
            if pod["metadata"].get("namespace") == namespace and ref and ref.get("uid") in owned_uids:
                pods_by_owner.setdefault(ref["uid"], []).append(pod)
        running = plan.old_pods_running(new_rs, old_rss, pods_by_owner)
        action, steps = plan.plan_recreate(self.d, new_rs, old_rss, running)
        if action == "create":
            new_rs, old_rss = await self.new_replica_set(create=True)
        for step in steps:
            await self.scale(step.name, step.replicas)
        new_rs, old_rss = self.split()
        if action in ("create", "scale-up", "done") and dstatus.deployment_complete(self.d, self.d.get("status") or {}):
            await self.cleanup(old_rss)
        return await self.rollout_status(new_rs, old_rss)

    async def cleanup(self, old_rss: list[Obj]) -> None:
        for name in plan.plan_cleanup(self.d, old_rss):
            rs = next(r for r in old_rss if r["metadata"]["name"] == name)
            try:
                await self.client.delete(Kind.REPLICASET, rs["metadata"]["namespace"], name,
                                         {"preconditions": {"uid": rs["metadata"]["uid"]}})
            except errors.NotFound:
                pass
            self.rss = [r for r in self.rss if r["metadata"]["name"] != name]

    async def rollout_status(self, new_rs: Obj | None, old_rss: list[Obj]) -> float | None:
        now = now_utc()
        status = dstatus.rollout_status(self.d, [*old_rss, new_rs], new_rs, now)
        await self._write_status(status)
        return dstatus.seconds_until_stuck(self.d, status, now)
