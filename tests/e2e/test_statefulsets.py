"""StatefulSets and DaemonSets on Docker nodes, driven by the real kubectl.

A StatefulSet of 3 with a volumeClaimTemplate starts its pods one at a time, in order; what a pod
writes to its claim survives the pod's deletion and a scale down and up. A DaemonSet covers
every node, including one added by restarting the cluster with more nodes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"
# busybox `sleep` as PID 1 ignores SIGTERM: trap it so pods stop at once.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]

STATEFULSET = {
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 3, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": SERVE,
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
    },
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}}
DAEMONSET = {
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "agent"},
    "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "agent", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": SERVE}]}},
    },
}


class Holder:
    """The module's cluster; a test may restart it with more nodes."""

    def __init__(self, b: Boxk8s) -> None:
        self.b = b


@pytest.fixture(scope="module")
def cluster2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holder]:
    state = tmp_path_factory.mktemp("boxk8s-sts") / "state"
    holder = Holder(start_boxk8s(state, extra=["--nodes", "2"]))
    try:
        yield holder
    finally:
        code = stop_boxk8s(holder.b)
        remove_cluster_objects(holder.b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{holder.b.log_tail()}"


def apply(b: Boxk8s, *objs: dict[str, Any]) -> None:
    b.kubectl("apply", "-f", "-", input="\n---\n".join(yaml.safe_dump(o) for o in objs))


def get_json(b: Boxk8s, *args: str) -> Any:
    return json.loads(b.kubectl("get", *args, "-o", "json").stdout)


def pods(b: Boxk8s, app: str) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in get_json(b, "pods", "-l", f"app={app}")["items"]}


def is_ready(p: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])


def watched_objects(text: str) -> list[dict[str, Any]]:
    """`kubectl get -w -o json` prints one JSON document after another."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)


def exec_sh(b: Boxk8s, pod: str, script: str) -> str:
    return b.kubectl("exec", pod, "--", "sh", "-c", script).stdout


def test_statefulset_order_and_persistent_data(cluster2: Holder) -> None:
    b = cluster2.b
    watch = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(b.kubeconfig), "--cache-dir", str(b.cache_dir), "get", "pods", "-l", "app=web",
         "-w", "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: b.kubectl("get", "pods", check=False).returncode == 0, what="kubectl")
        apply(b, SERVICE, STATEFULSET)
        out = b.kubectl("rollout", "status", "statefulset/web", "--timeout=180s", timeout=200).stdout
        assert "roll out complete" in out, out
    finally:
        watch.terminate()
        seen, _ = watch.communicate(timeout=10)
    # web-n+1 appears only after web-n is Ready
    ready_seen: set[str] = set()
    first_seen: list[str] = []
    for p in watched_objects(seen):
        name = p["metadata"]["name"]
        if name not in first_seen:
            ordinal = int(name.rsplit("-", 1)[1])
            assert ordinal == 0 or f"web-{ordinal - 1}" in ready_seen, (name, ready_seen)
            first_seen.append(name)
        if is_ready(p):
            ready_seen.add(name)
    assert first_seen == ["web-0", "web-1", "web-2"]

    sts = get_json(b, "statefulset", "web")
    st = sts["status"]
    assert st["readyReplicas"] == 3 and st["currentRevision"] == st["updateRevision"]
    claims = get_json(b, "pvc")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-web-0", "data-web-1", "data-web-2"]
    assert all(c["status"]["phase"] == "Bound" for c in claims)
    table = b.kubectl("get", "pvc").stdout
    assert table.count("Bound") == 3 and "standard" in table, table
    events = b.kubectl("get", "events", "--field-selector", "reason=SuccessfulCreate").stdout
    assert "create Pod web-0 in StatefulSet web successful" in events, events
    assert pods(b, "web")["web-1"]["spec"]["hostname"] == "web-1"

    # data written by web-1 outlives web-1
    exec_sh(b, "web-1", "echo x > /data/f")
    old_uid = pods(b, "web")["web-1"]["metadata"]["uid"]
    b.kubectl("delete", "pod", "web-1", timeout=60)

    def web1_back() -> bool:
        p = pods(b, "web").get("web-1")
        return bool(p and p["metadata"]["uid"] != old_uid and is_ready(p))

    wait_for(web1_back, timeout=90, interval=0.5, what="web-1 recreated")
    assert exec_sh(b, "web-1", "cat /data/f").strip() == "x"

    # ... and a scale down to 1 and back to 3
    b.kubectl("scale", "statefulset", "web", "--replicas=1")
    wait_for(lambda: set(pods(b, "web")) == {"web-0"}, timeout=90, interval=0.5, what="scale down to 1")
    assert len(get_json(b, "pvc")["items"]) == 3
    b.kubectl("scale", "statefulset", "web", "--replicas=3")
    b.kubectl("rollout", "status", "statefulset/web", "--timeout=180s", timeout=200)
    assert exec_sh(b, "web-1", "cat /data/f").strip() == "x"
    assert exec_sh(b, "web-2", "cat /data/f 2>/dev/null || echo none").strip() == "none"


def agent_nodes(b: Boxk8s) -> list[str]:
    return sorted(p["spec"].get("nodeName", "") for p in pods(b, "agent").values()
                  if is_ready(p) and not p["metadata"].get("deletionTimestamp"))


def test_daemonset_covers_every_node_including_added(cluster2: Holder) -> None:
    b = cluster2.b
    apply(b, DAEMONSET)
    b.kubectl("rollout", "status", "daemonset/agent", "--timeout=120s", timeout=140)
    nodes = sorted(n["metadata"]["name"] for n in get_json(b, "nodes")["items"])
    assert len(nodes) == 2
    assert agent_nodes(b) == nodes
    st = get_json(b, "daemonset", "agent")["status"]
    assert st["desiredNumberScheduled"] == 2 and st["numberReady"] == 2 and st["updatedNumberScheduled"] == 2

    # restart the cluster with one more node: the DaemonSet follows
    state = b.state_dir
    assert stop_boxk8s(b) == 0, b.log_tail()
    cluster2.b = b = start_boxk8s(state, port=b.port, cluster_name=b.cluster_name, extra=["--nodes", "3"])

    def three_nodes() -> list[str] | None:
        names = sorted(n["metadata"]["name"] for n in get_json(b, "nodes")["items"])
        return names if len(names) == 3 else None

    nodes = wait_for(three_nodes, timeout=60, what="3 nodes")
    wait_for(lambda: agent_nodes(b) == nodes, timeout=120, interval=0.5, what="a daemon pod on every node")
    b.kubectl("rollout", "status", "daemonset/agent", "--timeout=120s", timeout=140)
    assert get_json(b, "daemonset", "agent")["status"]["desiredNumberScheduled"] == 3
    # the StatefulSet came through the restart too
    b.kubectl("rollout", "status", "statefulset/web", "--timeout=120s", timeout=140)


def test_watch_output_parsing() -> None:
    assert watched_objects('{"a": 1}\n{\n "b": 2\n}\n') == [{"a": 1}, {"b": 2}]
    assert watched_objects("") == []
