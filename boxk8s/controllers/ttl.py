"""The TTL-after-finished controller: deletes a finished Job `ttlSecondsAfterFinished` after it finished.

Like upstream's it deletes in the foreground (the Job's pods go first) with a uid precondition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller, split_key
from boxk8s.controllers.job_plan import condition, is_finished
from boxk8s.events import EventRecorder
from boxk8s.resources.meta import parse_time

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def finish_time(job: Obj) -> datetime | None:
    state = is_finished(job)
    if state is None:
        return None
    status = job.get("status") or {}
    c = condition(status, state) or {}
    return parse_time(status.get("completionTime")) or parse_time(c.get("lastTransitionTime"))


def plan_ttl(job: Obj, now: datetime) -> float | None:
    """Seconds until the Job expires (<= 0: delete now), or None if it never does (yet)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or job["metadata"].get("deletionTimestamp"):
        return None
    finished = finish_time(job)
    if finished is None:
        return None
    return (finished + timedelta(seconds=int(ttl)) - now).total_seconds()


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(client, factory, recorder)
        self.clock = clock
        self.jobs = factory.informer(Kind.JOB)
        self.jobs.add_handler(lambda _t, _old, new: self.enqueue(new))

    async def reconcile(self, key: str) -> float | None:
        job = self.jobs.get(key)
        if job is None:
            return None
        left = plan_ttl(job, self.clock())
        if left is None:
            return None
        if left > 0:
            return left
        ns, name = split_key(key)
        log.info("job/%s: TTL after finished expired; deleting", key)
        try:
            await self.client.delete(Kind.JOB, ns, name, {"propagationPolicy": "Foreground",
                                                          "preconditions": {"uid": job["metadata"]["uid"]}})
        except (errors.NotFound, errors.Conflict):
            pass
        return None
