"""The Job controller: runs pods until enough succeed, or too many fail, or time runs out.

Decisions are `job_plan.plan_job`'s; this module reads the informers, performs the plan
(create/delete pods, write status, record events) and remembers the pods it just created or
deleted until the pod informer has seen them (client-go's "expectations"), so that a reconcile
running on a lagging cache never creates a pod twice.
"""

from __future__ import annotations

import copy
import logging
import time
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.job_plan import BACKOFF_BASE_SECONDS, INDEX_KEY, plan_job, pod_view
from boxk8s.events import EventRecorder

log = logging.getLogger(__name__)

Obj = dict[str, Any]
EXPECTATION_TIMEOUT = 5.0  # seconds after which a pod never seen in the cache stops being waited for
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def controller_uid(obj: Obj) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "Job":
            return str(ref.get("uid"))
    return None


def job_pod(job: Obj, index: int | None = None) -> Obj:
    """A pod from the Job's template, owned by the Job (Indexed: with its completion index)."""
    md, spec = job["metadata"], job["spec"]
    template = copy.deepcopy(spec.get("template") or {})
    tmd = template.get("metadata") or {}
    labels = dict(tmd.get("labels") or {})
    annotations = dict(tmd.get("annotations") or {})
    pod_spec = template.get("spec") or {}
    name = md["name"]
    prefix = f"{name}-"
    if index is not None:
        labels[INDEX_KEY] = str(index)
        annotations[INDEX_KEY] = str(index)
        prefix = f"{name}-{index}-"
        pod_spec.setdefault("hostname", f"{name}-{index}")
        if spec.get("template", {}).get("spec", {}).get("subdomain"):
            pod_spec.setdefault("subdomain", spec["template"]["spec"]["subdomain"])
        for c in list(pod_spec.get("containers") or []) + list(pod_spec.get("initContainers") or []):
            env = [e for e in c.get("env") or [] if e.get("name") != "JOB_COMPLETION_INDEX"]
            env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}})
            c["env"] = env
    pod_md: Obj = {
        "generateName": prefix,
        "namespace": md.get("namespace"),
        "labels": labels,
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": md["uid"],
                             "controller": True, "blockOwnerDeletion": True}],
    }
    if annotations:
        pod_md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_md, "spec": pod_spec}


class JobController(Controller):
    name = "job-controller"
    workers = 4
    backoff_base = BACKOFF_BASE_SECONDS  # tests shorten the pod failure backoff

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        self.jobs = factory.informer(Kind.JOB)
        self.pods = factory.informer(Kind.POD)
        self.jobs.add_handler(lambda _t, _old, new: self.enqueue(new))
        self.pods.add_handler(self._on_pod)
        # job key → {pod name: (expected: "present" | "gone", since)}
        self.expected: dict[str, dict[str, tuple[str, float]]] = {}

    def _on_pod(self, _kind: str, old: Obj | None, new: Obj | None) -> None:
        for obj in (old, new):
            if obj is not None:
                self.enqueue_owner(obj, "Job")

    def _pods_of(self, job: Obj) -> list[Obj]:
        ns, uid = job["metadata"].get("namespace"), job["metadata"]["uid"]
        return [p for p in self.pods.list()
                if p["metadata"].get("namespace") == ns and controller_uid(p) == uid]

    def _satisfied(self, key: str, pods: list[Obj]) -> bool:
        """True once the cache shows what we did last time (or we waited long enough)."""
        pending = self.expected.get(key)
        if not pending:
            return True
        names = {p["metadata"]["name"]: p for p in pods}
        now = time.monotonic()
        for name, (want, since) in list(pending.items()):
            p = names.get(name)
            seen = p is not None if want == "present" else (p is None or bool(p["metadata"].get("deletionTimestamp")))
            if seen or now - since > EXPECTATION_TIMEOUT:
                del pending[name]
        if not pending:
            del self.expected[key]
            return True
        return False

    async def reconcile(self, key: str) -> float | None:
        job = self.jobs.get(key)
        if job is None:
            self.expected.pop(key, None)
            return None
        if job["metadata"].get("deletionTimestamp"):
            return None
        pods = self._pods_of(job)
        if not self._satisfied(key, pods):
            return 0.2
        plan = plan_job(job, [pod_view(p) for p in pods], datetime.now(UTC), self.backoff_base)
        ns, _name = split_key(key)
        expected = self.expected.setdefault(key, {})
        for name in plan.delete:
            try:
                await self.client.delete(Kind.POD, ns, name)
                expected[name] = ("gone", time.monotonic())
                await self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
            except errors.NotFound:
                pass
        to_create: list[int | None] = [None] * plan.create + list(plan.create_indexes)
        for index in to_create:
            try:
                created = await self.client.create(Kind.POD, ns, job_pod(job, index))
            except errors.ApiError as e:
                log.warning("job/%s: creating a pod failed: %s", key, e.message)
                await self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {e.message}")
                raise
            name = created["metadata"]["name"]
            expected[name] = ("present", time.monotonic())
            await self.recorder.event(job, "Normal", "SuccessfulCreate", f"Created pod: {name}")
        if not expected:
            self.expected.pop(key, None)
        if plan.status != (job.get("status") or {}):
            new = copy.deepcopy(job)
            new["status"] = plan.status
            await self.client.update_status(Kind.JOB, new)  # Conflict: the queue retries on fresh state
        for type_, reason, message in plan.events:
            await self.recorder.event(job, type_, reason, message)
        return plan.requeue
