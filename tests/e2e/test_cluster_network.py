"""The in-cluster data path on Docker pods, driven by the real kubectl: ClusterIP balancing from pods
(ready endpoints only, readiness changes, rollouts with no failed request)."""

from __future__ import annotations

import collections
import threading

import pytest

from tests.e2e.conftest import Boxk8s, wait_for

IMAGE = "boxk8s-busybox:latest"

# A web server that answers its own pod name, and is ready while /www/ready exists.
WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 3
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxUnavailable: 0, maxSurge: 1}}}}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: {image}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /www/ready && exec httpd -f -p 8080 -h /www"]
        ports: [{{containerPort: 8080, name: http}}]
        readinessProbe:
          httpGet: {{path: /ready, port: http}}
          periodSeconds: 1
          failureThreshold: 1
        lifecycle:
          preStop: {{exec: {{command: ["sleep", "2"]}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: {ns}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: {image}
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def app(cluster: Boxk8s) -> Boxk8s:
    """A 3-replica web Deployment with its Service in namespace b, and a client pod in namespace a."""
    for ns in ("a", "b"):
        cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("apply", "-f", "-", input=WEB.format(ns="b", image=IMAGE))
    cluster.kubectl("apply", "-f", "-", input=CLIENT.format(ns="a", image=IMAGE))
    cluster.kubectl("-n", "b", "rollout", "status", "deploy/web", "--timeout=90s")
    cluster.kubectl("-n", "a", "wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    return cluster


def web_pods(cluster: Boxk8s) -> set[str]:
    out = cluster.kubectl("-n", "b", "get", "pods", "-l", "app=web", "--field-selector=status.phase=Running",
                          "-o", "jsonpath={.items[*].metadata.name}").stdout
    return set(out.split())


def fetch(cluster: Boxk8s, url: str, n: int) -> list[str]:
    """n requests from the client pod; each answer is the serving pod's name ("FAIL" for a failure)."""
    script = f"for i in $(seq {n}); do timeout 5 wget -qO- {url} || echo FAIL; done"
    out = cluster.kubectl("-n", "a", "exec", "client", "--", "sh", "-c", script, timeout=120).stdout
    return out.split()


def cluster_ip(cluster: Boxk8s) -> str:
    return cluster.kubectl("-n", "b", "get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout.strip()


def test_requests_to_the_cluster_ip_reach_every_ready_pod(app: Boxk8s) -> None:
    ip = cluster_ip(app)
    wait_for(lambda: fetch(app, f"http://{ip}/", 1) != ["FAIL"], timeout=10, what="the ClusterIP answering")
    answers = fetch(app, f"http://{ip}/", 60)
    pods = web_pods(app)
    assert len(pods) == 3
    assert "FAIL" not in answers and set(answers) == pods, collections.Counter(answers)


def test_a_pod_that_turns_unready_gets_no_request_and_comes_back(app: Boxk8s) -> None:
    ip = cluster_ip(app)
    victim = sorted(web_pods(app))[0]
    app.kubectl("-n", "b", "exec", victim, "--", "rm", "/www/ready")

    def unready() -> bool:
        out = app.kubectl("-n", "b", "get", "endpoints", "web", "-o", "jsonpath={.subsets[*].notReadyAddresses[*].targetRef.name}")
        return victim in out.stdout.split()

    wait_for(unready, timeout=20, what=f"{victim} unready in the Endpoints")
    # The agent's rules follow within a second; requests right after may still race that, so the
    # 30 that count start once one round of the ready pods has been seen without the victim.
    wait_for(lambda: victim not in fetch(app, f"http://{ip}/", 6), timeout=10, what="the victim out of rotation")
    answers = fetch(app, f"http://{ip}/", 30)
    assert "FAIL" not in answers and victim not in answers, collections.Counter(answers)

    app.kubectl("-n", "b", "exec", victim, "--", "touch", "/www/ready")
    wait_for(lambda: victim in fetch(app, f"http://{ip}/", 12), timeout=30, what=f"{victim} back in rotation")


def test_a_rollout_restart_fails_no_request(app: Boxk8s) -> None:
    ip = cluster_ip(app)
    before = web_pods(app)
    answers: list[str] = []
    stop = threading.Event()

    def client_loop() -> None:
        while not stop.is_set():
            answers.extend(fetch(app, f"http://{ip}/", 20))

    loop = threading.Thread(target=client_loop)
    loop.start()
    try:
        app.kubectl("-n", "b", "rollout", "restart", "deploy/web")
        app.kubectl("-n", "b", "rollout", "status", "deploy/web", "--timeout=120s", timeout=150)
        wait_for(lambda: not (web_pods(app) & before), timeout=60, what="the old pods gone")
        seen = len(answers)
        wait_for(lambda: len(answers) >= seen + 20, timeout=60, what="requests after the rollout")
    finally:
        stop.set()
        loop.join(timeout=120)
    after = web_pods(app)
    assert answers and "FAIL" not in answers, collections.Counter(answers)
    assert set(answers) & after, "no request reached a new pod"
