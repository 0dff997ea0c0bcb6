"""Image rebuild → rollout: `docker build -t` of a tag a Deployment runs rolls it to the new image, with
no failed request through its Service, and `kubectl rollout history` says why."""

from __future__ import annotations

import collections
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Boxk8s, wait_for

BASE = "boxk8s-busybox:latest"


@pytest.fixture
def image(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local tag of our own (removed afterwards) and the folder it is built from."""
    tag = f"boxk8s-test-{uuid.uuid4().hex[:8]}:dev"
    try:
        yield tag, tmp_path
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def build(tag: str, folder: Path, version: str) -> str:
    """`docker build -t tag` of an image whose page says `version`; returns the new image ID."""
    (folder / "Dockerfile").write_text(f"FROM {BASE}\nRUN mkdir -p /www && echo {version} > /www/index.html\n")
    subprocess.run(["docker", "build", "-q", "-t", tag, str(folder)], check=True, capture_output=True, timeout=120)
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", tag], check=True, capture_output=True,
                          text=True).stdout.strip()


APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: site}}
spec:
  replicas: 2
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxUnavailable: 0, maxSurge: 1}}}}
  selector: {{matchLabels: {{app: site}}}}
  template:
    metadata: {{labels: {{app: site}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: site
        image: {tag}
        imagePullPolicy: IfNotPresent
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
        ports: [{{containerPort: 8080, name: http}}]
        readinessProbe:
          httpGet: {{path: /, port: http}}
          periodSeconds: 1
        lifecycle:
          preStop: {{exec: {{command: ["sleep", "2"]}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: site}}
spec:
  selector: {{app: site}}
  ports: [{{port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: visitor}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: visitor
    image: {base}
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
"""


def visit(cluster: Boxk8s, n: int) -> list[str]:
    script = f"for i in $(seq {n}); do timeout 5 wget -qO- http://site/ || echo FAIL; done"
    return cluster.kubectl("exec", "visitor", "--", "sh", "-c", script, timeout=120).stdout.split()


def image_ids(cluster: Boxk8s) -> set[str]:
    out = cluster.kubectl("get", "pods", "-l", "app=site", "--field-selector=status.phase=Running", "-o",
                          "jsonpath={.items[*].status.containerStatuses[0].imageID}").stdout
    return set(out.split())


def test_rebuilding_a_tag_rolls_the_deployment_with_no_failed_request(cluster: Boxk8s,
                                                                       image: tuple[str, Path]) -> None:
    tag, folder = image
    first = build(tag, folder, "v1")
    cluster.kubectl("apply", "-f", "-", input=APP.format(tag=tag, base=BASE))
    cluster.kubectl("rollout", "status", "deploy/site", "--timeout=90s")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/visitor", "--timeout=60s")
    wait_for(lambda: visit(cluster, 1) == ["v1"], timeout=20, what="v1 served")
    assert all(first.removeprefix("sha256:") in i for i in image_ids(cluster)), image_ids(cluster)

    answers: list[str] = []
    stop = threading.Event()

    def visitor() -> None:
        while not stop.is_set():
            answers.extend(visit(cluster, 10))

    loop = threading.Thread(target=visitor)
    loop.start()
    try:
        second = build(tag, folder, "v2")
        assert second != first
        wait_for(lambda: image_ids(cluster) and all(second.removeprefix("sha256:") in i for i in image_ids(cluster)),
                 timeout=90, what="every pod on the rebuilt image")
        cluster.kubectl("rollout", "status", "deploy/site", "--timeout=90s")
        seen = len(answers)
        wait_for(lambda: len(answers) >= seen + 10, timeout=60, what="requests after the rollout")
    finally:
        stop.set()
        loop.join(timeout=120)
    assert answers and "FAIL" not in answers, collections.Counter(answers)
    assert answers[-1] == "v2", collections.Counter(answers)
    history = cluster.kubectl("rollout", "history", "deploy/site").stdout
    assert f"image {tag} rebuilt: {second.removeprefix('sha256:')[:12]}" in history, history
    events = cluster.kubectl("get", "events", "--field-selector=reason=ImageRebuilt").stdout
    assert "site" in events, events
