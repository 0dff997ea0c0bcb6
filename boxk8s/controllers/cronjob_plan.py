"""What the CronJob controller decides, as a pure function of (CronJob, its Jobs, now).

Upstream's syncCronJob (cronjob_controllerv2.go), simplified: the most recent unmet schedule time
since the last one (or creation), bounded by startingDeadlineSeconds; concurrencyPolicy
Allow/Forbid/Replace; suspend; history limits; Job names `<cronjob>-<scheduled minutes since epoch>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from boxk8s.resources.meta import format_time, parse_time

Obj = dict[str, Any]
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def job_state(job: Obj) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def job_name(cronjob: str, scheduled: datetime) -> str:
    return f"{cronjob}-{int(scheduled.timestamp() // 60)}"


@dataclass
class CronPlan:
    create: datetime | None = None  # scheduled time of the Job to create
    job_name: str = ""
    delete: list[str] = field(default_factory=list)  # Job names (Replace, history limits)
    status: Obj = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    requeue: float | None = None


def zone(spec: Obj, local: tzinfo) -> tzinfo | None:
    name = spec.get("timeZone")
    if not name:
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def job_ref(job: Obj) -> Obj:
    md = job["metadata"]
    return {"kind": "Job", "namespace": md.get("namespace"), "name": md["name"], "uid": md.get("uid"),
            "apiVersion": "batch/v1"}


def plan_cronjob(cj: Obj, jobs: list[Obj], now: datetime, local: tzinfo = UTC) -> CronPlan:
    spec, old = cj.get("spec") or {}, cj.get("status") or {}
    status: Obj = {k: v for k, v in old.items() if k != "active"}
    plan = CronPlan(status=status)
    active = [j for j in jobs if job_state(j) is None and not j["metadata"].get("deletionTimestamp")]
    was_active = {r.get("uid") for r in old.get("active") or []}
    for j in jobs:
        state = job_state(j)
        if state and j["metadata"].get("uid") in was_active:
            plan.events.append(("Normal", "SawCompletedJob", f"Saw completed job: {j['metadata']['name']}, "
                                                             f"condition: {state}"))
    done = [parse_time((j.get("status") or {}).get("completionTime")) for j in jobs if job_state(j) == "Complete"]
    latest = max([d for d in done if d] + ([parse_time(old.get("lastSuccessfulTime"))] if old.get("lastSuccessfulTime")
                                           else []), default=None)
    if latest is not None:
        status["lastSuccessfulTime"] = format_time(latest)
    plan.delete = _history(spec, jobs)

    def finish() -> CronPlan:
        refs = [job_ref(j) for j in sorted(active, key=lambda j: j["metadata"]["name"])
                if j["metadata"]["name"] not in plan.delete]
        if refs:
            status["active"] = refs
        return plan

    if cj["metadata"].get("deletionTimestamp") or spec.get("suspend"):
        return finish()
    tz = zone(spec, local)
    if tz is None:
        plan.events.append(("Warning", "UnknownTimeZone", f"invalid timeZone: \"{spec.get('timeZone')}\""))
        return finish()
    schedule = spec.get("schedule", "")
    if not croniter.is_valid(schedule):
        plan.events.append(("Warning", "InvalidSchedule", f"invalid schedule: \"{schedule}\""))
        return finish()
    local_now = now.astimezone(tz)
    nxt = croniter(schedule, local_now).get_next(datetime)
    plan.requeue = max((nxt - local_now).total_seconds(), 0.0) + 0.1
    earliest = parse_time(old.get("lastScheduleTime")) or parse_time(cj["metadata"].get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    scheduled = croniter(schedule, local_now + timedelta(microseconds=1)).get_prev(datetime)
    if scheduled <= earliest.astimezone(tz):
        return finish()  # nothing due since the last run
    if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
        plan.events.append(("Warning", "MissSchedule", f"Missed scheduled time to start a job: {format_time(scheduled)}"))
        return finish()
    name = job_name(cj["metadata"]["name"], scheduled)
    if any(j["metadata"]["name"] == name for j in jobs):
        return finish()  # created already (our status write may have been lost)
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy == "Forbid" and active:
        plan.events.append(("Normal", "JobAlreadyActive",
                            "Not starting job because prior execution is running and concurrency policy is Forbid"))
        return finish()
    if policy == "Replace":
        for j in active:
            if j["metadata"]["name"] not in plan.delete:
                plan.delete.append(j["metadata"]["name"])
    plan.create, plan.job_name = scheduled, name
    status["lastScheduleTime"] = format_time(scheduled)
    return finish()


def _history(spec: Obj, jobs: list[Obj]) -> list[str]:
    """Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest first."""
    out: list[str] = []
    for state, key, default in (("Complete", "successfulJobsHistoryLimit", 3), ("Failed", "failedJobsHistoryLimit", 1)):
        limit = spec.get(key, default)
        if limit is None:
            continue
        finished = sorted((j for j in jobs if job_state(j) == state),
                          key=lambda j: ((j.get("status") or {}).get("startTime") or j["metadata"].get(
                              "creationTimestamp") or "", j["metadata"]["name"]))
        out += [j["metadata"]["name"] for j in finished[:max(len(finished) - int(limit), 0)]]
    return out


def job_from_template(cj: Obj, name: str, scheduled: datetime, tz: tzinfo) -> Obj:
    md, spec = cj["metadata"], cj.get("spec") or {}
    template = spec.get("jobTemplate") or {}
    tmd = template.get("metadata") or {}
    annotations = {**(tmd.get("annotations") or {}),
                   SCHEDULED_ANNOTATION: scheduled.astimezone(tz).isoformat()}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": md.get("namespace"),
            "labels": dict(tmd.get("labels") or {}),
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": md["name"],
                                 "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": template.get("spec") or {},
    }
