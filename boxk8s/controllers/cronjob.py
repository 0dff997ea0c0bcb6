"""The CronJob controller: creates Jobs on a cron schedule (decisions in cronjob_plan)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.cronjob_plan import job_from_template, job_ref, plan_cronjob, zone
from boxk8s.events import EventRecorder
from boxk8s.resources import registry

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CRONJOB = registry.find("batch", "v1", "cronjobs")


def owner_uid(obj: Obj) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "CronJob":
            return str(ref.get("uid"))
    return None


class CronJobController(Controller):
    name = "cronjob-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(client, factory, recorder)
        assert CRONJOB is not None
        self.clock = clock
        self.local_tz = datetime.now().astimezone().tzinfo or UTC  # the controller manager's zone
        self.cronjobs = factory.informer(CRONJOB)
        self.jobs = factory.informer(Kind.JOB)
        self.cronjobs.add_handler(lambda _t, _old, new: self.enqueue(new))
        self.jobs.add_handler(self._on_job)

    def _on_job(self, _kind: str, old: Obj | None, new: Obj | None) -> None:
        for obj in (old, new):
            if obj is not None:
                self.enqueue_owner(obj, "CronJob")

    async def reconcile(self, key: str) -> float | None:
        assert CRONJOB is not None
        cj = self.cronjobs.get(key)
        if cj is None:
            return None
        ns, _name = split_key(key)
        uid = cj["metadata"]["uid"]
        jobs = [j for j in self.jobs.list() if j["metadata"].get("namespace") == ns and owner_uid(j) == uid]
        plan = plan_cronjob(cj, jobs, self.clock(), self.local_tz)
        for name in plan.delete:
            try:
                await self.client.delete(Kind.JOB, ns, name, {"propagationPolicy": "Background"})
                await self.recorder.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")
            except errors.NotFound:
                pass
        if plan.create is not None:
            tz = zone(cj.get("spec") or {}, self.local_tz) or UTC
            try:
                created = await self.client.create(Kind.JOB, ns, job_from_template(cj, plan.job_name, plan.create, tz))
                await self.recorder.event(cj, "Normal", "SuccessfulCreate", f"Created job {plan.job_name}")
                plan.status.setdefault("active", []).append(job_ref(created))
            except errors.AlreadyExists:
                pass
            except errors.ApiError as e:
                await self.recorder.event(cj, "Warning", "FailedCreate",
                                          f"Error creating job: {e.message}")
                raise
        if plan.status != (cj.get("status") or {}):
            new = copy.deepcopy(cj)
            new["status"] = plan.status
            await self.client.update_status(CRONJOB, new)
        for type_, reason, message in plan.events:
            await self.recorder.event(cj, type_, reason, message)
        return plan.requeue
