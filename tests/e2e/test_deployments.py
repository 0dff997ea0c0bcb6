"""Deployments on real Docker pods, driven by the real kubectl: healing, rollouts within bounds, rollout verbs."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

import yaml

from tests.e2e.conftest import Boxk8s, wait_for

IMAGE = "boxk8s-busybox:latest"
ROLLOUT_TIMEOUT = "180s"


def manifest(name: str, replicas: int = 3) -> str:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "web", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["httpd", "-f", "-p", "8080"],
                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                    }],
                },
            },
        },
    })


def pods(c: Boxk8s, app: str) -> list[dict[str, Any]]:
    return json.loads(c.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]


def is_ready(p: dict[str, Any]) -> bool:
    return any(x["type"] == "Ready" and x["status"] == "True" for x in (p.get("status") or {}).get("conditions") or [])


def ready_pods(c: Boxk8s, app: str, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        live = [p for p in pods(c, app) if not p["metadata"].get("deletionTimestamp")]
        return live if len(live) == count and all(is_ready(p) for p in live) else None
    return wait_for(check, timeout=timeout, interval=0.5, what=f"{count} ready pods of {app}")


def rollout_status(c: Boxk8s, name: str) -> str:
    out = c.kubectl("rollout", "status", f"deployment/{name}", f"--timeout={ROLLOUT_TIMEOUT}", timeout=200)
    assert out.returncode == 0
    assert f'deployment "{name}" successfully rolled out' in out.stdout
    return out.stdout


def replicasets(c: Boxk8s, app: str) -> list[dict[str, Any]]:
    return json.loads(c.kubectl("get", "rs", "-l", f"app={app}", "-o", "json").stdout)["items"]


class PodWatch:
    """`kubectl get pods -w`: the fewest ready live pods and the most live pods seen at any moment."""

    def __init__(self, c: Boxk8s, app: str) -> None:
        cmd = ["kubectl", "--kubeconfig", str(c.kubeconfig), "--cache-dir", str(c.cache_dir), "get", "pods",
               "-l", f"app={app}", "-w", "-o", "json", "--output-watch-events"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.pods: dict[str, dict[str, Any]] = {}
        self.min_ready: int | None = None
        self.max_live = 0
        self.events = 0
        self.log: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder, buf = json.JSONDecoder(), ""
        for line in self.proc.stdout:
            buf += line
            while buf.strip():
                try:
                    ev, end = decoder.raw_decode(buf.lstrip())
                except ValueError:
                    break
                buf = buf.lstrip()[end:]
                self._apply(ev)

    def _apply(self, ev: dict[str, Any]) -> None:
        obj = ev["object"]
        name = obj["metadata"]["name"]
        if ev["type"] == "DELETED":
            self.pods.pop(name, None)
        else:
            self.pods[name] = obj
        live = [p for p in self.pods.values() if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in live if is_ready(p))
        self.events += 1
        if self.events > 3:  # after the initial listing
            self.min_ready = ready if self.min_ready is None else min(self.min_ready, ready)
        self.max_live = max(self.max_live, len(live))
        self.log.append(f"{ev['type']} {name}: live={len(live)} ready={ready}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.thread.join(timeout=10)


def test_deployment_heals_deleted_pods_and_killed_containers(cluster: Boxk8s) -> None:
    c = cluster
    c.kubectl("apply", "-f", "-", input=manifest("heal"))
    rollout_status(c, "heal")
    before = ready_pods(c, "heal", 3)
    victim = before[0]["metadata"]["name"]
    c.kubectl("delete", "pod", victim, "--wait=false")
    after = ready_pods(c, "heal", 3)
    assert victim not in {p["metadata"]["name"] for p in after}

    target = after[0]["metadata"]["name"]
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.kubernetes.pod.name={target}",
                          "--filter", "label=io.kubernetes.container.name=web"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(ids) == 1, ids
    subprocess.run(["docker", "kill", ids[0]], check=True, capture_output=True)

    def restarted() -> bool:
        p = json.loads(c.kubectl("get", "pod", target, "-o", "json").stdout)
        return is_ready(p) and p["status"]["containerStatuses"][0]["restartCount"] >= 1
    wait_for(restarted, timeout=90, interval=0.5, what="killed container restarted and ready")
    ready_pods(c, "heal", 3)
    d = json.loads(c.kubectl("get", "deployment", "heal", "-o", "json").stdout)
    assert d["status"]["availableReplicas"] == 3 and d["status"]["readyReplicas"] == 3


def test_rollout_within_bounds_then_undo_and_history(cluster: Boxk8s) -> None:
    c = cluster
    c.kubectl("apply", "-f", "-", input=manifest("web"))
    c.kubectl("annotate", "deployment", "web", "kubernetes.io/change-cause=first")
    rollout_status(c, "web")
    first = ready_pods(c, "web", 3)
    watch = PodWatch(c, "web")
    try:
        wait_for(lambda: watch.events >= 3, timeout=20, what="watch started")
        c.kubectl("set", "env", "deployment/web", "VERSION=2")
        c.kubectl("annotate", "deployment", "web", "kubernetes.io/change-cause=second", "--overwrite")
        rollout_status(c, "web")
        second = ready_pods(c, "web", 3)
        time.sleep(1)
    finally:
        watch.stop()
    # defaults: maxSurge 25% of 3 → 1 (rounds up), maxUnavailable 25% of 3 → 0 (rounds down)
    assert watch.max_live <= 4, watch.log
    assert watch.min_ready is not None and watch.min_ready >= 3, watch.log
    assert watch.max_live == 4, watch.log  # the surge was used
    assert not {p["metadata"]["name"] for p in first} & {p["metadata"]["name"] for p in second}
    for p in second:
        assert {"name": "VERSION", "value": "2"} in p["spec"]["containers"][0]["env"]

    history = c.kubectl("rollout", "history", "deployment/web").stdout
    lines = [line.split() for line in history.splitlines()[2:] if line.strip()]
    assert [(w[0], w[1]) for w in lines] == [("1", "first"), ("2", "second")], history

    c.kubectl("rollout", "undo", "deployment/web")
    rollout_status(c, "web")
    for p in ready_pods(c, "web", 3):
        assert "env" not in p["spec"]["containers"][0]
    d = json.loads(c.kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
    history = c.kubectl("rollout", "history", "deployment/web").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"], history
    detail = c.kubectl("rollout", "history", "deployment/web", "--revision=2").stdout
    assert "VERSION" in detail
    c.kubectl("rollout", "undo", "deployment/web", "--to-revision=2")
    rollout_status(c, "web")
    for p in ready_pods(c, "web", 3):
        assert {"name": "VERSION", "value": "2"} in p["spec"]["containers"][0]["env"]
    conds = {x["type"]: x for x in d["status"]["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    events = c.kubectl("get", "events", "--field-selector", "involvedObject.name=web", "-o", "json").stdout
    messages = [e["message"] for e in json.loads(events)["items"]]
    assert any(m.startswith("Scaled up replica set web-") and m.endswith("to 3 from 0") for m in messages), messages


def test_pause_resume_restart_and_scale(cluster: Boxk8s) -> None:
    c = cluster
    c.kubectl("apply", "-f", "-", input=manifest("ops", replicas=2))
    rollout_status(c, "ops")
    c.kubectl("rollout", "pause", "deployment/ops")
    c.kubectl("set", "env", "deployment/ops", "PAUSED=yes")
    time.sleep(2)
    assert len(replicasets(c, "ops")) == 1  # no rollout while paused
    d = json.loads(c.kubectl("get", "deployment", "ops", "-o", "json").stdout)
    assert any(x["reason"] == "DeploymentPaused" for x in d["status"]["conditions"])
    c.kubectl("rollout", "resume", "deployment/ops")
    rollout_status(c, "ops")
    assert len(replicasets(c, "ops")) == 2

    c.kubectl("rollout", "restart", "deployment/ops")
    rollout_status(c, "ops")
    assert len(replicasets(c, "ops")) == 3
    for p in ready_pods(c, "ops", 2):
        assert "kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"]

    c.kubectl("scale", "deployment/ops", "--replicas=4")
    rollout_status(c, "ops")
    ready_pods(c, "ops", 4)
    c.kubectl("scale", "deployment/ops", "--replicas=1")
    ready_pods(c, "ops", 1)
    rollout_status(c, "ops")
    table = c.kubectl("get", "deployment", "ops").stdout
    assert table.split("\n")[1].split()[1:4] == ["1/1", "1", "1"], table
