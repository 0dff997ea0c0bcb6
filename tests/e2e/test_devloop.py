"""The dev loop as a developer meets it, with the real CLI and kubectl: `boxk8s up -d --wait` in a
project folder runs the example app of manifests/; saving a manifest changes the running app, a
deleted document is pruned, a broken save changes nothing and says where; `--wait` fails fast, with
the reason and the logs, when a pod cannot succeed; `down` leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.docker_cleanup import cluster_objects
from tests.e2e.test_background import ROOT, Project
from tests.e2e.test_background import project as project  # noqa: F401  (the fixture)

POOL = "10.206.0.0/16"  # its own part of test_background's range


@pytest.fixture
def app(project: Callable[[str], Project]) -> Iterator[Project]:  # noqa: F811
    """A project folder holding a copy of the example app, with its cluster up (`up -d --wait`)."""
    p = project("app")
    p.env["BOXK8S_SUBNET_POOL"] = POOL
    shutil.copytree(ROOT / "manifests", p.folder / "manifests")
    result = p.boxk8s("up", "-d", "--wait", "--timeout", "120s", "--cluster-name", p.name, "--no-kubeconfig")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{p.log()}"
    assert "ready: deployment/backend 2/2 ready, deployment/frontend 2/2 ready" in result.stdout, result.stdout
    yield p


def kubectl(p: Project, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["kubectl", "--kubeconfig", str(p.state / "kubeconfig"), "--cache-dir", str(p.folder / "kcache"), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}\n{p.log()}")
    return result


def page(p: Project, path: str = "/") -> str:
    port = json.loads((p.state / "cluster.json").read_text())["ingress_port"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": "app.localhost"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return str(resp.read().decode())
    except OSError as e:
        return f"error: {e}"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_up_wait_runs_the_example_app_and_down_leaves_nothing(app: Project) -> None:
    body = wait_for(lambda: (b := page(app)) and "backend says: backend backend-" in b and b, timeout=20,
                    what="the frontend's page with the backend's answer")
    assert "Hello from boxk8s" in body and "token set: yes" in body, body
    members = kubectl(app, "get", "deploy,svc,ingress,configmap,secret", "-A", "-l",
                      "applyset.kubernetes.io/part-of", "-o", "name").stdout.split()
    assert {"deployment.apps/frontend", "deployment.apps/backend", "service/frontend", "service/backend",
            "ingress.networking.k8s.io/app", "configmap/frontend-config", "secret/backend-secret"} <= set(members)
    result = app.boxk8s("down")
    assert result.returncode == 0, result.stderr
    assert cluster_objects(app.name) == {"containers": [], "networks": [], "volumes": []}


def test_saves_change_the_app_prune_and_broken_saves_change_nothing(app: Project) -> None:
    frontend = app.folder / "manifests" / "frontend.yaml"
    # an env value (through the ConfigMap the Deployment reads it from) and the replica count
    edit(frontend, "GREETING: Hello from boxk8s", "GREETING: Hello again")
    edit(frontend, "replicas: 2", "replicas: 3")
    wait_for(lambda: kubectl(app, "-n", "demo", "get", "deploy", "frontend", "-o",
                             "jsonpath={.status.readyReplicas}").stdout == "3", timeout=60, what="3 frontends")
    kubectl(app, "-n", "demo", "rollout", "restart", "deploy/frontend")  # env from a ConfigMap: new pods read it
    wait_for(lambda: "Hello again" in page(app), timeout=60, what="the new greeting served")

    # the Ingress path
    edit(frontend, "- path: /\n", "- path: /shop\n")
    wait_for(lambda: "Hello again" in page(app, "/shop") and "404" in page(app, "/"), timeout=20,
             what="the app moved to /shop")

    # a broken save: nothing from that file changes, and the log says where
    good = frontend.read_text()
    frontend.write_text(good.replace("replicas: 3", "replicas: many"))
    wait_for(lambda: "frontend.yaml" in app.log() and "replicas" in app.log().split("frontend.yaml")[-1],
             timeout=20, what="the broken save reported")
    log_tail = app.log()
    assert "manifests/frontend.yaml:" in log_tail, log_tail
    assert kubectl(app, "-n", "demo", "get", "deploy", "frontend", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    # fixed: applied again
    frontend.write_text(good.replace("replicas: 3", "replicas: 1"))
    wait_for(lambda: kubectl(app, "-n", "demo", "get", "deploy", "frontend", "-o",
                             "jsonpath={.spec.replicas}").stdout == "1", timeout=20, what="the fixed save applied")

    # a deleted document is pruned, and nothing else is
    backend = app.folder / "manifests" / "backend.yaml"
    docs = backend.read_text().split("\n---\n")
    backend.write_text("\n---\n".join(d for d in docs if "kind: Secret" not in d))
    wait_for(lambda: kubectl(app, "-n", "demo", "get", "secret", "backend-secret", check=False).returncode != 0,
             timeout=20, what="the Secret pruned")
    assert kubectl(app, "-n", "demo", "get", "deploy", "backend", "-o", "name").stdout.strip() == "deployment.apps/backend"
    assert kubectl(app, "-n", "demo", "get", "svc", "backend", "-o", "name").stdout.strip() == "service/backend"


BROKEN = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: main
        image: {image}
        imagePullPolicy: {policy}
        command: ["sh", "-c", "echo starting {name}; echo the config is missing >&2; exit 3"]
"""


@pytest.mark.parametrize(("image", "policy", "reason"), [
    ("boxk8s-busybox:latest", "IfNotPresent", "CrashLoopBackOff"),
    ("boxk8s-no-such-image:v1", "IfNotPresent", "ImagePullBackOff"),
])
def test_wait_fails_fast_with_the_reason_and_the_logs(project: Callable[[str], Project],  # noqa: F811
                                                      image: str, policy: str, reason: str) -> None:
    p = project("broken")
    p.env["BOXK8S_SUBNET_POOL"] = POOL
    (p.folder / "manifests").mkdir()
    (p.folder / "manifests" / "app.yaml").write_text(BROKEN.format(name="crasher", image=image, policy=policy))
    started = time.monotonic()
    result = p.boxk8s("up", "-d", "--wait", "--timeout", "100s", "--cluster-name", p.name, "--no-kubeconfig",
                      "--crashloop-base", "1")
    elapsed = time.monotonic() - started
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert elapsed < 60, f"took {elapsed:.0f}s: the wait should end as soon as the pod cannot succeed\n{out}"
    assert "deployment/crasher" in out and reason in out, out
    if reason == "CrashLoopBackOff":
        assert "the config is missing" in out and "starting crasher" in out, out  # its log lines
    else:
        assert "events:" in out, out
    assert instance_running(p), "the cluster keeps running after a failed --wait"


def instance_running(p: Project) -> bool:
    from boxk8s import instance

    return bool(instance.running_pid(p.state))
