"""A real `boxk8s up --nodes 0` subprocess (no Docker) and a client thread that keeps writing to it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from base64 import b64decode
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from boxk8s import instance

START_DEADLINE = 30.0


def boxk8s(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**instance.child_env(), "KUBECONFIG": str(cwd / "user-kubeconfig")}  # never the user's
    return subprocess.run([sys.executable, "-m", "boxk8s.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    state_dir: Path
    log: Path

    @property
    def port(self) -> int:
        return instance.read_record(self.state_dir).api_port

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def start_cluster(state_dir: Path, *extra: str) -> Running:
    """`boxk8s up --nodes 0` in the state folder's parent (no manifests there); returns once the API answers."""
    cwd = state_dir.parent
    log = cwd / f"{state_dir.name}-up.log"
    env = {**instance.child_env(), "KUBECONFIG": str(cwd / "user-kubeconfig")}
    proc = subprocess.Popen([sys.executable, "-m", "boxk8s.cli", "up", "--state-dir", str(state_dir), "--nodes", "0",
                             "--no-kubeconfig", "--ingress-port", "0", *extra],
                            cwd=cwd, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115
    running = Running(proc, state_dir, log)
    deadline = time.monotonic() + START_DEADLINE
    while not ((state_dir / "kubeconfig").exists() and running.port and _answers(running.port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"boxk8s did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return running


class Writer(threading.Thread):
    """Creates ConfigMaps one after the other; `acked` holds (name, resourceVersion) of each 201."""

    def __init__(self, kubeconfig: Path) -> None:
        super().__init__(daemon=True)
        self.kubeconfig = kubeconfig
        self.acked: list[tuple[str, int]] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        config = yaml.safe_load(self.kubeconfig.read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        url = urlsplit(cluster["server"])
        ctx = ssl.create_default_context(cadata=b64decode(cluster["certificate-authority-data"]).decode())
        conn = http.client.HTTPSConnection(url.hostname or "", url.port, context=ctx, timeout=10)
        headers = {"Authorization": f"Bearer {user['token']}", "Content-Type": "application/json"}
        i = 0
        while not self.halt.is_set():
            name = f"w-{i:06d}"
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": str(i)}}
            try:
                conn.request("POST", "/api/v1/namespaces/default/configmaps", json.dumps(body), headers)
                resp = conn.getresponse()
                data = json.loads(resp.read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.failures.append(f"{name}: {exc}")
                return
            if resp.status != 201:
                self.failures.append(f"{name}: {resp.status} {data}")
                return
            self.acked.append((name, int(data["metadata"]["resourceVersion"])))  # list.append: atomic
            i += 1
        conn.close()


def kubectl_json(kubeconfig: Path, cache: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args,
                             "-o", "json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "KUBECONFIG": ""})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]
