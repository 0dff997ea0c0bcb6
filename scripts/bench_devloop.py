#!/usr/bin/env python3
"""The dev loop as a developer feels it: how long from a save to the app serving it, from `boxk8s up`
to the app ready, and how fast the CLI answers.

In one run, on real Docker with the offline busybox image (scripts/build_images.sh):
- save → served: a project whose Deployment serves its env value VERSION through an Ingress; the
  manifest is saved with a new value and the Ingress polled every 10 ms until it answers with it
  (rounds: --rounds). Tilt's documented live_update example takes 1.5 s; compose watch waits a
  500 ms quiet period before it starts.
- up → app ready: `boxk8s up -d --wait` on the example app of manifests/ (2 frontends, 2 backends,
  their Services, the Ingress) against `docker run -d` of the same four containers in parallel on a
  network of their own until all run.
- `boxk8s up` → the API answering (`up -d` without manifests, which returns once it answers), and
  `boxk8s version`: median of 5 each.

Targets (issue 11): save → served <= 1 s; up → ready ratio to docker run <= 1.5.
Every cluster, container and network made here is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "boxk8s-busybox:latest"
POOL = "10.190.0.0/16"

SERVE = """
apiVersion: v1
kind: ConfigMap
metadata: {{name: serve}}
data:
  handler.sh: |
    #!/bin/sh
    read -r request
    while read -r line; do [ ${{#line}} -le 1 ] && break; done
    printf 'HTTP/1.0 200 OK\\r\\nContent-Length: %s\\r\\nConnection: close\\r\\n\\r\\n%s' "${{#VERSION}}" "$VERSION"
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: serve}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: serve}}}}
  template:
    metadata: {{labels: {{app: serve}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: serve
        image: {image}
        imagePullPolicy: IfNotPresent
        command: ["nc", "-ll", "-p", "8080", "-e", "/app/handler.sh"]
        env: [{{name: VERSION, value: "{version}"}}]
        volumeMounts: [{{name: app, mountPath: /app}}]
      volumes: [{{name: app, configMap: {{name: serve, defaultMode: 0555}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: serve}}
spec:
  selector: {{app: serve}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: serve}}
spec:
  rules:
  - host: serve.localhost
    http:
      paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: serve, port: {{number: 80}}}}}}}}]
"""


def boxk8s(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOXK8S_SUBNET_POOL": POOL}
    return subprocess.run([sys.executable, "-m", "boxk8s.cli", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout)


def up(folder: Path, name: str, *args: str) -> float:
    started = time.monotonic()
    result = boxk8s(folder, "up", "-d", "--cluster-name", name, "--no-kubeconfig", *args)
    if result.returncode != 0:
        raise RuntimeError(f"up failed: {result.stdout}{result.stderr}")
    return time.monotonic() - started


def down(folder: Path) -> None:
    boxk8s(folder, "down", "--purge")


def get(url: str, host: str) -> str:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=2) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def save_to_served(work: Path, rounds: int) -> list[float]:
    folder = work / "serve"
    (folder / "manifests").mkdir(parents=True)
    manifest = folder / "manifests" / "serve.yaml"
    manifest.write_text(SERVE.format(image=IMAGE, version="v0"))
    up(folder, f"bench-serve-{uuid.uuid4().hex[:4]}", "--wait")
    port = json.loads((folder / ".boxk8s" / "cluster.json").read_text())["ingress_port"]
    url = f"http://127.0.0.1:{port}/"
    times: list[float] = []
    try:
        for i in range(1, rounds + 1):
            deadline = time.monotonic() + 30
            while get(url, "serve.localhost") != f"v{i - 1}" and time.monotonic() < deadline:
                time.sleep(0.05)  # settle on the previous version first
            saved = time.monotonic()
            manifest.write_text(SERVE.format(image=IMAGE, version=f"v{i}"))
            while get(url, "serve.localhost") != f"v{i}":
                if time.monotonic() - saved > 30:
                    raise RuntimeError(f"round {i}: v{i} not served after 30 s")
                time.sleep(0.01)
            times.append(time.monotonic() - saved)
    finally:
        down(folder)
    return times


def up_to_ready(work: Path) -> float:
    folder = work / "example"
    folder.mkdir()
    shutil.copytree(ROOT / "manifests", folder / "manifests")
    try:
        return up(folder, f"bench-example-{uuid.uuid4().hex[:4]}", "--wait", "--timeout", "120s")
    finally:
        down(folder)


def docker_run_same(work: Path) -> float:
    """The example app's four containers with `docker run -d`, in parallel, until all run."""
    tag = f"boxk8s-bench-{uuid.uuid4().hex[:6]}"
    handler = work / "handler.sh"
    handler.write_text("#!/bin/sh\nread -r request\nprintf 'HTTP/1.0 200 OK\\r\\n\\r\\nok'\n")
    handler.chmod(0o755)
    subprocess.run(["docker", "network", "create", "--label", "io.boxk8s.bench=1", tag], check=True, capture_output=True)
    try:
        started = time.monotonic()
        procs = [subprocess.Popen(["docker", "run", "-d", "--name", f"{tag}-{i}", "--label", "io.boxk8s.bench=1",
                                   "--network", tag, "-v", f"{handler}:/app/handler.sh:ro", IMAGE,
                                   "nc", "-ll", "-p", "8080", "-e", "/app/handler.sh"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(4)]
        for p in procs:
            p.wait()
        while True:
            out = subprocess.run(["docker", "ps", "--filter", f"name={tag}-", "--filter", "status=running", "-q"],
                                 capture_output=True, text=True).stdout.split()
            if len(out) == 4:
                return time.monotonic() - started
            time.sleep(0.01)
    finally:
        subprocess.run(["docker", "rm", "-f", *(f"{tag}-{i}" for i in range(4))], capture_output=True)
        subprocess.run(["docker", "network", "rm", tag], capture_output=True)


def cli_timings(work: Path, n: int = 5) -> tuple[float, float]:
    ups: list[float] = []
    for i in range(n):
        folder = work / f"empty-{i}"
        folder.mkdir()
        try:
            ups.append(up(folder, f"bench-empty-{uuid.uuid4().hex[:4]}"))
        finally:
            down(folder)
    versions: list[float] = []
    for _ in range(n):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "boxk8s.cli", "version"], check=True, capture_output=True)
        versions.append(time.monotonic() - started)
    return statistics.median(ups), statistics.median(versions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="saves measured")
    args = parser.parse_args()
    if not shutil.which("docker"):
        print("docker is required", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="boxk8s-bench-devloop-"))
    try:
        saves = save_to_served(work, args.rounds)
        ours = up_to_ready(work)
        theirs = docker_run_same(work)
        up_median, version_median = cli_timings(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"boxk8s dev loop benchmark — {time.strftime('%Y-%m-%d')}\n")
    print(f"save → served through the Ingress ({len(saves)} saves): median {statistics.median(saves):.2f} s, "
          f"max {max(saves):.2f} s, all: {', '.join(f'{s:.2f}' for s in saves)} (target <= 1 s: "
          f"{'met' if statistics.median(saves) <= 1 else 'missed'})")
    print(f"up -d --wait → example app ready: {ours:.2f} s; docker run -d of its 4 containers in parallel: "
          f"{theirs:.2f} s; ratio {ours / theirs:.2f} (target <= 1.5: {'met' if ours / theirs <= 1.5 else 'missed'})")
    print(f"boxk8s up -d → API answering: median {up_median:.2f} s of 5; boxk8s version: median {version_median:.2f} s of 5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
