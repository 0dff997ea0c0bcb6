"""`boxk8s up` through a Docker outage and a container removed behind its back, seen with kubectl.

boxk8s reaches Docker through a socket proxy in this test process (DOCKER_HOST), which the test
cuts and heals; the machine's daemon is never touched. The process must live through the outage
and converge after it: same containers, no restarts, and new pods run.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Boxk8s, running_boxk8s, wait_for
from tests.integration.docker_proxy import ThreadedDockerProxy

IMAGE = "boxk8s-busybox:latest"


@pytest.fixture(scope="module")
def proxy() -> Iterator[ThreadedDockerProxy]:
    sock_dir = Path(tempfile.mkdtemp(prefix="dockerfault-", dir="/tmp"))  # a unix socket path must be short
    p = ThreadedDockerProxy(sock_dir / "docker.sock")
    p.start()
    try:
        yield p
    finally:
        p.close()
        sock_dir.rmdir()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, proxy: ThreadedDockerProxy) -> Iterator[Boxk8s]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCKER_HOST", proxy.url)  # for boxk8s only: set while it starts, gone before cleanup
        gen = running_boxk8s(tmp_path_factory, cluster_name=f"dockerfault-{uuid.uuid4().hex[:6]}")
        c = next(gen)
    proxy.heal()
    yield c
    proxy.heal()  # boxk8s must stop cleanly
    next(gen, None)


def apply_pod(c: Boxk8s, name: str, containers: int = 2) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": f"c{i}", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["sleep", "3600"]} for i in range(containers)]}}
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))


def get_pod(c: Boxk8s, name: str) -> dict[str, Any]:
    return json.loads(c.kubectl("get", "pod", name, "-o", "json").stdout)  # type: ignore[no-any-return]


def running(c: Boxk8s, name: str) -> dict[str, Any] | None:
    p = get_pod(c, name)
    statuses = (p.get("status") or {}).get("containerStatuses") or []
    ok = p["status"].get("phase") == "Running" and statuses and all(s.get("ready") for s in statuses)
    return p if ok else None


def ids(p: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {s["name"]: (s["containerID"], s["restartCount"]) for s in p["status"]["containerStatuses"]}


def test_boxk8s_lives_through_a_docker_outage_and_converges(cluster: Boxk8s, proxy: ThreadedDockerProxy) -> None:
    apply_pod(cluster, "before")
    before = wait_for(lambda: running(cluster, "before"), 60, what="pod before running")
    proxy.cut()
    refused = proxy.refused
    # boxk8s keeps trying (events stream, runtime checks): wait until it has been turned away a few times.
    wait_for(lambda: proxy.refused >= refused + 3, 60, what="boxk8s to find Docker unreachable")
    apply_pod(cluster, "during")  # accepted by the API; it runs once Docker is back
    logs = cluster.kubectl("logs", "before", "-c", "c0", check=False, timeout=30)  # one clear line, no hang
    assert logs.returncode == 1 and logs.stderr.startswith("Error from server (InternalError): "), logs.stderr
    assert 'cannot read the logs of container "c0"' in logs.stderr and "Docker" in logs.stderr, logs.stderr
    assert cluster.proc.poll() is None, cluster.log_tail()
    proxy.heal()
    wait_for(lambda: running(cluster, "during"), 90, what="the pod made during the outage to run")
    after = wait_for(lambda: running(cluster, "before"), 30, what="pod before running")
    assert ids(after) == ids(before)  # the same containers, adopted, never restarted
    assert cluster.proc.poll() is None


def test_a_removed_container_is_replaced_with_one_more_restart(cluster: Boxk8s) -> None:
    apply_pod(cluster, "victim", containers=1)
    p = wait_for(lambda: running(cluster, "victim"), 60, what="pod victim running")
    [(cid, count)] = ids(p).values()
    subprocess.run(["docker", "rm", "-f", cid.removeprefix("docker://")], check=True, capture_output=True, timeout=60)

    def replaced() -> dict[str, Any] | None:
        now = running(cluster, "victim")
        return now if now is not None and ids(now)["c0"][0] != cid else None
    now = wait_for(replaced, 60, what="a new container for victim")
    assert ids(now)["c0"][1] == count + 1 == 1
    columns = cluster.kubectl("get", "pod", "victim", "--no-headers").stdout.split()
    assert columns[3] == "1"  # RESTARTS, as kubectl shows it
