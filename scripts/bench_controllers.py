#!/usr/bin/env python3
"""Controllers at work: a Deployment against parallel `docker run`, and 10,000 pods on fake nodes.

Prints:
1. a Deployment of 20 replicas until 20 pods are Ready (Docker node), against 20 `docker run -d`
   of the same container in parallel until all run — target ratio <= 1.5;
2. 10,000 pods (100 Deployments × 100 replicas) on 100 fake nodes until all are Ready (the
   Deployments' readyReplicas add up) — target <= 30 s (KWOK's CI bar is 60 s); the server's RSS then.
Only 127.0.0.1 is contacted; every Docker object made here is labelled and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import Conn, rss_kib, start_server, wait_ready  # noqa: E402
from bench_pods import IMAGE, docker_cluster, docker_run_until_running  # noqa: E402


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                     "command": ["sleep", "3600"]}]}}},
    }


async def deployments_ready(conn: Conn, items: list[dict[str, Any]], want: int, timeout: float) -> float:
    """Create the Deployments, then poll until their readyReplicas add up to `want`."""
    base = f"{conn.url}/apis/apps/v1/namespaces/default/deployments"
    async with conn.session(limit=16) as s:
        started = time.monotonic()
        for d in items:
            async with s.post(base, json=d) as r:
                if r.status != 201:
                    raise RuntimeError(f"create {d['metadata']['name']}: {r.status} {await r.text()}")
        while time.monotonic() - started < timeout:
            async with s.get(base) as r:
                ready = sum((i.get("status") or {}).get("readyReplicas", 0) for i in (await r.json())["items"])
            if ready >= want:
                return time.monotonic() - started
            await asyncio.sleep(0.05)
    raise RuntimeError(f"not ready within {timeout}s")


async def delete_deployments(conn: Conn, names: list[str]) -> None:
    base = f"{conn.url}/apis/apps/v1/namespaces/default/deployments"
    async with conn.session(limit=16) as s:
        for n in names:
            async with s.delete(f"{base}/{n}", json={"propagationPolicy": "Background"}) as r:
                await r.read()


async def run(args: argparse.Namespace, work: Path) -> None:
    if args.only != "fake":
        await run_docker(args, work)
    if args.only != "docker":
        await run_fake(args, work)


async def run_docker(args: argparse.Namespace, work: Path) -> None:
    async with docker_cluster(work, args.pod_subnet) as conn:
        await deployments_ready(conn, [deployment("warmup", 1)], 1, 120)
        await delete_deployments(conn, ["warmup"])
        ours = await deployments_ready(conn, [deployment("twenty", 20)], 20, 300)
        theirs = docker_run_until_running(20)
        print(f"Deployment of 20 replicas → 20 Ready: {ours * 1000:.0f} ms   20 × docker run -d → running "
              f"{theirs * 1000:.0f} ms   ratio {ours / theirs:.2f} (target <= 1.5)")


async def run_fake(args: argparse.Namespace, work: Path) -> None:
    prefix = shlex.split(args.server_prefix) if args.server_prefix else None
    fake = start_server(work, "fake", prefix=prefix, extra_args=["--nodes", "0", "--fake-nodes", str(args.fake_nodes)])
    try:
        _, conn = await wait_ready(fake)
        per = args.pods // args.deployments
        took = await deployments_ready(conn, [deployment(f"d{i}", per) for i in range(args.deployments)],
                                       per * args.deployments, args.timeout)
        rss = rss_kib(fake.proc.pid)
        print(f"{per * args.deployments} pods ({args.deployments} Deployments) on {args.fake_nodes} fake nodes "
              f"all Ready: {took:.1f} s (target <= 30 s); server RSS {rss.get('VmRSS', 0) / 1024:.0f} MiB "
              f"(peak {rss.get('VmHWM', 0) / 1024:.0f} MiB)")
    finally:
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--fake-nodes", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--pod-subnet", default="10.213.241.0/24")
    parser.add_argument("--only", choices=["docker", "fake"], help="run one part only")
    parser.add_argument("--server-prefix", default="",
                        help="command that replaces `python3 -m` before boxk8s.cli for the fake part, "
                             "e.g. 'python3 -m pyinstrument -o /tmp/prof.txt -m'")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="boxk8s-bench-ctrl-"))
    try:
        asyncio.run(run(args, work))
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
