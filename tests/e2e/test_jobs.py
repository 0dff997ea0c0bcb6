"""Jobs on a real Docker node, with kubectl: completions/parallelism, backoffLimit, cascading delete."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import cluster_objects, remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    subprocess.run(["bash", "scripts/build_images.sh"], check=True)
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state")
    try:
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"
    assert cluster_objects(b.cluster_name) == {"containers": [], "networks": [], "volumes": []}


def job(name: str, command: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {**spec, "template": {
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "work", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", command]}]}}}}


def pods_of(c: Boxk8s, name: str) -> list[dict[str, Any]]:
    out = c.kubectl("get", "pods", "-l", f"job-name={name}", "-o", "json").stdout
    return list(json.loads(out)["items"])


def test_completions_3_parallelism_2_completes(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(job("three", "echo done", completions=3, parallelism=2)))
    cluster.kubectl("wait", "--for=condition=complete", "job/three", "--timeout=90s", timeout=100)
    j = json.loads(cluster.kubectl("get", "job", "three", "-o", "json").stdout)
    assert j["status"]["succeeded"] == 3 and j["status"].get("failed") is None
    pods = pods_of(cluster, "three")
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    assert "3/3" in cluster.kubectl("get", "job", "three").stdout
    assert cluster.kubectl("logs", f"pod/{pods[0]['metadata']['name']}").stdout.strip() == "done"
    # kubectl deletes in the background: the Job's pods go with it.
    cluster.kubectl("delete", "job", "three")
    wait_for(lambda: pods_of(cluster, "three") == [], 30, what="the Job's pods deleted")


def test_failing_job_stops_after_backoff_limit(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(job("fails", "exit 3", backoffLimit=1)))
    cluster.kubectl("wait", "--for=condition=failed", "job/fails", "--timeout=90s", timeout=100)
    j = json.loads(cluster.kubectl("get", "job", "fails", "-o", "json").stdout)
    failed = next(c for c in j["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert j["status"]["failed"] == 2
    assert len(pods_of(cluster, "fails")) == 2
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=fails").stdout
    assert "BackoffLimitExceeded" in events and "SuccessfulCreate" in events
    cluster.kubectl("delete", "job", "fails")


def test_cascade_orphan_leaves_the_pods_and_foreground_waits_for_them(cluster: Boxk8s) -> None:
    for name in ("kept", "fg"):
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(job(name, "echo hi")))
        cluster.kubectl("wait", "--for=condition=complete", f"job/{name}", "--timeout=60s", timeout=70)
    cluster.kubectl("delete", "job", "kept", "--cascade=orphan")
    wait_for(lambda: cluster.kubectl("get", "job", "kept", check=False).returncode != 0, 20, what="job gone")
    left = pods_of(cluster, "kept")
    assert len(left) == 1 and not left[0]["metadata"].get("ownerReferences")
    cluster.kubectl("delete", "pods", "-l", "job-name=kept")
    # Foreground: kubectl returns once the Job is gone, and its pods went first.
    cluster.kubectl("delete", "job", "fg", "--cascade=foreground", "--timeout=60s", timeout=70)
    assert pods_of(cluster, "fg") == []
