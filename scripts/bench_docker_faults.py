#!/usr/bin/env python3
"""How quickly a kubelet on the Docker runtime notices what was done behind its back, and recovers.

One kubelet (default KubeletSettings: a 10 s resync, so what is faster than that came from
Docker's event stream) over an in-process store, on a cluster network of its own. Per round:

- `docker rm -f` of an app container, in a pod with a sandbox and in a solo pod;
- `docker stop -t 0` of an app container (restartPolicy Always);
- `docker rm -f` of a pod's sandbox container;

each on a new pod, timed from the moment the docker command returned to the kubelet *noticing*
(its worker no longer counts the old container as running, or its sandbox as the running one)
and to the pod being *back* (its stored status shows new containers running and ready). With --outage, Docker is reached through a socket proxy
that is cut and healed once: the times to the node's Ready=False ("container runtime is down")
and back to Ready, with the default runtime_check_seconds (5) and runtime_down_seconds (30).

    python scripts/bench_docker_faults.py --rounds 10 [--outage]
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boxk8s.client import Client, Kind  # noqa: E402
from boxk8s.cluster import bootstrap  # noqa: E402
from boxk8s.kubelet.agent import Kubelet  # noqa: E402
from boxk8s.kubelet.runtime.base import RuntimeSettings  # noqa: E402
from boxk8s.kubelet.runtime.docker import DockerRuntime  # noqa: E402
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings  # noqa: E402
from boxk8s.resources.layer import Resources  # noqa: E402
from boxk8s.store import Store, StoreSettings  # noqa: E402
from tests.e2e.docker_cleanup import free_subnet, remove_cluster_objects  # noqa: E402
from tests.integration.docker_proxy import DockerProxy  # noqa: E402

IMAGE = "boxk8s-busybox:latest"
NODE = "bench"
POLL = 0.005


def pod(name: str, containers: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": f"c{i}", "image": IMAGE, "imagePullPolicy": "Never",
                                     "command": ["sleep", "3600"]} for i in range(containers)]}}


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout


async def until(check: Callable[[], Awaitable[Any]], deadline: float = 60.0) -> float:
    """Poll until `check()` is truthy; the monotonic time it was."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if await check():
            return time.monotonic()
        await asyncio.sleep(POLL)
    raise TimeoutError("condition not met")


class Bench:
    def __init__(self, client: Client, kubelet: Kubelet, cluster: str) -> None:
        self.client, self.kubelet, self.cluster = client, kubelet, cluster

    async def running(self, name: str) -> dict[str, Any] | None:
        p = await self.client.get(Kind.POD, "default", name)
        statuses = (p.get("status") or {}).get("containerStatuses") or []
        ok = p["status"].get("phase") == "Running" and statuses and all(s.get("ready") for s in statuses)
        return p if ok else None

    def worker_running(self, uid: str) -> set[str]:
        worker = self.kubelet.workers.get(uid)
        return {c.id for c in worker.containers.values() if c.status == "running"} if worker else set()

    async def fault(self, name: str, containers: int, act: Callable[[dict[str, Any]], str]) -> tuple[float, float]:
        """(noticed, back) seconds after the docker command `act` ran on a new running pod (a new
        one each round: a container that ended is restarted after CrashLoopBackOff's delay when it
        ended again soon, as on Kubernetes)."""
        await self.client.create(Kind.POD, "default", pod(name, containers))
        await until(lambda: self.running(name))
        p = await self.running(name)
        assert p is not None
        uid = p["metadata"]["uid"]
        old = {s["containerID"].removeprefix("docker://") for s in p["status"]["containerStatuses"]}
        worker = self.kubelet.workers[uid]
        sandbox = worker.sandbox
        victim = act(p)
        t0 = time.monotonic()
        gone = old if victim == "sandbox" else {victim}

        async def noticed() -> bool:
            if victim == "sandbox":
                return worker.sandbox is None or worker.sandbox != sandbox
            return not (gone & self.worker_running(uid))

        async def back() -> bool:
            now = await self.running(name)
            return now is not None and not ({s["containerID"].removeprefix("docker://")
                                             for s in now["status"]["containerStatuses"]} & gone)
        t_noticed = await until(noticed)
        t_back = await until(back)
        await self.client.delete(Kind.POD, "default", name)
        return t_noticed - t0, t_back - t0

    def sandbox_of(self, uid: str) -> str:
        return docker("ps", "-q", "--no-trunc", "--filter", f"label=io.boxk8s.cluster={self.cluster}",
                      "--filter", f"label=io.kubernetes.pod.uid={uid}",
                      "--filter", "label=io.kubernetes.container.name=POD").split()[0]


def first_id(p: dict[str, Any]) -> str:
    return str(p["status"]["containerStatuses"][0]["containerID"]).removeprefix("docker://")


def report(label: str, samples: list[tuple[float, float]]) -> None:
    noticed = [n * 1000 for n, _ in samples]
    back = [b * 1000 for _, b in samples]
    print(f"{label:<34} noticed median {statistics.median(noticed):6.0f} ms  max {max(noticed):6.0f} ms   "
          f"back median {statistics.median(back):6.0f} ms  max {max(back):6.0f} ms   ({len(samples)} rounds)")


async def main(rounds: int, outage: bool) -> None:
    cluster = f"dockerfault-bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="dockerfault-", dir="/tmp") as tmp:
        proxy = DockerProxy(Path(tmp) / "docker.sock")
        await proxy.start()
        store = await Store.open_standalone(StoreSettings(path=Path(tmp) / "db"))
        resources = Resources(store)
        await bootstrap(resources)
        client = Client(resources, "kubelet")
        runtime = DockerRuntime(RuntimeSettings(cluster=cluster, node=NODE, pod_subnet=free_subnet(),
                                                state_dir=Path(tmp) / "state", docker_host=proxy.url))
        task = None
        try:
            await runtime.start()
            kubelet = Kubelet(client, runtime, NodeSettings(NODE), KubeletSettings(), Path(tmp) / "state")
            task = asyncio.create_task(kubelet.run())
            await kubelet.ready.wait()
            bench = Bench(client, kubelet, cluster)
            cases: list[tuple[str, str, int, Callable[[dict[str, Any]], str]]] = [
                ("docker rm -f app (with sandbox)", "boxed", 2, lambda p: (docker("rm", "-f", first_id(p)), first_id(p))[1]),
                ("docker rm -f app (solo pod)", "solo", 1, lambda p: (docker("rm", "-f", first_id(p)), first_id(p))[1]),
                ("docker stop -t 0 app", "stopped", 1, lambda p: (docker("stop", "-t", "0", first_id(p)), first_id(p))[1]),
                ("docker rm -f sandbox", "sandboxed", 2,
                 lambda p: (docker("rm", "-f", bench.sandbox_of(p["metadata"]["uid"])), "sandbox")[1]),
            ]
            for label, name, n, act in cases:
                samples = [await bench.fault(f"{name}-{i}", n, act) for i in range(rounds)]
                report(label, samples)
            if outage:
                t0 = time.monotonic()
                await proxy.cut()

                async def ready(status: str) -> bool:
                    node = await client.get(Kind.NODE, None, NODE)
                    return any(c["type"] == "Ready" and c["status"] == status for c in node["status"]["conditions"])
                down = await until(lambda: ready("False"), 120) - t0
                t1 = time.monotonic()
                proxy.heal()
                up = await until(lambda: ready("True"), 120) - t1
                print(f"{'Docker unreachable -> NotReady':<34} {down:6.1f} s   healed -> Ready {up:6.1f} s")
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await runtime.close()
            await proxy.close()
            await store.close()
            remove_cluster_objects(cluster)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--outage", action="store_true", help="also cut Docker once (takes over 30 s)")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.outage))
