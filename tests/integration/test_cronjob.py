"""CronJob → Job → pods with a clock two minutes ahead: a Job is created for the last minute and completes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.controllers.cronjob import CRONJOB, CronJobController
from boxk8s.controllers.job import JobController
from tests.integration.controllers_harness import eventually, harness


def ahead(client: Client, factory: InformerFactory) -> CronJobController:
    return CronJobController(client, factory, clock=lambda: datetime.now(UTC) + timedelta(minutes=2))


async def test_cronjob_creates_a_job_that_completes(tmp_path: Path) -> None:
    assert CRONJOB is not None
    async with harness(tmp_path, [ahead, JobController], nodes=1) as h:
        await h.client.create(CRONJOB, "default", {
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 0"]}]}}}}}})

        async def succeeded() -> dict | None:
            cj = await h.client.get(CRONJOB, "default", "tick")
            return cj if cj["status"].get("lastSuccessfulTime") and not cj["status"].get("active") else None

        cj = await eventually(succeeded)
        jobs = await h.client.list(Kind.JOB, "default")
        assert len(jobs) == 1
        scheduled = datetime.fromisoformat(cj["status"]["lastScheduleTime"].replace("Z", "+00:00"))
        assert jobs[0]["metadata"]["name"] == f"tick-{int(scheduled.timestamp() // 60)}"
        assert jobs[0]["metadata"]["ownerReferences"][0]["uid"] == cj["metadata"]["uid"]
