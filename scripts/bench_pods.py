#!/usr/bin/env python3
"""Pod start: boxk8s against a bare `docker run`, side by side, and scheduling on fake nodes.

Prints:
1. one pod, created → Ready seen by a watch (median of N), against `docker run -d` of the same
   container until `docker inspect` says running (median of N);
2. 20 pods at once until all are Ready, against 20 `docker run -d` in parallel until all run;
3. 1,000 pods onto 10 fake nodes: pods bound per second (the scheduler's throughput).

Targets: ratio <= 1.3 at the median; >= 500 pods/s scheduled.
Only 127.0.0.1 is contacted; every Docker object made here is labelled and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import Conn, Server, start_server, wait_ready  # noqa: E402

IMAGE = "boxk8s-busybox:latest"
LABEL = "io.boxk8s.bench"


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                 "command": ["sleep", "3600"]}],
                 "terminationGracePeriodSeconds": 0},
    }


def ready(obj: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


async def create_pods_until_ready(conn: Conn, names: list[str]) -> float:
    """Seconds from the first create until a watch has seen every pod Ready."""
    base = f"{conn.url}/api/v1/namespaces/default/pods"
    async with conn.session(limit=64) as s:
        async with s.get(base) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        pending = set(names)
        started = time.monotonic()

        async def watch() -> float:
            async with s.get(base, params={"watch": "1", "resourceVersion": rv}) as r:
                async for line in r.content:
                    ev = json.loads(line)
                    obj = ev["object"]
                    if obj.get("metadata", {}).get("name") in pending and ready(obj):
                        pending.discard(obj["metadata"]["name"])
                        if not pending:
                            return time.monotonic() - started
            raise RuntimeError("watch ended early")

        watcher = asyncio.create_task(watch())

        async def create(name: str) -> None:
            async with s.post(base, json=pod(name)) as r:
                if r.status != 201:
                    raise RuntimeError(f"create {name}: {r.status} {await r.text()}")

        await asyncio.gather(*(create(n) for n in names))
        took = await asyncio.wait_for(watcher, 120)
        for n in names:
            async with s.delete(f"{base}/{n}", params={"gracePeriodSeconds": "0"}) as r:
                await r.read()
        return took


def docker_run_until_running(count: int) -> float:
    """Seconds until `count` parallel `docker run -d` containers are all running."""
    names = [f"boxk8s-bench-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    started = time.monotonic()
    procs = [subprocess.Popen(["docker", "run", "-d", "--label", f"{LABEL}=1", "--name", n, IMAGE, "sleep", "3600"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for n in names]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"docker run failed: {p.stderr.read() if p.stderr else ''}")
    while True:
        out = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", *names],
                             capture_output=True, text=True, check=True).stdout.split()
        if all(x == "true" for x in out):
            took = time.monotonic() - started
            break
    subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)
    return took


async def schedule_burst(conn: Conn, count: int) -> float:
    """Pods bound per second: create `count` pods at once, time until all have spec.nodeName."""
    base = f"{conn.url}/api/v1/namespaces/default/pods"
    async with conn.session(limit=32) as s:
        async with s.get(base) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        names = {f"burst-{i}" for i in range(count)}
        started = time.monotonic()

        async def watch() -> float:
            unbound = set(names)
            async with s.get(base, params={"watch": "1", "resourceVersion": rv}) as r:
                async for line in r.content:
                    obj = json.loads(line)["object"]
                    if (obj.get("spec") or {}).get("nodeName"):
                        unbound.discard(obj["metadata"]["name"])
                        if not unbound:
                            return time.monotonic() - started
            raise RuntimeError("watch ended early")

        watcher = asyncio.create_task(watch())
        sem = asyncio.Semaphore(32)

        async def create(name: str) -> None:
            async with sem, s.post(base, json=pod(name)) as r:
                if r.status != 201:
                    raise RuntimeError(f"create {name}: {r.status}")

        await asyncio.gather(*(create(n) for n in names))
        took = await asyncio.wait_for(watcher, 300)
        return count / took


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux): steadier than a rate on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cleanup_docker(cluster: str) -> None:
    """Remove what the benchmark made: the cluster's containers (twice: a kubelet may have been
    creating one as the server stopped), then its networks and volumes."""
    for flt in (f"label=io.boxk8s.cluster={cluster}", f"label={LABEL}=1", f"label=io.boxk8s.cluster={cluster}"):
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", flt], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True, check=False)
    for kind in ("network", "volume"):
        ids = subprocess.run(["docker", kind, "ls", "-q", "--filter", f"label=io.boxk8s.cluster={cluster}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", kind, "rm", *ids], capture_output=True, check=False)


async def run(args: argparse.Namespace, work: Path) -> None:
    if args.only != "fake":
        await run_docker(args, work)
    if args.only != "docker":
        await run_fake(args, work)


@contextlib.asynccontextmanager
async def docker_cluster(work: Path, pod_subnet: str, extra_args: list[str] | None = None) -> AsyncIterator[Conn]:
    """A boxk8s server with one Docker node, on a cluster of its own whose Docker objects are
    removed afterwards."""
    cluster = f"bench-{uuid.uuid4().hex[:6]}"
    server: Server | None = None
    try:
        server = start_server(work, "docker", extra_args=[
            "--nodes", "1", "--cluster-name", cluster, "--pod-subnet", pod_subnet, *(extra_args or [])])
        _, conn = await wait_ready(server)
        yield conn
    finally:
        if server is not None:
            server.stop()
        cleanup_docker(cluster)


async def run_docker(args: argparse.Namespace, work: Path) -> None:
    async with docker_cluster(work, args.pod_subnet) as conn:
        await create_pods_until_ready(conn, ["warmup"])  # sandbox image, first network attach
        docker_run_until_running(1)
        ours, theirs = [], []
        for i in range(args.runs):
            ours.append(await create_pods_until_ready(conn, [f"one-{i}"]))
            theirs.append(docker_run_until_running(1))
        b20 = await create_pods_until_ready(conn, [f"many-{i}" for i in range(20)])
        d20 = docker_run_until_running(20)
        m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
        print(f"one pod, create → Ready (median of {args.runs}):  boxk8s {m_ours * 1000:.0f} ms   "
              f"docker run -d → running {m_theirs * 1000:.0f} ms   ratio {m_ours / m_theirs:.2f} (target <= 1.3)")
        print(f"20 pods at once, all Ready:              boxk8s {b20 * 1000:.0f} ms   "
              f"20 × docker run -d → running {d20 * 1000:.0f} ms   ratio {b20 / d20:.2f}")


async def run_fake(args: argparse.Namespace, work: Path) -> None:
    prefix = shlex.split(args.server_prefix) if args.server_prefix else None
    fake = start_server(work, "fake", prefix=prefix, extra_args=["--nodes", "0", "--fake-nodes", "10"])
    try:
        _, conn = await wait_ready(fake)
        cpu = cpu_seconds(fake.proc.pid)
        rate = await schedule_burst(conn, args.burst)
        burst_cpu = cpu_seconds(fake.proc.pid) - cpu
        # Then until the server is idle again (the fake kubelets finish starting the pods): the
        # whole work per pod, which does not depend on how much of it fell inside the burst.
        last = cpu_seconds(fake.proc.pid)
        while True:
            await asyncio.sleep(0.5)
            now = cpu_seconds(fake.proc.pid)
            if now - last < 0.05:
                break
            last = now
        total_cpu = now - cpu
        print(f"{args.burst} pods onto 10 fake nodes:            {rate:.0f} pods/s bound (target >= 500); "
              f"server CPU {burst_cpu * 1000 / args.burst:.2f} ms/pod until bound, "
              f"{total_cpu * 1000 / args.burst:.2f} ms/pod until idle")
    finally:
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="single-pod repetitions")
    parser.add_argument("--burst", type=int, default=1000, help="pods for the scheduling burst")
    parser.add_argument("--pod-subnet", default="10.213.240.0/24")
    parser.add_argument("--only", choices=["docker", "fake"], help="run one part only")
    parser.add_argument("--server-prefix", default="",
                        help="command that replaces `python3 -m` before boxk8s.cli for the fake part, "
                             "e.g. 'python3 -m pyinstrument -o /tmp/prof.txt -m'")
    args = parser.parse_args()
    if args.only != "fake" and not shutil.which("docker"):
        print("docker is required", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="boxk8s-bench-pods-"))
    try:
        asyncio.run(run(args, work))
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
