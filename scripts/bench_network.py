#!/usr/bin/env python3
"""Services and Ingress on real pods: what the host-side data paths cost, and how fast they follow changes.

Two busybox httpd pods (one Docker node) behind one Service (NodePort) and one Ingress. Prints, for
1 and 16 concurrent keep-alive clients (aiohttp), request latency p50/p99 and requests/s:
  (a) from the host straight to a pod IP (the client alternates between the two pods);
  (b) from the host through the Ingress proxy (127.0.0.1:<ingress port>, Host: bench.localhost);
  (n) from the host through the NodePort (127.0.0.1:<nodePort>).
The paths from inside a pod (to a pod IP, through a ClusterIP) need the in-cluster data path, which
boxk8s does not have yet; they are reported as not measured.
Then:
- from a pod turning unready (its readiness probe failing, as the watch sees the Ready condition go
  False) to the last request the Ingress routed to it, with a client hitting the Ingress meanwhile;
- from creating a NodePort Service to its first successful request on the host. (By DNS name needs
  cluster DNS, which boxk8s does not have yet.)

Targets (issue 10): the Ingress adds <= 1 ms at p50 and keeps >= 50% of the direct requests/s;
unready → no more requests <= 1 s; Service created → first request <= 1 s.
Only 127.0.0.1 and the benchmark's own pods are contacted; every Docker object made here is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import Conn  # noqa: E402
from bench_pods import IMAGE, docker_cluster, ready  # noqa: E402

NS = "default"
HOST = "bench.localhost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_pod(name: str) -> dict[str, Any]:
    script = f"mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p 8080 -h /www"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "web", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script],
                "ports": [{"name": "http", "containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1,
                                   "failureThreshold": 1}}]}}


def service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "NodePort", "selector": {"app": "bench"},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bench"},
           "spec": {"rules": [{"host": HOST, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
               "service": {"name": "bench", "port": {"number": 80}}}}]}}]}}


@dataclass
class Load:
    p50_ms: float
    p99_ms: float
    rate: float
    errors: int


async def load(urls: list[str], headers: dict[str, str], concurrency: int, count: int) -> Load:
    """`count` GETs by `concurrency` workers over keep-alive connections, cycling through `urls`."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as s:
        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t = time.perf_counter()
                try:
                    async with s.get(urls[i % len(urls)]) as r:
                        await r.read()
                        if r.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append(time.perf_counter() - t)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Load(latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000,
                count / elapsed, errors)


async def api(conn: Conn, method: str, path: str, body: Any = None) -> Any:
    async with conn.session(limit=1) as s, s.request(method, f"{conn.url}{path}", json=body) as r:
        data = await r.json()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data}")
        return data


async def until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, OSError, KeyError):
            got = await check()
            if got:
                return got
        await asyncio.sleep(0.05)
    raise RuntimeError("timed out")


async def answer(url: str, headers: dict[str, str] | None = None) -> str:
    async with aiohttp.ClientSession(headers=headers or {}) as s, s.get(url) as r:
        return (await r.text()).strip() if r.status == 200 else ""


async def unready_to_last_request(conn: Conn, kubeconfig: Path, ingress: str) -> float:
    """Seconds from pod web-a's Ready condition going False to the last request the Ingress sent it."""
    last_at_a = 0.0
    stop = asyncio.Event()

    async def client() -> None:
        nonlocal last_at_a
        async with aiohttp.ClientSession(headers={"Host": HOST}) as s:
            while not stop.is_set():
                with contextlib.suppress(aiohttp.ClientError):
                    async with s.get(ingress) as r:
                        body = (await r.text()).strip()
                        # After the file is gone web-a answers 404: that is still a request routed to it.
                        if body == "web-a" or r.status == 404:
                            last_at_a = time.monotonic()

    async def unready_at() -> float:
        path = f"/api/v1/namespaces/{NS}/pods/web-a"
        while True:
            pod = await api(conn, "GET", path)
            if not ready(pod):
                return time.monotonic()
            await asyncio.sleep(0.01)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(client())
        await asyncio.sleep(0.5)  # steady load first
        subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "exec", "web-a", "--", "rm", "/www/index.html"],
                       check=True, capture_output=True)
        went_unready = await unready_at()
        await asyncio.sleep(3)  # long after any straggler
        stop.set()
    return last_at_a - went_unready  # negative: the routing changed before the API poll saw NotReady


async def service_to_first_request(conn: Conn) -> float:
    started = time.monotonic()
    svc = await api(conn, "POST", f"/api/v1/namespaces/{NS}/services", service("fresh"))
    port = svc["spec"]["ports"][0]["nodePort"]
    await until(lambda: answer(f"http://127.0.0.1:{port}/"), timeout=30)
    return time.monotonic() - started


def row(name: str, lo: Load | None, hi: Load | None) -> str:
    if lo is None or hi is None:
        return f"| {name} | not measured: needs the in-cluster data path | |"
    return (f"| {name} | p50 {lo.p50_ms:.2f} ms, p99 {lo.p99_ms:.2f} ms, {lo.rate:,.0f}/s"
            f"{f', {lo.errors} errors' if lo.errors else ''} | p50 {hi.p50_ms:.2f} ms, p99 {hi.p99_ms:.2f} ms, "
            f"{hi.rate:,.0f}/s{f', {hi.errors} errors' if hi.errors else ''} |")


@contextlib.asynccontextmanager
async def app(work: Path, pod_subnet: str, ingress_port: int) -> AsyncIterator[tuple[Conn, Path, dict[str, str], int]]:
    async with docker_cluster(work, pod_subnet, ["--ingress-port", str(ingress_port), "--ingress-tls-port", "0"]) as conn:
        for name in ("web-a", "web-b"):
            await api(conn, "POST", f"/api/v1/namespaces/{NS}/pods", web_pod(name))
        svc = await api(conn, "POST", f"/api/v1/namespaces/{NS}/services", service("bench"))
        await api(conn, "POST", f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses", INGRESS)

        async def pod_ips() -> dict[str, str] | None:
            pods = [await api(conn, "GET", f"/api/v1/namespaces/{NS}/pods/{n}") for n in ("web-a", "web-b")]
            if all(ready(p) for p in pods):
                return {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}
            return None

        ips = await until(pod_ips, timeout=120)
        await until(lambda: answer(f"http://127.0.0.1:{ingress_port}/", {"Host": HOST}))
        yield conn, work / "docker" / "kubeconfig", ips, svc["spec"]["ports"][0]["nodePort"]


async def run(args: argparse.Namespace, work: Path) -> None:
    ingress_port = free_port()
    async with app(work, args.pod_subnet, ingress_port) as (conn, kubeconfig, ips, node_port):
        direct = [f"http://{ip}:8080/" for ip in ips.values()]
        ingress = f"http://127.0.0.1:{ingress_port}/"
        nodeport = f"http://127.0.0.1:{node_port}/"
        await load(direct, {}, 4, 200)  # warm up every path
        await load([ingress], {"Host": HOST}, 4, 200)
        results: dict[str, tuple[Load, Load]] = {}
        for name, urls, headers in (("direct", direct, {}), ("ingress", [ingress], {"Host": HOST}),
                                    ("nodeport", [nodeport], {})):
            results[name] = (await load(urls, headers, 1, args.requests), await load(urls, headers, 16, args.requests * 2))
        created = await service_to_first_request(conn)
        unready = await unready_to_last_request(conn, kubeconfig, ingress)

    d1, d16 = results["direct"]
    i1, i16 = results["ingress"]
    print(f"boxk8s network benchmark — {time.strftime('%Y-%m-%d')}, {args.requests} requests at 1 client, "
          f"{args.requests * 2} at 16\n")
    print("| Path | 1 client | 16 clients |")
    print("|---|---|---|")
    print(row("(a) host → pod IP", d1, d16))
    print(row("(b) host → Ingress → pod", i1, i16))
    print(row("host → NodePort → pod", *results["nodeport"]))
    print(row("(c) pod → pod IP", None, None))
    print(row("(d) pod → ClusterIP → pod", None, None))
    added = i1.p50_ms - d1.p50_ms
    kept = min(i1.rate / d1.rate, i16.rate / d16.rate)
    print()
    print(f"Ingress adds {added:.2f} ms at p50 (1 client; target <= 1 ms: {'met' if added <= 1 else 'missed'}) and keeps "
          f"{kept:.0%} of the direct requests/s (worst of 1 and 16 clients; target >= 50%: "
          f"{'met' if kept >= 0.5 else 'missed'})")
    print(f"pod unready → last request routed to it: {unready:+.3f} s after a 10 ms API poll saw Ready=False "
          f"(target <= 1 s: {'met' if unready <= 1 else 'missed'})")
    print(f"NodePort Service created → first request answered: {created:.2f} s (target <= 1 s: "
          f"{'met' if created <= 1 else 'missed'}); by DNS name: not measured (no cluster DNS yet)")
    print(json.dumps({k: [v[0].__dict__, v[1].__dict__] for k, v in results.items()}), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per path at 1 client (twice that at 16)")
    parser.add_argument("--pod-subnet", default="10.213.243.0/24")
    args = parser.parse_args()
    if not shutil.which("docker") or not shutil.which("kubectl"):
        print("docker and kubectl are required", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="boxk8s-bench-net-"))
    try:
        asyncio.run(run(args, work))
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
