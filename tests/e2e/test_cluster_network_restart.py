"""Services across a boxk8s restart: `kill -9`, then `boxk8s up` again on the same state folder. The
network agent is adopted (same container), a connection made through a ClusterIP before the
restart carries on through it, and names and ClusterIPs answer new connections afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import free_subnet, remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"

APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: echo}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: echo}}}}
  template:
    metadata: {{labels: {{app: echo}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: echo
        image: {IMAGE}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && httpd -p 8080 -h /www && exec nc -ll -p 9000 -e cat"]
        ports: [{{containerPort: 8080, name: http}}, {{containerPort: 9000, name: echo}}]
---
apiVersion: v1
kind: Service
metadata: {{name: echo}}
spec:
  selector: {{app: echo}}
  ports: [{{name: http, port: 80, targetPort: http}}, {{name: echo, port: 9000, targetPort: echo}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    # Once the Service answers, one connection through its ClusterIP, kept open: a line a tenth of a
    # second, echoed into /out.
    command: ["sh", "-c", "until wget -qO- http://echo/ >/dev/null 2>&1; do sleep 0.2; done;
              while true; do echo ping; sleep 0.1; done | nc echo 9000 > /out; echo closed >> /out; sleep 3600"]
"""


def agent_id(cluster_name: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.Id}}", f"boxk8s-{cluster_name}-netagent"],
                          capture_output=True, text=True, check=True).stdout.strip()


def echoed(b: Boxk8s) -> str:
    return b.kubectl("exec", "client", "--", "cat", "/out").stdout


def test_services_keep_working_across_a_kill_and_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    subnet = free_subnet()
    b = start_boxk8s(state, pod_subnet=subnet)
    name = b.cluster_name
    try:
        b.kubectl("apply", "-f", "-", input=APP)
        b.kubectl("rollout", "status", "deploy/echo", "--timeout=90s")
        b.kubectl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
        wait_for(lambda: echoed(b).count("ping") >= 5, timeout=20, what="the echo connection carrying lines")
        agent = agent_id(name)

        b.proc.kill()  # kill -9: nothing is cleaned up
        b.proc.wait(timeout=10)
        # While boxk8s is down the data path is the kernel's alone: the connection keeps echoing.
        client = subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.boxk8s.cluster={name}",
                                 "--filter", "label=io.kubernetes.pod.name=client"],
                                capture_output=True, text=True, check=True).stdout.split()[0]

        def docker_echoed() -> int:
            return subprocess.run(["docker", "exec", client, "cat", "/out"], capture_output=True,
                                  text=True, check=True).stdout.count("ping")

        down = docker_echoed()
        wait_for(lambda: docker_echoed() >= down + 10, timeout=20, what="echoes while boxk8s is down")

        b = start_boxk8s(state, port=b.port, cluster_name=name, pod_subnet=subnet)
        assert agent_id(name) == agent, "the network agent was recreated instead of adopted"
        count = echoed(b).count("ping")
        wait_for(lambda: echoed(b).count("ping") >= count + 10, timeout=20, what="the old connection still echoing")
        assert "closed" not in echoed(b)

        out = b.kubectl("exec", "client", "--", "sh", "-c", "timeout 5 wget -qO- http://echo/").stdout
        assert out.strip().startswith("echo-"), out
    finally:
        stop_boxk8s(b)
        remove_cluster_objects(name)
