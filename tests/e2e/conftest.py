"""A real `boxk8s up` subprocess per test module, and a `kubectl` runner bound to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.docker_cleanup import free_subnet, remove_cluster_objects

READY_DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Boxk8s:
    proc: subprocess.Popen[bytes]
    cluster_name: str
    state_dir: Path
    port: int
    kubeconfig: Path
    cache_dir: Path
    log_path: Path
    ingress_port: int = 0

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir), *args]
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, env=full_env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                f"--- boxk8s log tail ---\n{self.log_tail()}"
            )
        return result

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


READY_LINE = "boxk8s is ready in"


def start_boxk8s(state_dir: Path, port: int | None = None, extra: list[str] | None = None,
                 user_kubeconfig: Path | None = None, cluster_name: str = "", pod_subnet: str = "") -> Boxk8s:
    """Start `boxk8s up`; with `user_kubeconfig`, let it merge its context there ($KUBECONFIG).

    Docker objects are labelled with a `test-…` cluster name; remove them with remove_cluster_objects.
    """
    port = port or free_port()
    ingress_port, ingress_tls_port = free_port(), free_port()  # not 8080/8443: clusters run side by side in tests
    cluster_name = cluster_name or f"test-{uuid.uuid4().hex[:8]}"
    pod_subnet = pod_subnet or free_subnet()
    log_path = state_dir.parent / f"{state_dir.name}.log"
    offset = log_path.stat().st_size if log_path.exists() else 0  # a restart appends to the same log
    log = open(log_path, "ab")
    env = dict(os.environ)
    flags = ["--no-kubeconfig"]
    if user_kubeconfig is not None:
        env["KUBECONFIG"] = str(user_kubeconfig)
        flags = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "boxk8s.cli", "up", "--state-dir", str(state_dir), "--port", str(port),
         "--cluster-name", cluster_name, "--pod-subnet", pod_subnet, "--crashloop-base", "1",
         "--ingress-port", str(ingress_port), "--ingress-tls-port", str(ingress_tls_port), *flags, *(extra or [])],
        stdout=log, stderr=subprocess.STDOUT, env=env,
        cwd=state_dir.parent,  # a folder with no manifests/: the dev loop has nothing to apply
    )
    kubeconfig = state_dir / "kubeconfig"
    deadline = time.monotonic() + READY_DEADLINE
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"boxk8s exited early:\n{log_path.read_text()}")
        # The kubeconfig appears once the API answers; "ready" once everything runs (cluster.py).
        if kubeconfig.exists() and _port_open(port) and READY_LINE in _read_from(log_path, offset):
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"boxk8s not ready in {READY_DEADLINE}s:\n{log_path.read_text()}")
        time.sleep(0.05)
    cache = state_dir.parent / f"{state_dir.name}-kubectl-cache"
    cache.mkdir(exist_ok=True)
    return Boxk8s(proc, cluster_name, state_dir, port, kubeconfig, cache, log_path, ingress_port)


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def stop_boxk8s(b: Boxk8s) -> int:
    if b.proc.poll() is None:
        b.proc.terminate()
        try:
            return b.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            b.proc.kill()
            b.proc.wait()
            raise
    return b.proc.returncode


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def running_boxk8s(tmp_path_factory: pytest.TempPathFactory, extra: list[str] | None = None,
                   cluster_name: str = "", pod_subnet: str = "") -> Iterator[Boxk8s]:
    """A `boxk8s up` for the length of a fixture; stopped cleanly and its Docker objects removed."""
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state", extra=extra, cluster_name=cluster_name,
                     pod_subnet=pod_subnet)
    try:
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    yield from running_boxk8s(tmp_path_factory)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
