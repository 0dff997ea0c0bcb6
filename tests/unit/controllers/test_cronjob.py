"""plan_cronjob as tables, with a fixed clock: schedule, deadline, concurrency, suspend, history, names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.controllers.cronjob_plan import job_from_template, job_name, plan_cronjob

NOW = datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC)  # 30 s after a minute boundary


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def cj(status: dict[str, Any] | None = None, created: datetime | None = None, **spec: Any) -> dict[str, Any]:
    base = {"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"labels": {"a": "b"}}, "spec": {"template": {"spec": {}}}}}
    return {"metadata": {"name": "cj", "namespace": "default", "uid": "u1",
                         "creationTimestamp": iso(created or NOW - timedelta(hours=1))},
            "spec": {**base, **spec}, "status": status or {}}


def job(name: str, state: str | None = None, start: str = "2025-01-01T10:00:00Z", uid: str = "") -> dict[str, Any]:
    st: dict[str, Any] = {"startTime": start}
    if state:
        st["conditions"] = [{"type": state, "status": "True"}]
        if state == "Complete":
            st["completionTime"] = start
    return {"metadata": {"name": name, "namespace": "default", "uid": uid or name}, "status": st}


NOON = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_creates_the_job_of_the_most_recent_time() -> None:
    plan = plan_cronjob(cj(), [], NOW)
    assert plan.create == NOON and plan.job_name == f"cj-{int(NOON.timestamp() // 60)}"
    assert plan.status["lastScheduleTime"] == "2025-01-01T12:00:00Z"
    assert plan.requeue == pytest.approx(4 * 60 + 30 + 0.1)


def test_nothing_when_already_scheduled() -> None:
    plan = plan_cronjob(cj({"lastScheduleTime": "2025-01-01T12:00:00Z"}), [], NOW)
    assert plan.create is None


def test_nothing_before_the_first_time_after_creation() -> None:
    assert plan_cronjob(cj(created=NOW - timedelta(seconds=10)), [], NOW).create is None


def test_starting_deadline_missed() -> None:
    plan = plan_cronjob(cj(startingDeadlineSeconds=10), [], NOW)
    assert plan.create is None  # 12:00 is more than 10 s ago: skipped, the next one is awaited
    assert plan_cronjob(cj(startingDeadlineSeconds=60), [], NOW).create == NOON


@pytest.mark.parametrize(("policy", "create", "delete", "event"), [
    ("Allow", True, [], None),
    ("Forbid", False, [], "JobAlreadyActive"),
    ("Replace", True, ["old"], None),
])
def test_concurrency(policy: str, create: bool, delete: list[str], event: str | None) -> None:
    plan = plan_cronjob(cj(concurrencyPolicy=policy), [job("old")], NOW)
    assert (plan.create is not None, plan.delete) == (create, delete)
    assert [e[1] for e in plan.events] == ([event] if event else [])


def test_suspend_creates_nothing() -> None:
    plan = plan_cronjob(cj(suspend=True), [job("a")], NOW)
    assert plan.create is None and plan.requeue is None and [r["name"] for r in plan.status["active"]] == ["a"]


def test_time_zone() -> None:
    plan = plan_cronjob(cj(schedule="0 13 * * *", timeZone="Europe/Paris"), [], NOW)  # 13:00 CET = 12:00 UTC
    assert plan.create == NOON
    assert plan_cronjob(cj(timeZone="Mars/Base"), [], NOW).events[0][1] == "UnknownTimeZone"


def test_status_and_history() -> None:
    jobs = [job(f"ok{i}", "Complete", start=f"2025-01-01T0{i}:00:00Z") for i in range(5)]
    jobs += [job("bad1", "Failed", start="2025-01-01T01:00:00Z"), job("bad2", "Failed", start="2025-01-01T02:00:00Z")]
    jobs += [job("run", None)]
    plan = plan_cronjob(cj({"lastScheduleTime": "2025-01-01T12:00:00Z", "active": [{"uid": "ok4"}]}), jobs, NOW)
    assert plan.delete == ["ok0", "ok1", "bad1"]
    assert [r["name"] for r in plan.status["active"]] == ["run"]
    assert plan.status["lastSuccessfulTime"] == "2025-01-01T04:00:00Z"
    assert ("Normal", "SawCompletedJob", "Saw completed job: ok4, condition: Complete") in plan.events


def test_job_from_template() -> None:
    j = job_from_template(cj(), job_name("cj", NOON), NOON, UTC)
    assert j["metadata"]["name"] == "cj-28928880" and j["metadata"]["labels"] == {"a": "b"}
    assert j["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == "2025-01-01T12:00:00+00:00"
