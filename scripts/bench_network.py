#!/usr/bin/env python3
"""Services and Ingress on real pods: what the host-side data paths cost, and how fast they follow changes.

Two busybox httpd pods (one Docker node) behind one Service (NodePort) and one Ingress. Prints, for
1 and 16 concurrent keep-alive clients (aiohttp), request latency p50/p99 and requests/s:
  (a) from the host straight to a pod IP (the client alternates between the two pods);
  (b) from the host through the Ingress proxy (127.0.0.1:<ingress port>, Host: bench.localhost);
  (n) from the host through the NodePort (127.0.0.1:<nodePort>);
  (c) from a pod straight to pod web-a's IP and (d) from a pod through the Service's ClusterIP (both
      pods): wrk in a pod, its image made from the host's wrk like the network agent's (needs wrk on
      the host: apt-get install wrk; otherwise not measured). busybox httpd closes every connection,
      so each request is a new connection: through the ClusterIP each one is a new DNAT.
Then:
- from a pod turning unready (its readiness probe failing, as the watch sees the Ready condition go
  False) to the last request routed to it, through the Ingress (host client) and through the
  ClusterIP (a wget loop in a pod, timed by its log timestamps);
- from creating a NodePort Service to its first successful request on the host, and from creating a
  Service to the first request by its DNS name from a pod (a wget loop, log timestamps).

Targets (issue 10): the Ingress adds <= 1 ms at p50 and keeps >= 50% of the direct requests/s;
unready → no more requests <= 1 s; Service created → first request <= 1 s.
Only 127.0.0.1 and the benchmark's own pods are contacted; every Docker object made here is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
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

sys.path.insert(0, str(Path(__file__).parent.parent))
from boxk8s.kubelet.runtime import netagent_image  # noqa: E402

WRK_IMAGE = "boxk8s-bench-wrk:latest"

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


def build_wrk_image() -> bool:
    """The host's wrk as an image (no registry): False when the host has no wrk."""
    try:
        tar, _digest = netagent_image.agent_tar(os.uname().machine, ("wrk",))
    except netagent_image.NetworkAgentUnavailable:
        return False
    subprocess.run(["docker", "import", "--change", 'ENTRYPOINT ["/bin/wrk"]', "-", WRK_IMAGE],
                   input=tar, check=True, capture_output=True)
    return True


def parse_wrk(text: str) -> Load:
    """wrk --latency's report → Load (its 50% and 99% latencies, Requests/sec, socket errors)."""
    def ms(value: str) -> float:
        for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
            if value.endswith(unit):
                return float(value[: -len(unit)]) * factor
        return float(value)

    p50 = p99 = rate = 0.0
    errors = 0
    for line in text.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "50%":
            p50 = ms(f[1])
        elif len(f) == 2 and f[0] == "99%":
            p99 = ms(f[1])
        elif f[:1] == ["Requests/sec:"]:
            rate = float(f[1])
        elif f[:2] == ["Socket", "errors:"]:
            errors += sum(int(x.rstrip(",")) for x in f[3::2])
        elif f[:3] == ["Non-2xx", "or", "3xx"]:
            errors += int(f[-1])
    return Load(p50, p99, rate, errors)


async def wrk_in_pod(conn: Conn, name: str, url: str, connections: int, seconds: int) -> Load:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "containers": [{
                "name": "wrk", "image": WRK_IMAGE, "imagePullPolicy": "Never",
                "args": ["-t", "2" if connections > 1 else "1", "-c", str(connections), "-d", f"{seconds}s",
                         "--latency", url]}]}}
    await api(conn, "POST", f"/api/v1/namespaces/{NS}/pods", body)

    async def done() -> bool:
        pod = await api(conn, "GET", f"/api/v1/namespaces/{NS}/pods/{name}")
        return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")

    await until(done, timeout=seconds + 60)
    async with conn.session(limit=1) as s, s.get(f"{conn.url}/api/v1/namespaces/{NS}/pods/{name}/log") as r:
        text = await r.text()
    await api(conn, "DELETE", f"/api/v1/namespaces/{NS}/pods/{name}")
    return parse_wrk(text)


def loop_pod(name: str, url: str) -> dict[str, Any]:
    """A pod that requests `url` every few ms and prints each answer (or `-`), for log timestamps."""
    script = f"while true; do timeout 2 wget -qO- {url} 2>/dev/null || echo -; done"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "loop", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script]}]}}


async def timed_log(conn: Conn, name: str) -> list[tuple[float, str]]:
    """(epoch seconds, line) of a pod's log."""
    url = f"{conn.url}/api/v1/namespaces/{NS}/pods/{name}/log?timestamps=true"
    async with conn.session(limit=1) as s, s.get(url) as r:
        text = await r.text()
    out = []
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        with contextlib.suppress(ValueError):
            out.append((datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), rest.strip()))
    return out


async def pod_running(conn: Conn, name: str) -> None:
    async def check() -> bool:
        pod = await api(conn, "GET", f"/api/v1/namespaces/{NS}/pods/{name}")
        return (pod.get("status") or {}).get("phase") == "Running"

    await until(check, timeout=60)


async def service_to_first_request_by_name(conn: Conn) -> float:
    """Seconds from creating Service `named` to the first answer a pod's wget loop got from http://named/."""
    await api(conn, "POST", f"/api/v1/namespaces/{NS}/pods", loop_pod("loop-name", "http://named/"))
    await pod_running(conn, "loop-name")
    await asyncio.sleep(1)  # failing meanwhile, as it should
    created = time.time()
    await api(conn, "POST", f"/api/v1/namespaces/{NS}/services", service("named"))

    async def answered() -> float | None:
        return next((t for t, line in await timed_log(conn, "loop-name") if t > created and line.startswith("web-")), None)

    first = await until(answered, timeout=30)
    await api(conn, "DELETE", f"/api/v1/namespaces/{NS}/pods/loop-name")
    return float(first) - created


async def unready_to_last_cluster_ip_request(conn: Conn, kubeconfig: Path, cluster_ip: str) -> float:
    """Seconds from pod web-b's Ready condition going False to the last answer it gave a pod's wget
    loop through the ClusterIP."""
    # The Ingress measurement left web-a failing its probe: give it its page back first.
    subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "exec", "web-a", "--", "sh", "-c",
                    "echo web-a > /www/index.html"], check=True, capture_output=True)

    async def web_a_ready() -> bool:
        return ready(await api(conn, "GET", f"/api/v1/namespaces/{NS}/pods/web-a"))

    await until(web_a_ready, timeout=30)
    await api(conn, "POST", f"/api/v1/namespaces/{NS}/pods", loop_pod("loop-ip", f"http://{cluster_ip}/"))
    await pod_running(conn, "loop-ip")
    await asyncio.sleep(1)
    subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "exec", "web-b", "--", "rm", "/www/index.html"],
                   check=True, capture_output=True)
    while ready(await api(conn, "GET", f"/api/v1/namespaces/{NS}/pods/web-b")):
        await asyncio.sleep(0.01)
    went_unready = time.time()
    await asyncio.sleep(3)
    lines = await timed_log(conn, "loop-ip")
    await api(conn, "DELETE", f"/api/v1/namespaces/{NS}/pods/loop-ip")
    # After the file is gone web-b answers 404 (wget fails: "-"), and web-a answers "web-a"; a
    # failure while web-a is fine can only be web-b's.
    last = max((t for t, line in lines if line in ("web-b", "-")), default=went_unready)
    return last - went_unready


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
        return f"| {name} | not measured: no wrk on the host | |"
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
    have_wrk = build_wrk_image()
    async with app(work, args.pod_subnet, ingress_port) as (conn, kubeconfig, ips, node_port):
        direct = [f"http://{ip}:8080/" for ip in ips.values()]
        ingress = f"http://127.0.0.1:{ingress_port}/"
        nodeport = f"http://127.0.0.1:{node_port}/"
        svc = await api(conn, "GET", f"/api/v1/namespaces/{NS}/services/bench")
        cluster_ip = svc["spec"]["clusterIP"]
        await load(direct, {}, 4, 200)  # warm up every path
        await load([ingress], {"Host": HOST}, 4, 200)
        results: dict[str, tuple[Load, Load]] = {}
        for name, urls, headers in (("direct", direct, {}), ("ingress", [ingress], {"Host": HOST}),
                                    ("nodeport", [nodeport], {})):
            results[name] = (await load(urls, headers, 1, args.requests), await load(urls, headers, 16, args.requests * 2))
        if have_wrk:
            for name, url in (("pod-direct", f"http://{ips['web-a']}:8080/"), ("pod-clusterip", f"http://{cluster_ip}:80/")):
                results[name] = (await wrk_in_pod(conn, f"wrk-{name}-1", url, 1, args.seconds),
                                 await wrk_in_pod(conn, f"wrk-{name}-16", url, 16, args.seconds))
        created = await service_to_first_request(conn)
        by_name = await service_to_first_request_by_name(conn)
        unready = await unready_to_last_request(conn, kubeconfig, ingress)
        unready_ip = await unready_to_last_cluster_ip_request(conn, kubeconfig, cluster_ip)

    d1, d16 = results["direct"]
    i1, i16 = results["ingress"]
    print(f"boxk8s network benchmark — {time.strftime('%Y-%m-%d')}, host paths: {args.requests} requests at 1 "
          f"client, {args.requests * 2} at 16 (aiohttp, keep-alive); pod paths: wrk for {args.seconds} s each\n")
    print("| Path | 1 client | 16 clients |")
    print("|---|---|---|")
    print(row("(a) host → pod IP", d1, d16))
    print(row("(b) host → Ingress → pod", i1, i16))
    print(row("host → NodePort → pod", *results["nodeport"]))
    print(row("(c) pod → pod IP", *results.get("pod-direct", (None, None))))
    print(row("(d) pod → ClusterIP → pod", *results.get("pod-clusterip", (None, None))))
    added = i1.p50_ms - d1.p50_ms
    kept = min(i1.rate / d1.rate, i16.rate / d16.rate)
    print()
    print(f"Ingress adds {added:.2f} ms at p50 (1 client; target <= 1 ms: {'met' if added <= 1 else 'missed'}) and keeps "
          f"{kept:.0%} of the direct requests/s (worst of 1 and 16 clients; target >= 50%: "
          f"{'met' if kept >= 0.5 else 'missed'})")
    if "pod-clusterip" in results:
        (c1, c16), (k1, k16) = results["pod-direct"], results["pod-clusterip"]
        kept_ip = min(k1.rate / c1.rate, k16.rate / c16.rate)
        print(f"ClusterIP adds {k1.p50_ms - c1.p50_ms:.2f} ms at p50 (1 client) and keeps {kept_ip:.0%} of the direct "
              f"requests/s from a pod (worst of 1 and 16; target >= 50%: {'met' if kept_ip >= 0.5 else 'missed'})")
    print(f"pod unready → last request routed to it: Ingress {unready:+.3f} s, ClusterIP {unready_ip:+.3f} s after a "
          f"10 ms API poll saw Ready=False (target <= 1 s: {'met' if max(unready, unready_ip) <= 1 else 'missed'})")
    print(f"Service created → first request answered: NodePort from the host {created:.2f} s, by DNS name from a pod "
          f"{by_name:.2f} s (target <= 1 s: {'met' if max(created, by_name) <= 1 else 'missed'})")
    print(json.dumps({k: [v[0].__dict__, v[1].__dict__] for k, v in results.items()}), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per path at 1 client (twice that at 16)")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run from a pod")
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
