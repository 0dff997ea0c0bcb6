"""Scheduling across three Docker nodes, with kubectl: resources, cordon, nodeSelector, taints, spreading."""

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
NODES = ["boxk8s-control-plane", "boxk8s-worker", "boxk8s-worker2"]
TRAP = 'trap "exit 0" TERM; while true; do sleep 1; done'


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    subprocess.run(["bash", "scripts/build_images.sh"], check=True)
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state", extra=["--nodes", "3", "--node-cpu", "1000"])
    try:
        wait_for(lambda: ready_nodes(b) == sorted(NODES), 30, what="3 Ready nodes")
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"
    assert cluster_objects(b.cluster_name) == {"containers": [], "networks": [], "volumes": []}


@pytest.fixture(autouse=True)
def clean_slate(cluster: Boxk8s) -> Iterator[None]:
    """Each test starts with no pods and plain nodes, and leaves it so."""
    yield
    cluster.kubectl("delete", "pods", "--all", "--wait=false")
    for node in NODES:
        cluster.kubectl("uncordon", node)
        cluster.kubectl("taint", "nodes", node, "dedicated-", check=False)
    wait_for(lambda: cluster.kubectl("get", "pods", "-o", "name").stdout.split() == [], 30, what="no pods left")


def ready_nodes(c: Boxk8s) -> list[str]:
    nodes = json.loads(c.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    return sorted(n["metadata"]["name"] for n in nodes
                  if any(cond["type"] == "Ready" and cond["status"] == "True" for cond in n["status"]["conditions"]))


def pod(name: str, cpu: str = "100m", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 2, **spec, "containers": [{
                "name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", TRAP],
                "resources": {"requests": {"cpu": cpu}}}]}}


def apply(c: Boxk8s, *objects: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def node_of(c: Boxk8s, name: str, timeout: float = 20) -> str:
    def bound() -> str:
        return str(json.loads(c.kubectl("get", "pod", name, "-o", "json").stdout)["spec"].get("nodeName") or "")
    return wait_for(bound, timeout, what=f"pod {name} scheduled")  # type: ignore[no-any-return]


def test_too_big_pod_stays_pending_with_failed_scheduling(cluster: Boxk8s) -> None:
    apply(cluster, pod("huge", cpu="2"))

    def failed_scheduling() -> list[dict[str, Any]]:
        events = json.loads(cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=huge",
                                            "-o", "json").stdout)["items"]
        return [e for e in events if e["reason"] == "FailedScheduling"]
    [event] = wait_for(failed_scheduling, what="FailedScheduling event")
    assert event["type"] == "Warning"
    assert event["message"].startswith("0/3 nodes are available: 3 Insufficient cpu."), event["message"]
    p = json.loads(cluster.kubectl("get", "pod", "huge", "-o", "json").stdout)
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")
    scheduled = next(cond for cond in p["status"]["conditions"] if cond["type"] == "PodScheduled")
    assert scheduled["status"] == "False" and scheduled["reason"] == "Unschedulable"
    assert "Pending" in cluster.kubectl("get", "pod", "huge").stdout
    described = cluster.kubectl("describe", "pod", "huge").stdout
    assert "FailedScheduling" in described and "Insufficient cpu" in described


def test_cordon_steers_pods_to_the_schedulable_node(cluster: Boxk8s) -> None:
    cluster.kubectl("cordon", NODES[0])
    cluster.kubectl("cordon", NODES[1])
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert {n["metadata"]["name"] for n in nodes if n["spec"].get("unschedulable")} == set(NODES[:2])
    assert "SchedulingDisabled" in cluster.kubectl("get", "node", NODES[0]).stdout
    apply(cluster, pod("c1"), pod("c2"))
    assert node_of(cluster, "c1") == NODES[2] and node_of(cluster, "c2") == NODES[2]


def test_node_selector(cluster: Boxk8s) -> None:
    apply(cluster, pod("picky", nodeSelector={"kubernetes.io/hostname": NODES[1]}),
          pod("nowhere", nodeSelector={"disk": "ssd"}))
    assert node_of(cluster, "picky") == NODES[1]
    wait_for(lambda: "didn't match Pod's node affinity/selector" in cluster.kubectl(
        "get", "events", "--field-selector", "involvedObject.name=nowhere").stdout, what="selector mismatch event")
    cluster.kubectl("label", "node", NODES[2], "disk=ssd")
    try:
        assert node_of(cluster, "nowhere", timeout=30) == NODES[2]
    finally:
        cluster.kubectl("label", "node", NODES[2], "disk-")


def test_taints_and_tolerations(cluster: Boxk8s) -> None:
    cluster.kubectl("taint", "nodes", NODES[0], "dedicated=infra:NoSchedule")
    cluster.kubectl("taint", "nodes", NODES[2], "dedicated=infra:NoSchedule")
    apply(cluster, *(pod(f"t{i}", cpu="10m") for i in range(3)))
    assert {node_of(cluster, f"t{i}") for i in range(3)} == {NODES[1]}
    # A pod that tolerates the taint and is pinned to a tainted node runs there.
    apply(cluster, pod("tolerant", nodeSelector={"kubernetes.io/hostname": NODES[2]}, tolerations=[
        {"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]))
    assert node_of(cluster, "tolerant") == NODES[2]


def test_pods_spread_to_least_allocated_nodes(cluster: Boxk8s) -> None:
    apply(cluster, *(pod(f"s{i}", cpu="400m") for i in range(3)))
    placed = {node_of(cluster, f"s{i}") for i in range(3)}
    assert placed == set(NODES)

    def running() -> bool:
        out = cluster.kubectl("get", "pods", "--no-headers").stdout.splitlines()
        return len(out) == 3 and all(line.split()[2] == "Running" for line in out)
    wait_for(running, 30, what="spread pods running")
    wide = cluster.kubectl("get", "pods", "-o", "wide", "--no-headers").stdout
    assert {line.split()[6] for line in wide.splitlines()} == set(NODES)
