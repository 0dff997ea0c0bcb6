#!/usr/bin/env python3
"""What sampling the containers' usage costs on a Docker node (kubelet/metrics.py's scrape).

Starts N running busybox containers through the Docker runtime (as pods of one node of a cluster
of its own), then times `container_stats()` — one listing and one `stats?stream=false&one-shot=true`
per container, a few in flight — over several rounds, and for comparison one stats call without
one-shot (Docker then waits for a second sample). Every container and the network are removed
afterwards.

    python scripts/bench_metrics.py --containers 1 10 30
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boxk8s.kubelet.runtime import ContainerConfig, RuntimeSettings, SandboxConfig  # noqa: E402
from boxk8s.kubelet.runtime.docker import DockerRuntime  # noqa: E402

IMAGE = "boxk8s-busybox:latest"


def cleanup(cluster: str) -> None:
    label = f"label=io.boxk8s.cluster={cluster}"
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    for net in subprocess.run(["docker", "network", "ls", "-q", "--filter", label], capture_output=True,
                              text=True).stdout.split():
        subprocess.run(["docker", "network", "rm", net], capture_output=True)


async def bench(counts: list[int], rounds: int, subnet: str) -> None:
    cluster = f"boxk8s-met-bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        rt = DockerRuntime(RuntimeSettings(cluster=cluster, node="bench", pod_subnet=subnet, state_dir=Path(tmp)))
        try:
            await rt.start()
            running = 0
            for n in counts:
                while running < n:
                    sb = await rt.run_sandbox(SandboxConfig("default", f"p{running}", uuid.uuid4().hex,
                                                            f"p{running}", solo=True))
                    c = await rt.create_container(sb, ContainerConfig("main", IMAGE, command=("sleep", "3600")))
                    await rt.start_container(c.id)
                    running += 1
                await rt.container_stats()  # warm the connection pool
                times, cpu = [], time.process_time()
                for _ in range(rounds):
                    started = time.perf_counter()
                    stats = await rt.container_stats()
                    times.append(time.perf_counter() - started)
                cpu = (time.process_time() - cpu) / rounds
                assert len(stats) == n, (len(stats), n)
                print(f"{n:3d} containers: scrape median {statistics.median(times) * 1000:7.1f} ms, "
                      f"max {max(times) * 1000:7.1f} ms, boxk8s CPU {cpu * 1000:5.1f} ms a scrape")
            cid = (await rt.list_containers())[0].id
            started = time.perf_counter()
            await rt.docker._query_json(f"containers/{cid}/stats", params={"stream": "false"})
            print(f"one stats call without one-shot: {(time.perf_counter() - started) * 1000:.0f} ms")
        finally:
            await rt.close()
            cleanup(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--subnet", default="10.218.250.0/24")
    args = parser.parse_args()
    asyncio.run(bench(sorted(args.containers), args.rounds, args.subnet))


if __name__ == "__main__":
    main()
