"""Resource metrics and the HPA on real Docker pods, with the real kubectl: `kubectl top` with
default flags (no metrics-server to install), and a Deployment whose pods burn CPU scaled up by an
HPA, then down again once the load stops."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import remove_cluster_objects, used_subnets

IMAGE = "boxk8s-busybox:latest"
# Busy until /stop exists (then idle): the load stops with a `kubectl exec`, not a rollout.
BURN = "while [ ! -f /stop ]; do :; done; exec sleep 3600"


def free_subnet() -> str:
    """A /24 of this module's pod subnet range (10.218.0.0/16) that no Docker network overlaps."""
    used = used_subnets()
    for n in range(256):
        net = ipaddress.ip_network(f"10.218.{n}.0/24")
        if not any(net.overlaps(u) for u in used):
            return str(net)
    raise RuntimeError("no free /24 left in 10.218.0.0/16")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state", cluster_name=f"boxk8s-met-{uuid.uuid4().hex[:8]}",
                     pod_subnet=free_subnet(), extra=["--metric-resolution", "2", "--hpa-sync-period", "2"])
    try:
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"


def apply(c: Boxk8s, *docs: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def pod(name: str, command: str, cpu_limit: str = "100m") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"test": "top"}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", command],
                "resources": {"requests": {"cpu": "20m"}, "limits": {"cpu": cpu_limit}}}]}}


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def cpu_millis(cell: str) -> float:
    return float(cell[:-1]) if cell.endswith("m") else float(cell) * 1000


def test_kubectl_top(cluster: Boxk8s) -> None:
    apply(cluster, pod("top-busy", BURN), pod("top-idle", "exec sleep 3600"))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/top-busy", "pod/top-idle", "--timeout=60s")

    def top_pods() -> str:
        result = cluster.kubectl("top", "pods", check=False)
        return result.stdout if result.returncode == 0 and "top-busy" in result.stdout else ""

    out = wait_for(top_pods, timeout=30, interval=0.5, what="kubectl top pods")
    print(f"\n$ kubectl top pods\n{out}")
    rows = {r[0]: r for r in table(out)}
    assert rows["NAME"] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert 30 <= cpu_millis(rows["top-busy"][1]) <= 130, out  # a busy loop capped at 100m
    assert cpu_millis(rows["top-idle"][1]) < 10, out
    assert re.fullmatch(r"\d+Mi", rows["top-idle"][2]), out

    out = cluster.kubectl("top", "pods", "-A").stdout
    print(f"$ kubectl top pods -A\n{out}")
    header, *rest = table(out)
    assert header == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert ["default", "top-busy"] in [r[:2] for r in rest]

    out = cluster.kubectl("top", "pod", "top-busy", "--containers").stdout
    print(f"$ kubectl top pod top-busy --containers\n{out}")
    header, row = table(out)
    assert header == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"] and row[:2] == ["top-busy", "main"]

    out = cluster.kubectl("top", "nodes").stdout
    print(f"$ kubectl top nodes\n{out}")
    header, *nodes = table(out)
    assert header == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert nodes and cpu_millis(nodes[0][1]) >= 30 and nodes[0][2].endswith("%"), out

    raw = json.loads(cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/top-busy")
                     .stdout)
    assert raw["kind"] == "PodMetrics" and re.fullmatch(r"\d+n|\d+[um]?", raw["containers"][0]["usage"]["cpu"])
    services = cluster.kubectl("get", "apiservices", "v1beta1.metrics.k8s.io", "-o", "json").stdout
    assert json.loads(services)["status"]["conditions"][0]["status"] == "True"
    cluster.kubectl("delete", "pod", "top-busy", "top-idle", "--wait=false")


def burner() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burner"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burner"}},
                     "template": {"metadata": {"labels": {"app": "burner"}}, "spec": pod("x", BURN)["spec"]}}}


def autoscaler() -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "burner"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burner"},
                     "minReplicas": 1, "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}}


def get(c: Boxk8s, *what: str) -> dict[str, Any]:
    return dict(json.loads(c.kubectl("get", *what, "-o", "json").stdout))


def rescales(c: Boxk8s) -> list[str]:
    events = get(c, "events")["items"]
    return [e["message"] for e in events if e["involvedObject"]["name"] == "burner"
            and e["involvedObject"]["kind"] == "HorizontalPodAutoscaler" and e["reason"] == "SuccessfulRescale"]


def test_hpa_scales_a_deployment_up_and_down(cluster: Boxk8s) -> None:
    apply(cluster, burner(), autoscaler())

    def replicas(n: int) -> bool:
        return bool(get(cluster, "deployment", "burner")["spec"]["replicas"] == n)

    wait_for(lambda: replicas(3), timeout=90, interval=1, what="the HPA to scale burner to 3")
    assert any(m.startswith("New size: 3; reason: cpu resource utilization (percentage of request) above target")
               or m.startswith("New size: 2; reason: cpu resource utilization (percentage of request) above target")
               for m in rescales(cluster)), rescales(cluster)
    hpa = get(cluster, "hpa", "burner")
    assert hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] > 50, hpa["status"]

    cluster.kubectl("rollout", "status", "deployment/burner", "--timeout=90s")
    for p in get(cluster, "pods", "-l", "app=burner")["items"]:  # the load stops
        cluster.kubectl("exec", p["metadata"]["name"], "--", "touch", "/stop")

    wait_for(lambda: replicas(1), timeout=90, interval=1, what="the HPA to scale burner back to 1")
    assert "New size: 1; reason: All metrics below target" in wait_for(
        lambda: [m for m in rescales(cluster) if m.startswith("New size: 1")], timeout=10, what="the event")
    cluster.kubectl("delete", "hpa,deployment", "burner", "--wait=false")
