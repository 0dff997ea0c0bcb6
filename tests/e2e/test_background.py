"""The cluster's lifecycle as a developer runs it: `up -d`, `status`, `logs -f`, `down`, and several
projects' clusters side by side, each in its own folder, subnet, ports and kubeconfig context.

Every cluster is named `test-…` (so the session's sweep finds it) and takes its pod subnet
automatically from 10.200.0.0/16 on (BOXK8S_SUBNET_POOL), away from the subnets other tests use.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from boxk8s import instance
from tests.e2e.conftest import free_port, wait_for
from tests.e2e.docker_cleanup import _docker, cluster_objects, remove_cluster_objects

ROOT = Path(__file__).resolve().parents[2]
POOL = "10.200.0.0/16"  # with the 11 after it: 10.200–10.211, clear of 10.212, 10.213 and 10.244
IMAGE = "boxk8s-busybox:latest"
NOTHING = {"containers": [], "networks": [], "volumes": []}


@dataclass
class Project:
    """A project folder with its own cluster; `boxk8s` runs there as the developer would."""

    folder: Path
    name: str
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return self.folder / ".boxk8s"

    @property
    def context(self) -> str:
        return f"boxk8s-{self.name}"

    def boxk8s(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "boxk8s.cli", *args], cwd=self.folder, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "boxk8s.cli", *args], cwd=self.folder, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def up(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.boxk8s("up", "-d", "--cluster-name", self.name, *args)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{self.log()}"
        return result

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "--context", self.context, "--cache-dir", str(self.folder / "kubectl-cache"), *args]
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}\n{self.log()}")
        return result

    def log(self) -> str:
        try:
            return "--- boxk8s.log ---\n" + "\n".join((self.state / "boxk8s.log").read_text().splitlines()[-40:])
        except OSError:
            return ""

    def pid(self) -> int:
        return instance.read_pid(self.state)

    def containers(self) -> list[str]:
        return sorted(cluster_objects(self.name)["containers"])


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Callable[[str], Project]]:
    """Make project folders sharing one user kubeconfig; afterwards stop what still runs and remove
    every Docker object of their clusters."""
    env = {**instance.child_env(), "KUBECONFIG": str(tmp_path / "kube" / "config"), "BOXK8S_SUBNET_POOL": POOL}
    made: list[Project] = []

    def make(label: str) -> Project:
        folder = tmp_path / label
        folder.mkdir()
        p = Project(folder, f"test-{label}-{uuid.uuid4().hex[:6]}", env)
        made.append(p)
        return p

    yield make
    for p in made:
        pid = instance.running_pid(p.state)
        if pid:
            instance.stop_process(pid, 20)
        remove_cluster_objects(p.name)


def _gone(pid: int) -> bool:
    return not instance.is_boxk8s(pid)  # dead, or a zombie nobody reaped yet


def test_up_detached_status_second_up_and_down(project: Callable[[str], Project]) -> None:
    p = project("solo")
    port, ingress, ingress_tls = free_port(), free_port(), free_port()
    result = p.up("--port", str(port), "--ingress-port", str(ingress), "--ingress-tls-port", str(ingress_tls))
    assert f"API:      https://127.0.0.1:{port}" in result.stdout
    assert f"context:  {p.context}" in result.stdout
    assert f"Ingress:  http://127.0.0.1:{ingress}  https://127.0.0.1:{ingress_tls}" in result.stdout
    pid = p.pid()
    assert instance.running_pid(p.state) == pid
    ready = instance.read_ready(p.state) or {}
    assert ready["ok"] is True and ready["pid"] == pid and ready["context"] == p.context
    assert os.getsid(pid) == pid  # a session of its own: the terminal's Ctrl-C does not reach it

    # The API answers through the merged context.
    assert "kube-system" in p.kubectl("get", "namespaces").stdout
    p.kubectl("create", "deployment", "web", f"--image={IMAGE}", "--", "sleep", "3600")

    status = p.boxk8s("status")
    assert status.returncode == 0, status.stderr
    assert f"{p.name}: running (pid {pid})" in status.stdout
    assert f"https://127.0.0.1:{port}  (kubeconfig context {p.context})" in status.stdout
    assert re.search(r"default\s+deploy/web\s+[01]/1", status.stdout), status.stdout
    assert "\x1b[" not in status.stdout  # not a terminal: plain text

    for again in (p.boxk8s("up", "-d"), p.boxk8s("up")):
        assert again.returncode == 1
        assert again.stderr.strip().splitlines() == [
            f"Error: the cluster in .boxk8s is already running (pid {pid}): "
            "`boxk8s status` shows it, `boxk8s down` stops it"]
    assert instance.running_pid(p.state) == pid

    wait_for(lambda: len(p.containers()) >= 1, timeout=60, what="the pod's container")
    down = p.boxk8s("down")
    assert down.returncode == 0, down.stderr
    assert f"stopped boxk8s (pid {pid})" in down.stdout
    assert _gone(pid)
    assert cluster_objects(p.name) == NOTHING
    stopped = p.boxk8s("status")
    assert stopped.returncode == 1 and f"{p.name}: not running" in stopped.stdout
    assert (p.state / "state.db").exists()  # the data stays without --purge


def test_two_clusters_side_by_side_and_adoption_after_kill(project: Callable[[str], Project]) -> None:
    a, b = project("a"), project("b")
    # Both at once: neither may take the other's subnet, ports or kubeconfig entries.
    starting = [p.start("up", "-d", "--cluster-name", p.name) for p in (a, b)]
    for p, proc in zip((a, b), starting, strict=True):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{out}\n{err}\n{p.log()}"
    rec_a, rec_b = instance.read_record(a.state), instance.read_record(b.state)
    assert rec_a.pod_subnet != rec_b.pod_subnet
    assert {rec_a.pod_subnet, rec_b.pod_subnet} <= {f"10.{n}.0.0/16" for n in range(200, 212)}
    ports_a = {rec_a.api_port, rec_a.ingress_port, rec_a.ingress_tls_port}
    ports_b = {rec_b.api_port, rec_b.ingress_port, rec_b.ingress_tls_port}
    assert len(ports_a) == 3 and len(ports_b) == 3 and not ports_a & ports_b
    config = yaml.safe_load(Path(a.env["KUBECONFIG"]).read_text())
    assert {c["name"] for c in config["contexts"]} == {a.context, b.context}
    for p in (a, b):
        assert "kube-system" in p.kubectl("get", "namespaces").stdout
        network = json.loads(_docker("network", "inspect", f"boxk8s-{p.name}"))[0]
        assert network["IPAM"]["Config"][0]["Subnet"] == instance.read_record(p.state).pod_subnet

    a.kubectl("create", "deployment", "web", f"--image={IMAGE}", "--replicas=2", "--", "sleep", "3600")
    a.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    before = a.containers()
    network = _docker("network", "ls", "-q", "--no-trunc", "--filter", f"label=io.boxk8s.cluster={a.name}").split()
    pid = a.pid()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _gone(pid), what="the killed cluster to go")
    assert a.boxk8s("status").returncode == 1
    assert "kube-system" in b.kubectl("get", "namespaces").stdout  # the other cluster carries on

    a.up()  # the same folder again: its own network, subnet, port and containers
    assert a.pid() != pid
    assert instance.read_record(a.state) == rec_a
    assert _docker("network", "ls", "-q", "--no-trunc", "--filter",
                   f"label=io.boxk8s.cluster={a.name}").split() == network
    a.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    pods = json.loads(a.kubectl("get", "pods", "-o", "json").stdout)["items"]
    assert len(pods) == 2 and all(s["restartCount"] == 0 for pod in pods for s in pod["status"]["containerStatuses"])
    assert a.containers() == before  # adopted: the same container IDs, nothing recreated

    for p in (a, b):
        pid = p.pid()
        assert p.boxk8s("down").returncode == 0
        assert _gone(pid)
        assert cluster_objects(p.name) == NOTHING


def _reader(stream: object, lines: queue.Queue[str]) -> threading.Thread:
    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line.rstrip("\n"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _next_line(lines: queue.Queue[str], match: Callable[[str], bool], what: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            raise AssertionError(f"no line {what} in {timeout:.0f}s") from None
        if match(line):
            return line


def test_logs_follow_picks_up_a_pod_created_after_it_started(project: Callable[[str], Project]) -> None:
    p = project("logs")
    p.up("--port", str(free_port()), "--ingress-port", "0")
    p.kubectl("create", "deployment", "talk", f"--image={IMAGE}", "--",
              "sh", "-c", 'i=0; while true; do i=$((i+1)); echo "tick $i from $(hostname)"; sleep 0.2; done')
    p.kubectl("rollout", "status", "deployment/talk", "--timeout=90s")
    first = json.loads(p.kubectl("get", "pods", "-o", "json").stdout)["items"][0]["metadata"]["name"]

    follow = p.start("logs", "deploy/talk", "-f")
    lines: queue.Queue[str] = queue.Queue()
    _reader(follow.stdout, lines)
    try:
        line = _next_line(lines, lambda s: s.startswith(f"[{first}] tick "), f"from {first}")
        assert line.endswith(f"from {first}")
        p.kubectl("scale", "deployment/talk", "--replicas=2")
        pattern = re.compile(r"^\[(?P<pod>[^\]]+)\] tick \d+ from (?P<host>\S+)$")

        def from_new_pod(s: str) -> bool:
            m = pattern.match(s)
            return bool(m and m["pod"] != first and m["pod"] == m["host"])

        newcomer = pattern.match(_next_line(lines, from_new_pod, "from the new pod"))
        assert newcomer is not None
        pods = {i["metadata"]["name"] for i in json.loads(p.kubectl("get", "pods", "-o", "json").stdout)["items"]}
        assert newcomer["pod"] in pods and newcomer["pod"].startswith("talk-")
        assert follow.poll() is None  # still following
    finally:
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=30)
    assert "Traceback" not in err, err

    # Without -f: every pod's lines, each prefixed, then the command ends.
    once = p.boxk8s("logs", "deploy/talk", "--tail", "2")
    assert once.returncode == 0, once.stderr
    prefixes = {line.split("]")[0] + "]" for line in once.stdout.splitlines()}
    assert prefixes == {f"[{name}]" for name in pods}
    assert p.boxk8s("down").returncode == 0
