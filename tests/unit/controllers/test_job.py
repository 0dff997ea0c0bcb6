"""plan_job and plan_ttl as tables: creations, deletions, counters, conditions, backoff, deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.controllers.job_plan import PodView, format_indexes, parse_indexes, plan_job
from boxk8s.controllers.ttl import plan_ttl

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
T0 = "2025-01-01T11:59:00Z"


def job(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    base = {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "template": {"spec": {"restartPolicy": "Never"}}}
    return {"metadata": {"name": "j"}, "spec": {**base, **spec}, "status": status or {}}


def run(name: str, **kw: Any) -> PodView:
    return PodView(name, kw.pop("phase", "Running"), **kw)


def ok(name: str, **kw: Any) -> PodView:
    return PodView(name, "Succeeded", **kw)


def bad(name: str, ago: float = 100, **kw: Any) -> PodView:
    return PodView(name, "Failed", finished=NOW - timedelta(seconds=ago), **kw)


def conds(plan: Any) -> list[tuple[str, str]]:
    return [(c["type"], c["reason"]) for c in plan.status.get("conditions") or []]


@pytest.mark.parametrize(("spec", "pods", "create", "delete", "active"), [
    ({"completions": 3, "parallelism": 2}, [], 2, [], 2),
    ({"completions": 3, "parallelism": 2}, [run("a")], 1, [], 2),
    ({"completions": 3, "parallelism": 2}, [ok("a"), ok("b"), run("c")], 0, [], 1),
    ({"completions": 3, "parallelism": 2}, [ok("a"), ok("b")], 1, [], 1),
    ({"completions": 3, "parallelism": 2}, [run("a", ready=True), run("b"), run("c")], 0, ["b"], 2),
    ({"completions": 3, "parallelism": 2}, [run("a", deleting=True)], 2, [], 2),  # TerminatingOrFailed
    ({"completions": 3, "parallelism": 2, "podReplacementPolicy": "Failed"},
     [run("a", deleting=True)], 1, [], 1),
    ({"completions": None, "parallelism": 2}, [], 2, [], 2),
    ({"completions": None, "parallelism": 2}, [ok("a"), run("b")], 0, [], 1),
])
def test_pods_converge(spec: dict[str, Any], pods: list[PodView], create: int, delete: list[str], active: int) -> None:
    plan = plan_job(job(**spec), pods, NOW)
    assert (plan.create, plan.delete, plan.status.get("active", 0)) == (create, delete, active)
    assert plan.status["startTime"]


def test_complete_sets_both_conditions_and_completion_time() -> None:
    plan = plan_job(job(completions=2), [ok("a"), ok("b")], NOW)
    assert conds(plan) == [("SuccessCriteriaMet", "CompletionsReached"), ("Complete", "CompletionsReached")]
    assert plan.status["completionTime"] == "2025-01-01T12:00:00Z" and plan.status["succeeded"] == 2
    assert plan.events == [("Normal", "Completed", "Job completed")]


def test_work_queue_job_completes_when_one_succeeded_and_none_run() -> None:
    plan = plan_job(job(completions=None, parallelism=2), [ok("a"), ok("b")], NOW)
    assert ("Complete", "CompletionsReached") in conds(plan)


@pytest.mark.parametrize(("limit", "pods", "fails"), [
    (2, [bad("a"), bad("b")], False),
    (2, [bad("a"), bad("b"), bad("c")], True),
    (0, [bad("a")], True),
])
def test_backoff_limit(limit: int, pods: list[PodView], fails: bool) -> None:
    plan = plan_job(job(backoffLimit=limit), pods, NOW)
    assert (("Failed", "BackoffLimitExceeded") in conds(plan)) is fails
    if fails:
        assert ("FailureTarget", "BackoffLimitExceeded") in conds(plan)
        assert plan.events == [("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
        assert plan.create == 0


def test_restarts_count_against_the_limit_with_on_failure() -> None:
    spec = {"backoffLimit": 3, "template": {"spec": {"restartPolicy": "OnFailure"}}}
    assert ("Failed", "BackoffLimitExceeded") in conds(plan_job(job(**spec), [run("a", restarts=3)], NOW))
    assert conds(plan_job(job(**spec), [run("a", restarts=2)], NOW)) == []


def test_failed_counter_never_goes_down() -> None:
    plan = plan_job(job(status={"failed": 2, "startTime": T0}), [bad("c")], NOW)
    assert plan.status["failed"] == 2


def test_replacement_waits_for_the_failure_backoff() -> None:
    plan = plan_job(job(), [bad("a", ago=5), bad("b", ago=8)], NOW)  # 2 failures: 20 s after the last
    assert plan.create == 0 and plan.requeue == pytest.approx(15)
    assert plan_job(job(), [bad("a", ago=25)], NOW).create == 1


def test_deadline_exceeded_deletes_active_pods() -> None:
    plan = plan_job(job(status={"startTime": T0}, activeDeadlineSeconds=30), [run("a")], NOW)
    assert ("Failed", "DeadlineExceeded") in conds(plan) and plan.delete == ["a"]
    plan = plan_job(job(status={"startTime": T0}, activeDeadlineSeconds=90), [run("a")], NOW)
    assert conds(plan) == [] and plan.requeue == pytest.approx(30)


def test_finished_job_is_left_alone() -> None:
    done = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    plan = plan_job(job(status=done), [run("late")], NOW)
    assert (plan.create, plan.delete, plan.status) == (0, [], done)


def test_suspend_deletes_pods_and_resume_restarts_the_clock() -> None:
    plan = plan_job(job(status={"startTime": T0}, suspend=True), [run("a")], NOW)
    assert plan.delete == ["a"] and ("Suspended", "JobSuspended") in conds(plan) and "startTime" not in plan.status
    resumed = plan_job(job(status=plan.status), [], NOW)
    assert ("Suspended", "JobResumed") in conds(resumed) and resumed.create == 1


def test_indexed_creates_missing_indexes_and_drops_duplicates() -> None:
    spec = {"completionMode": "Indexed", "completions": 4, "parallelism": 3}
    pods = [ok("a", index=0), run("b", index=1), run("c", index=1)]
    plan = plan_job(job(**spec), pods, NOW)
    assert plan.delete == ["c"] and plan.create_indexes == [2, 3] and plan.status["completedIndexes"] == "0"


@pytest.mark.parametrize(("indexes", "text"), [(set(), ""), ({0}, "0"), ({0, 1, 2, 5, 7, 8}, "0-2,5,7-8")])
def test_index_ranges(indexes: set[int], text: str) -> None:
    assert format_indexes(indexes) == text and parse_indexes(text) == indexes


@pytest.mark.parametrize(("ttl", "status", "left"), [
    (None, {"completionTime": T0, "conditions": [{"type": "Complete", "status": "True"}]}, None),
    (100, {"conditions": []}, None),
    (100, {"completionTime": T0, "conditions": [{"type": "Complete", "status": "True"}]}, 40.0),
    (0, {"conditions": [{"type": "Failed", "status": "True", "lastTransitionTime": T0}]}, -60.0),
])
def test_plan_ttl(ttl: int | None, status: dict[str, Any], left: float | None) -> None:
    j = job(status=status, ttlSecondsAfterFinished=ttl)
    assert plan_ttl(j, NOW) == left
