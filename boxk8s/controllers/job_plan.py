"""What the Job controller decides, as pure functions over plain data (tested by tables).

`plan_job(job, pods, now)` → which pods to create (count, or completion indexes) and delete, the
new status (counts, conditions, times) and the events to record. Upstream's syncJob, simplified:
terminated pods are counted from the pods themselves (kept until the Job goes, as upstream keeps
them) instead of through the job-tracking finalizer and uncountedTerminatedPods; a counter never
goes down, so a finished pod deleted by hand is not forgotten.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from boxk8s.resources import meta

Obj = dict[str, Any]

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
BACKOFF_BASE_SECONDS = 10.0  # upstream's DefaultJobPodFailureBackOff, doubled per failure...
BACKOFF_MAX_SECONDS = 360.0  # ...up to six minutes
BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETED_MESSAGE = "Reached expected number of succeeded pods"




@dataclass(frozen=True)
class PodView:
    """What the plan needs to know about one pod of the Job."""

    name: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    deleting: bool = False
    ready: bool = False
    restarts: int = 0
    index: int | None = None
    finished: datetime | None = None  # when its last container terminated (failed pods)
    created: datetime | None = None

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    @property
    def active(self) -> bool:
        return not self.terminal and not self.deleting


def pod_view(pod: Obj) -> PodView:
    md, st = pod["metadata"], pod.get("status") or {}
    statuses = list(st.get("containerStatuses") or []) + list(st.get("initContainerStatuses") or [])
    finished = [meta.parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt")) for s in statuses]
    index = (md.get("annotations") or {}).get(INDEX_KEY, (md.get("labels") or {}).get(INDEX_KEY))
    return PodView(
        name=md["name"],
        phase=st.get("phase") or "Pending",
        deleting=bool(md.get("deletionTimestamp")),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []),
        restarts=sum(int(s.get("restartCount") or 0) for s in statuses),
        index=int(index) if index is not None and str(index).isdigit() else None,
        finished=max((f for f in finished if f), default=None),
        created=meta.parse_time(md.get("creationTimestamp")),
    )


@dataclass
class JobPlan:
    create: int = 0  # NonIndexed: pods to create
    create_indexes: list[int] = field(default_factory=list)  # Indexed: one pod per index
    delete: list[str] = field(default_factory=list)  # pod names
    status: Obj = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    requeue: float | None = None


def condition(status: Obj, ctype: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def is_finished(job: Obj) -> str | None:
    """"Complete" or "Failed" once the Job has that condition True."""
    for ctype in ("Complete", "Failed"):
        c = condition(job.get("status") or {}, ctype)
        if c and c.get("status") == "True":
            return ctype
    return None


def set_condition(status: Obj, ctype: str, value: str, reason: str, message: str, now: datetime) -> None:
    conditions = status.setdefault("conditions", [])
    for c in conditions:
        if c.get("type") == ctype:
            if c.get("status") != value:
                c["lastTransitionTime"] = meta.format_time(now)
            c.update(status=value, reason=reason, message=message, lastProbeTime=meta.format_time(now))
            return
    conditions.append({"type": ctype, "status": value, "reason": reason, "message": message,
                       "lastProbeTime": meta.format_time(now), "lastTransitionTime": meta.format_time(now)})


def format_indexes(indexes: set[int]) -> str:
    """Completed indexes as upstream writes them: "1,3-5,7"."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _backoff_limit_exceeded(spec: Obj, failed: int, pods: list[PodView]) -> bool:
    limit = int(spec.get("backoffLimit", 6))
    if failed > limit:
        return True
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
        restarts = sum(p.restarts for p in pods if p.active)  # upstream's pastBackoffLimitOnFailure
        return restarts > 0 if limit == 0 else restarts >= limit
    return False


def _deletion_order(pods: list[PodView]) -> list[PodView]:
    """Pods to delete first when there are too many: not yet running, not ready, newest."""
    rank = {"Pending": 0, "Unknown": 1, "Running": 2}
    return sorted(pods, key=lambda p: (p.ready, rank.get(p.phase, 0), -(p.created.timestamp() if p.created else 0)))


def plan_job(job: Obj, pods: list[PodView], now: datetime, backoff_base: float = BACKOFF_BASE_SECONDS) -> JobPlan:
    spec = job.get("spec") or {}
    old = job.get("status") or {}
    status = copy.deepcopy(old)
    plan = JobPlan(status=status)
    if is_finished(job):
        return plan
    indexed = spec.get("completionMode") == "Indexed"
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))
    active = [p for p in pods if p.active]
    terminating = [p for p in pods if p.deleting and not p.terminal]
    failed = max(int(old.get("failed") or 0), sum(p.phase == "Failed" for p in pods))
    done_indexes = parse_indexes(old.get("completedIndexes"))
    if indexed:
        done_indexes |= {p.index for p in pods if p.phase == "Succeeded" and p.index is not None
                         and p.index < int(completions or 0)}
        succeeded = len(done_indexes)
        status["completedIndexes"] = format_indexes(done_indexes)
    else:
        succeeded = max(int(old.get("succeeded") or 0), sum(p.phase == "Succeeded" for p in pods))
    status.update(succeeded=succeeded, failed=failed, uncountedTerminatedPods={})

    # Suspended: no pods, no clock.
    if spec.get("suspend"):
        plan.delete = [p.name for p in active]
        if (condition(status, "Suspended") or {}).get("status") != "True":
            set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now)
            plan.events.append(("Normal", "Suspended", "Job suspended"))
        status.pop("startTime", None)
        return _counts(plan, status, [], terminating + active)
    if (condition(status, "Suspended") or {}).get("status") == "True":
        set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now)
        plan.events.append(("Normal", "Resumed", "Job resumed"))
        status.pop("startTime", None)
    start = meta.parse_time(status.get("startTime")) or now
    status["startTime"] = meta.format_time(start)

    # Failure: too many failed pods (or restarts), or past the deadline.
    failure: tuple[str, str] | None = None
    if _backoff_limit_exceeded(spec, failed, pods):
        failure = ("BackoffLimitExceeded", BACKOFF_LIMIT_MESSAGE)
    deadline = spec.get("activeDeadlineSeconds")
    if failure is None and deadline is not None:
        left = start + timedelta(seconds=int(deadline)) - now
        if left.total_seconds() <= 0:
            failure = ("DeadlineExceeded", DEADLINE_MESSAGE)
        else:
            plan.requeue = left.total_seconds()
    if failure is not None:
        plan.delete = [p.name for p in active]
        for ctype in ("FailureTarget", "Failed"):
            set_condition(status, ctype, "True", failure[0], failure[1], now)
        plan.events.append(("Warning", failure[0], failure[1]))
        plan.requeue = None
        return _counts(plan, status, [], terminating + active)

    # Success.
    complete = succeeded >= int(completions) if completions is not None else succeeded > 0 and not active
    if complete:
        plan.delete = [p.name for p in active]
        for ctype in ("SuccessCriteriaMet", "Complete"):
            set_condition(status, ctype, "True", "CompletionsReached", COMPLETED_MESSAGE, now)
        status["completionTime"] = meta.format_time(now)
        plan.events.append(("Normal", "Completed", "Job completed"))
        plan.requeue = None
        return _counts(plan, status, [], terminating + active)

    # Converge the number of running pods, creating replacements only after the failure backoff.
    counted = active + (terminating if spec.get("podReplacementPolicy") == "Failed" else [])
    wait = _backoff_wait(failed, pods, now, backoff_base)
    if indexed:
        total = int(completions or 0)
        seen: set[int] = set()
        for p in active:
            if p.index is None or p.index >= total or p.index in done_indexes or p.index in seen:
                plan.delete.append(p.name)  # out of range, already done, or a duplicate
            else:
                seen.add(p.index)
        busy = seen | {p.index for p in counted if p not in active and p.index is not None}
        pending = [i for i in range(total) if i not in done_indexes and i not in busy]
        room = parallelism - (len(counted) - len(plan.delete))
        if wait > 0 and pending and room > 0:
            plan.requeue = min(wait, plan.requeue or wait)
        else:
            plan.create_indexes = pending[:max(room, 0)]
    else:
        if completions is None:
            want = parallelism if succeeded == 0 else len(active)
        else:
            want = min(int(completions) - succeeded, parallelism)
        diff = len(counted) - want
        if diff > 0:
            plan.delete = [p.name for p in _deletion_order(active)[:diff]]
        elif diff < 0:
            if wait > 0:
                plan.requeue = min(wait, plan.requeue or wait)
            else:
                plan.create = -diff
    kept = [p for p in active if p.name not in plan.delete]
    gone = terminating + [p for p in active if p.name in plan.delete]
    return _counts(plan, status, kept, gone)


def _backoff_wait(failed: int, pods: list[PodView], now: datetime, base: float) -> float:
    """Seconds before a replacement may be created after the last failure (0: now)."""
    if failed <= 0:
        return 0.0
    last = max((p.finished or p.created for p in pods if p.phase == "Failed" and (p.finished or p.created)),
               default=None)
    if last is None:
        return 0.0
    delay = min(BACKOFF_MAX_SECONDS, base * 2 ** (failed - 1))
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


def _counts(plan: JobPlan, status: Obj, active: list[PodView], terminating: list[PodView]) -> JobPlan:
    status["active"] = len(active) + plan.create + len(plan.create_indexes)
    status["ready"] = sum(p.ready for p in active)
    status["terminating"] = len(terminating)
    for k in ("active", "succeeded", "failed"):  # upstream omits zero counters
        if not status.get(k):
            status.pop(k, None)
    if not status.get("completedIndexes"):
        status.pop("completedIndexes", None)
    return plan
