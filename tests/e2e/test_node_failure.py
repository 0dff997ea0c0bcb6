"""`boxk8s node stop`: a node with a Deployment's pods goes NotReady, the pods move, and come back cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
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
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state",
                     extra=["--nodes", "3", "--node-cpu", "1000", "--node-grace", "4", "--eviction-seconds", "2"])
    try:
        wait_for(lambda: ready(b) == {n: "True" for n in NODES}, 30, what="3 Ready nodes")
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"
    assert cluster_objects(b.cluster_name) == {"containers": [], "networks": [], "volumes": []}


def ready(c: Boxk8s) -> dict[str, str]:
    nodes = json.loads(c.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    return {n["metadata"]["name"]: next(x["status"] for x in n["status"]["conditions"] if x["type"] == "Ready")
            for n in nodes}


def taints(c: Boxk8s, node: str) -> list[tuple[str, str]]:
    n = json.loads(c.kubectl("get", "node", node, "-o", "json").stdout)
    return sorted((t["key"], t["effect"]) for t in n["spec"].get("taints") or [])


def pods(c: Boxk8s) -> list[dict[str, Any]]:
    return list(json.loads(c.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"])


def healthy(c: Boxk8s) -> list[dict[str, Any]]:
    return [p for p in pods(c) if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"
            and any(x["type"] == "Ready" and x["status"] == "True" for x in p["status"].get("conditions") or [])]


def boxk8s_node(c: Boxk8s, verb: str, node: str) -> None:
    subprocess.run([sys.executable, "-m", "boxk8s.cli", "node", verb, node, "--state-dir", str(c.state_dir)],
                   check=True, capture_output=True, timeout=30)


def deployment(replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                           "whenUnsatisfiable": "ScheduleAnyway",
                                           "labelSelector": {"matchLabels": {"app": "web"}}}],
            "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", TRAP]}]}}}}


def test_stopped_node_goes_not_ready_and_its_pods_move(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(deployment(3)))
    wait_for(lambda: len(healthy(cluster)) == 3, 60, what="3 running pods")
    victim = healthy(cluster)[0]["spec"]["nodeName"]
    on_victim = {p["metadata"]["name"] for p in healthy(cluster) if p["spec"]["nodeName"] == victim}

    boxk8s_node(cluster, "stop", victim)
    wait_for(lambda: ready(cluster)[victim] == "Unknown", 30, what=f"{victim} NotReady (Unknown)")
    assert "NotReady" in cluster.kubectl("get", "node", victim).stdout
    wait_for(lambda: taints(cluster, victim) == [("node.kubernetes.io/unreachable", "NoExecute"),
                                                 ("node.kubernetes.io/unreachable", "NoSchedule")],
             20, what="unreachable taints")

    def moved() -> bool:
        good = healthy(cluster)
        return len(good) == 3 and all(p["spec"]["nodeName"] != victim for p in good)

    wait_for(moved, 60, what="3 running pods on the other nodes")
    assert not on_victim & {p["metadata"]["name"] for p in healthy(cluster)}

    boxk8s_node(cluster, "start", victim)
    wait_for(lambda: ready(cluster)[victim] == "True" and taints(cluster, victim) == [], 60,
             what=f"{victim} Ready again, untainted")

    def clean() -> bool:  # the evicted pods finish terminating; nothing is duplicated
        all_pods = pods(cluster)
        return len(all_pods) == 3 and len(healthy(cluster)) == 3

    wait_for(clean, 60, what="exactly 3 pods, all running")
    cluster.kubectl("delete", "deployment", "web")
    wait_for(lambda: pods(cluster) == [], 60, what="the Deployment's pods deleted")
