"""A ReplicationController's pods really run on Docker (the one Docker test of the RC controller)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import cluster_objects, remove_cluster_objects

POD_SUBNET = "10.216.0.0/16"


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state",
                     cluster_name=f"boxk8s-ctrl-{uuid.uuid4().hex[:8]}", pod_subnet=POD_SUBNET)
    try:
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"


def test_rc_pods_run_and_go(docker: Boxk8s) -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "hello"},
          "spec": {"replicas": 2, "selector": {"app": "hello"},
                   "template": {"metadata": {"labels": {"app": "hello"}}, "spec": {
                       "terminationGracePeriodSeconds": 1,
                       "containers": [{"name": "main", "image": "boxk8s-busybox:latest", "imagePullPolicy": "Never",
                                       "command": ["sh", "-c", "echo hello-from-$HOSTNAME; exec sleep 3600"]}]}}}}
    docker.kubectl("apply", "-f", "-", input=json.dumps(rc))

    def ready() -> bool:
        status = json.loads(docker.kubectl("get", "rc", "hello", "-o", "json").stdout).get("status") or {}
        return status.get("readyReplicas") == 2 and status.get("availableReplicas") == 2
    wait_for(ready, timeout=60, what="2 ready replicas")
    pods = json.loads(docker.kubectl("get", "pods", "-l", "app=hello", "-o", "json").stdout)["items"]
    names = sorted(p["metadata"]["name"] for p in pods)
    assert len(names) == 2 and all(n.startswith("hello-") for n in names)
    for name in names:  # each container really ran its command, as its own host
        assert docker.kubectl("logs", name).stdout == f"hello-from-{name}\n"
    assert len(cluster_objects(docker.cluster_name)["containers"]) >= 2

    docker.kubectl("delete", "rc", "hello")  # Background: the pods and their containers go
    wait_for(lambda: not json.loads(docker.kubectl("get", "pods", "-l", "app=hello", "-o", "json").stdout)["items"],
             timeout=60, what="the pods gone")
