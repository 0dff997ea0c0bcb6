"""`kubectl cordon`, `drain` and `uncordon` against a PodDisruptionBudget, with the real kubectl and two Docker nodes.

kubectl drain evicts every pod of the node at once through pods/eviction (protobuf policy/v1
Evictions) and retries each refused one every 5 s; the disruption controller gives the budget
back when a replacement turns ready. A watch on the Deployment's pods checks that the number of
ready (and not terminating) pods never goes below the budget's minAvailable.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, config, watch

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import cluster_objects, free_subnet, remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"
NODES = ["boxk8s-control-plane", "boxk8s-worker"]
APP = 'mkdir -p /tmp; touch /tmp/ready; trap "exit 0" TERM; while true; do sleep 1; done'
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    subprocess.run(["bash", "scripts/build_images.sh"], check=True)
    # Parallel runs on one Docker host may give each run its own name prefix and subnet.
    name = f"{os.environ.get('BOXK8S_TEST_CLUSTER_PREFIX', 'test')}-{uuid.uuid4().hex[:8]}"
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state", extra=["--nodes", "2"], cluster_name=name,
                     pod_subnet=os.environ.get("BOXK8S_TEST_POD_SUBNET") or free_subnet())
    try:
        wait_for(lambda: node_ready(b) == {n: "True" for n in NODES}, 30, what="2 Ready nodes")
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"
    assert cluster_objects(b.cluster_name) == {"containers": [], "networks": [], "volumes": []}


def node_ready(c: Boxk8s) -> dict[str, str]:
    nodes = json.loads(c.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    return {n["metadata"]["name"]: next(x["status"] for x in n["status"]["conditions"] if x["type"] == "Ready")
            for n in nodes}


def manifests(min_available: int) -> str:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                           "whenUnsatisfiable": "ScheduleAnyway",
                                           "labelSelector": {"matchLabels": {"app": "web"}}}],
            "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", APP],
                            "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}}]}}}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
           "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}}}
    return yaml.safe_dump_all([deployment, pdb])


def web_pods(c: Boxk8s) -> list[dict[str, Any]]:
    return list(json.loads(c.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"])


def is_ready(pod: dict[str, Any]) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and any(
        x["type"] == "Ready" and x["status"] == "True" for x in pod["status"].get("conditions") or [])


def ready_by_node(c: Boxk8s) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in web_pods(c):
        if is_ready(p):
            out.setdefault(p["spec"]["nodeName"], []).append(p["metadata"]["name"])
    return out


def pdb_status(c: Boxk8s) -> dict[str, Any]:
    return dict(json.loads(c.kubectl("get", "pdb", "web", "-o", "json").stdout).get("status") or {})


def pdb_observed(c: Boxk8s) -> bool:
    pdb = json.loads(c.kubectl("get", "pdb", "web", "-o", "json").stdout)
    return bool((pdb.get("status") or {}).get("observedGeneration") == pdb["metadata"]["generation"])


def unschedulable(c: Boxk8s, node: str) -> bool:
    return bool(json.loads(c.kubectl("get", "node", node, "-o", "json").stdout)["spec"].get("unschedulable"))


class ReadyWatch(threading.Thread):
    """An informer of the Deployment's pods (list, then watch from its resourceVersion) recording the
    number of ready, non-terminating pods after every event."""

    def __init__(self, c: Boxk8s) -> None:
        super().__init__(daemon=True)
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(c.kubeconfig), client_configuration=cfg)
        self.api = client.ApiClient(cfg)
        self.pods: dict[str, Any] = {}
        self.counts: list[int] = []
        self.evicted: set[str] = set()  # pods seen with the eviction's DisruptionTarget condition
        self.done = threading.Event()
        self.error: BaseException | None = None

    def _ready(self, pod: Any) -> bool:
        return pod.metadata.deletion_timestamp is None and any(
            x.type == "Ready" and x.status == "True" for x in pod.status.conditions or [])

    def _seen(self, pod: Any) -> None:
        self.pods[pod.metadata.name] = pod
        if any(x.type == "DisruptionTarget" and x.reason == "EvictionByEvictionAPI"
               for x in pod.status.conditions or []):
            self.evicted.add(pod.metadata.name)

    def run(self) -> None:
        core = client.CoreV1Api(self.api)
        try:
            listed = core.list_namespaced_pod("default", label_selector="app=web")
            for pod in listed.items:
                self._seen(pod)
            self.counts.append(sum(self._ready(p) for p in self.pods.values()))
            rv = listed.metadata.resource_version
            while not self.done.is_set():
                for event in watch.Watch().stream(core.list_namespaced_pod, "default", label_selector="app=web",
                                                  resource_version=rv, timeout_seconds=1):
                    pod = event["object"]
                    rv = pod.metadata.resource_version
                    if event["type"] == "DELETED":
                        self.pods.pop(pod.metadata.name, None)
                    else:
                        self._seen(pod)
                    self.counts.append(sum(self._ready(p) for p in self.pods.values()))
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.api.close()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)
        assert not self.is_alive() and self.error is None, self.error


def test_drain_evicts_within_the_budget_and_uncordon(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifests(min_available=2))
    wait_for(lambda: sum(map(len, ready_by_node(cluster).values())) == 3, 60, what="3 ready pods")
    wait_for(lambda: pdb_status(cluster).get("disruptionsAllowed") == 1, 20, what="one disruption allowed")
    placed = ready_by_node(cluster)
    victim = max(NODES, key=lambda n: len(placed.get(n, [])))
    on_victim = set(placed[victim])

    watcher = ReadyWatch(cluster)
    watcher.start()
    wait_for(lambda: watcher.counts, 10, what="the watch's first list")
    try:
        out = cluster.kubectl("cordon", victim).stdout
        assert out.strip() == f"node/{victim} cordoned"
        assert unschedulable(cluster, victim)
        drained = cluster.kubectl("drain", victim, "--ignore-daemonsets", "--delete-emptydir-data",
                                  "--timeout", "120s", timeout=150)
        assert f"node/{victim} drained" in drained.stdout, drained.stdout
        for name in on_victim:
            assert f"pod/{name} evicted" in drained.stdout, drained.stdout
        wait_for(lambda: sum(map(len, ready_by_node(cluster).values())) == 3, 60, what="3 ready pods again")
    finally:
        watcher.stop()
    after = ready_by_node(cluster)
    assert victim not in after and not on_victim & {name for names in after.values() for name in names}
    assert min(watcher.counts) == 2, watcher.counts  # each eviction took one of 3 away, never two
    assert watcher.evicted == on_victim

    assert cluster.kubectl("uncordon", victim).stdout.strip() == f"node/{victim} uncordoned"
    assert not unschedulable(cluster, victim)


def test_drain_that_would_break_the_budget_times_out(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifests(min_available=3))
    wait_for(lambda: sum(map(len, ready_by_node(cluster).values())) == 3, 60, what="3 ready pods")
    wait_for(lambda: pdb_observed(cluster), 20, what="the new budget observed")
    assert pdb_status(cluster)["disruptionsAllowed"] == 0
    placed = ready_by_node(cluster)
    node = next(n for n in NODES if placed.get(n))

    result = cluster.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout", "10s",
                             check=False, timeout=60)
    assert result.returncode != 0
    for name in placed[node]:
        assert (f'error when evicting pods/"{name}" -n "default" (will retry after 5s): {TOO_MANY}'
                in result.stderr), result.stderr
        assert f'error when evicting pods/"{name}" -n "default": global timeout reached: 10s' in result.stderr
    assert ready_by_node(cluster) == placed  # nothing was evicted
    cluster.kubectl("uncordon", node)
