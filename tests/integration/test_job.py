"""Job, TTL and garbage collector controllers with a scheduler and fake-runtime kubelets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Kind
from boxk8s.controllers.garbagecollector import GarbageCollector
from boxk8s.controllers.job import JobController
from boxk8s.controllers.ttl import TTLAfterFinishedController
from tests.integration.controllers_harness import Harness, eventually, harness


class FastJobController(JobController):
    backoff_base = 0.1


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [FastJobController, TTLAfterFinishedController, GarbageCollector],
                       nodes=2) as env:
        yield env


def job(name: str, command: str, **spec: Any) -> dict[str, Any]:
    restart = spec.pop("restartPolicy", "Never")
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": restart, "containers": [
                {"name": "work", "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}, **spec}}


def cond(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), None)


async def job_pods(h: Harness, name: str) -> list[dict[str, Any]]:
    return [p for p in await h.client.list(Kind.POD, "default")
            if (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name") == name]


async def wait_condition(h: Harness, name: str, ctype: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        j = await h.client.get(Kind.JOB, "default", name)
        c = cond(j, ctype)
        return j if c and c["status"] == "True" else None

    return await eventually(check)


async def test_completions_3_parallelism_2_completes(h: Harness) -> None:
    await h.client.create(Kind.JOB, "default", job("pi", "exit 0", completions=3, parallelism=2))
    j = await wait_condition(h, "pi", "Complete")
    st = j["status"]
    assert st["succeeded"] == 3 and "failed" not in st and "active" not in st
    assert st["startTime"] and st["completionTime"] and st["uncountedTerminatedPods"] == {}
    assert cond(j, "SuccessCriteriaMet")["reason"] == "CompletionsReached"  # type: ignore[index]
    pods = await job_pods(h, "pi")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    labels = pods[0]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/controller-uid"] == j["metadata"]["uid"] and labels["job-name"] == "pi"

    async def reasons() -> list[str] | None:  # the Completed event is written after the status
        events = [e for e in await h.client.list(Kind.EVENT, "default") if e["involvedObject"]["name"] == "pi"]
        found = sorted(e["reason"] for e in events)
        return found if "Completed" in found else None

    assert (await eventually(reasons)).count("SuccessfulCreate") == 3


async def test_failing_job_stops_after_backoff_limit(h: Harness) -> None:
    await h.client.create(Kind.JOB, "default", job("bad", "exit 1", backoffLimit=2))
    j = await wait_condition(h, "bad", "Failed")
    c = cond(j, "Failed")
    assert c["reason"] == "BackoffLimitExceeded"  # type: ignore[index]
    assert c["message"] == "Job has reached the specified backoff limit"  # type: ignore[index]
    assert j["status"]["failed"] == 3
    assert len(await job_pods(h, "bad")) == 3


async def test_indexed_job_runs_each_index_once(h: Harness) -> None:
    await h.client.create(Kind.JOB, "default", job("idx", "exit 0", completions=3, parallelism=3,
                                                  completionMode="Indexed"))
    j = await wait_condition(h, "idx", "Complete")
    assert j["status"]["completedIndexes"] == "0-2"
    pods = await job_pods(h, "idx")
    assert sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods) == [
        "0", "1", "2"]


async def test_active_deadline_fails_the_job_and_deletes_its_pods(h: Harness) -> None:
    await h.client.create(Kind.JOB, "default", job("slow", "sleep 3600", activeDeadlineSeconds=1))
    j = await wait_condition(h, "slow", "Failed")
    assert cond(j, "Failed")["reason"] == "DeadlineExceeded"  # type: ignore[index]

    async def pods_gone() -> bool:
        return not [p for p in await job_pods(h, "slow") if not p["metadata"].get("deletionTimestamp")]

    await eventually(pods_gone)


async def test_ttl_after_finished_deletes_job_and_pods(h: Harness) -> None:
    await h.client.create(Kind.JOB, "default", job("short", "exit 0", ttlSecondsAfterFinished=1))
    await wait_condition(h, "short", "Complete")

    async def gone() -> bool:
        try:
            await h.client.get(Kind.JOB, "default", "short")
        except errors.NotFound:
            return not await job_pods(h, "short")
        return False

    await eventually(gone)
