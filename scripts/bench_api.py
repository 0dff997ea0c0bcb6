#!/usr/bin/env python3
"""Benchmark the boxk8s API server over HTTPS, the way clients see it.

Starts `boxk8s up` as a subprocess (127.0.0.1, a free port, a temporary state dir, --no-kubeconfig)
and measures:

1. cold start: `boxk8s up` until `/version` answers over TLS with the token (median of N fresh starts);
2. ConfigMap creates per second at several client concurrencies (one aiohttp session, pooled);
3. GET latency of one ConfigMap (sequential and concurrent);
4. LIST of the created objects: full JSON, full Table (`kubectl get`), and in pages of `limit`;
5. watch delivery latency with many watchers (watchers run in a separate process; each write carries
   its CLOCK_MONOTONIC send time in an annotation; latency = arrival - send);
6. RSS of the server process.

Usage: python3 scripts/bench_api.py            # full run (about 45 s on 2 cores)
       python3 scripts/bench_api.py --quick    # smoke test (< 30 s)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import multiprocessing as mp
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml

HOST = "127.0.0.1"
READY_DEADLINE = 60.0
POLL = 0.010
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
SENT_ANNOTATION = "bench.boxk8s.io/sent-monotonic"
T = TypeVar("T")
SERVERS: list[Server] = []  # every server started, stopped again at exit whatever happens
PHASES = ("cold", "create", "get", "list", "watch")


# --------------------------------------------------------------------------------------------------
# helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


@dataclass
class Conn:
    url: str
    ca_pem: bytes
    token: str

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.ca_pem.decode())
        return ctx

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def session(self, limit: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limit, ssl=self.ssl_context())
        return aiohttp.ClientSession(
            connector=connector, headers=self.headers(), timeout=aiohttp.ClientTimeout(total=300)
        )


def read_kubeconfig(path: Path) -> Conn:
    kc = yaml.safe_load(path.read_text())
    cluster = kc["clusters"][0]["cluster"]
    user = kc["users"][0]["user"]
    return Conn(cluster["server"], base64.b64decode(cluster["certificate-authority-data"]), user["token"])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    state_dir: Path
    port: int
    log_path: Path
    started: float
    _log: Any = field(repr=False, default=None)

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


def run_with_servers(prefix: str, main: Callable[[Path], Coroutine[Any, Any, T]]) -> T:
    """`main(work)` in a new temporary folder; afterwards every server started is stopped and the
    folder removed, whatever happened."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return asyncio.run(main(work))
    finally:
        for s in SERVERS:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


def start_server(work: Path, name: str, extra_env: dict[str, str] | None = None,
                 prefix: list[str] | None = None, extra_args: list[str] | None = None) -> Server:
    """`boxk8s up` with no Docker nodes unless extra_args asks for some (the API is what is measured)."""
    extra_args = extra_args if extra_args is not None else ["--nodes", "0"]
    state = work / name
    port = free_port()
    log_path = work / f"{name}.log"
    log = open(log_path, "ab")
    cmd = [*(prefix or [sys.executable, "-m"]), "boxk8s.cli", "--log-level", "WARNING", "up",
           "--state-dir", str(state), "--host", HOST, "--port", str(port), "--no-kubeconfig", *(extra_args or [])]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(extra_env or {})})
    server = Server(proc, state, port, log_path, started, log)
    SERVERS.append(server)
    return server


async def wait_ready(server: Server) -> tuple[float, Conn]:
    """Poll every 10 ms: once the kubeconfig exists, GET /version over TLS with the token."""
    deadline = server.started + READY_DEADLINE
    session: aiohttp.ClientSession | None = None
    conn: Conn | None = None
    try:
        while True:
            if server.proc.poll() is not None:
                raise RuntimeError(f"boxk8s exited early ({server.proc.returncode}):\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"boxk8s not ready in {READY_DEADLINE}s:\n{server.log_tail()}")
            if conn is None and server.kubeconfig.exists():
                with contextlib.suppress(Exception):  # half-written file: try again
                    conn = read_kubeconfig(server.kubeconfig)
                    session = conn.session(limit=1)
            if conn is not None and session is not None:
                try:
                    async with session.get(f"{conn.url}/version",
                                           timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status == 200:
                            await resp.read()
                            return time.monotonic() - server.started, conn
                except (TimeoutError, aiohttp.ClientError):
                    pass
            await asyncio.sleep(POLL)
    finally:
        if session is not None:
            await session.close()


def self_reported_ready(server: Server) -> float | None:
    m = re.search(r"ready in ([0-9.]+)s", server.log_path.read_text(errors="replace"))
    return float(m.group(1)) if m else None


# --------------------------------------------------------------------------------------------------
# phases


async def bench_cold_start(work: Path, runs: int) -> dict[str, Any]:
    totals: list[float] = []
    own: list[float] = []
    for i in range(runs):
        server = start_server(work, f"cold{i}")
        try:
            elapsed, _ = await wait_ready(server)
            totals.append(elapsed)
        finally:
            server.stop()
            r = self_reported_ready(server)
            if r is not None:
                own.append(r)
            shutil.rmtree(server.state_dir, ignore_errors=True)
    return {"runs": totals, "median": statistics.median(totals),
            "self_reported_median": statistics.median(own) if own else None}


def configmap(name: str, payload: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app": "bench", "shard": str(hash(name) % 8)}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"payload": payload, "name": name}}


async def ensure_namespace(session: aiohttp.ClientSession, conn: Conn, ns: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    async with session.post(f"{conn.url}/api/v1/namespaces", json=body) as resp:
        if resp.status not in (201, 409):
            raise RuntimeError(f"create namespace {ns}: {resp.status} {await resp.text()}")


async def bench_creates(conn: Conn, ns: str, count: int, concurrency: int, payload_bytes: int) -> dict[str, Any]:
    payload = "x" * payload_bytes
    # Serialise bodies up front: we measure the server, not the client's json.dumps.
    bodies = [json.dumps(configmap(f"cm-{i:06d}", payload)).encode() for i in range(count)]
    return await post_all(conn, ns, f"{conn.url}/api/v1/namespaces/{ns}/configmaps", bodies, concurrency)


async def post_all(conn: Conn, ns: str, url: str, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    """POST every body to `url` (in namespace `ns`, created first) from `concurrency` workers."""
    count = len(bodies)
    latencies: list[float] = []
    failures: list[str] = []
    next_index = 0
    hdrs = {"Content-Type": "application/json"}
    async with conn.session(limit=concurrency) as session:
        await ensure_namespace(session, conn, ns)

        async def worker() -> None:
            nonlocal next_index
            while next_index < count:
                i = next_index
                next_index += 1
                t0 = time.perf_counter()
                async with session.post(url, data=bodies[i], headers=hdrs) as resp:
                    await resp.read()
                    if resp.status != 201 and len(failures) < 5:
                        failures.append(f"{resp.status} {(await resp.text())[:200]}")
                latencies.append(time.perf_counter() - t0)

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t_start
    if failures:
        raise RuntimeError(f"creates failed: {failures}")
    return {"count": count, "concurrency": concurrency, "wall": wall, "rate": count / wall,
            "p50": pct(latencies, 50), "p99": pct(latencies, 99)}


async def bench_gets(conn: Conn, ns: str, name: str, count: int, concurrency: int) -> dict[str, Any]:
    url = f"{conn.url}/api/v1/namespaces/{ns}/configmaps/{name}"
    latencies: list[float] = []
    remaining = count
    async with conn.session(limit=concurrency) as session:
        async with session.get(url) as resp:  # warm the connection and check
            if resp.status != 200:
                raise RuntimeError(f"GET {name}: {resp.status} {await resp.text()}")
            await resp.read()

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"GET {name}: {resp.status}")
                latencies.append(time.perf_counter() - t0)

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t_start
    return {"count": count, "concurrency": concurrency, "p50": pct(latencies, 50), "p99": pct(latencies, 99),
            "rate": count / wall}


async def bench_lists(conn: Conn, ns: str, expected: int, page: int, repeats: int) -> dict[str, Any]:
    url = f"{conn.url}/api/v1/namespaces/{ns}/configmaps"
    out: dict[str, Any] = {}
    async with conn.session(limit=2) as session:

        async def one(accept: str | None, limit: int) -> tuple[float, int, int, int]:
            hdrs = {"Accept": accept} if accept else {}
            n_items = pages = size = 0
            cont = ""
            t0 = time.perf_counter()
            while True:
                params: dict[str, str] = {}
                if limit:
                    params["limit"] = str(limit)
                if cont:
                    params["continue"] = cont
                async with session.get(url, params=params, headers=hdrs) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"LIST: {resp.status} {body[:300]!r}")
                # Parsing is client work but every real client does it; keep it in the figure.
                doc = json.loads(body)
                size += len(body)
                pages += 1
                n_items += len(doc.get("rows" if accept else "items") or [])
                cont = (doc.get("metadata") or {}).get("continue") or ""
                if not cont:
                    break
            elapsed = time.perf_counter() - t0
            return elapsed, n_items, pages, size

        for key, accept, limit in (("json", None, 0), ("table", TABLE_ACCEPT, 0),
                                   ("json_paged", None, page), ("table_paged", TABLE_ACCEPT, page)):
            times = []
            n = pages = size = 0
            for _ in range(repeats):
                t, n, pages, size = await one(accept, limit)
                times.append(t)
            # Every namespace also holds kube-root-ca.crt, as on any cluster (the root CA publisher).
            if n not in (expected, expected + 1):
                raise RuntimeError(f"LIST {key} returned {n} items, expected {expected} (+ kube-root-ca.crt)")
            out[key] = {"median": statistics.median(times), "items": n, "pages": pages, "bytes": size}
    return out


def _watch_worker(url: str, ca_pem: bytes, token: str, ns: str, rv: str, watchers: int, writes: int,
                  ready: Any, results: Any, deadline_s: float) -> None:
    """Child process: open `watchers` watches, report each event's arrival - send (seconds)."""

    async def main() -> dict[str, Any]:
        conn = Conn(url, ca_pem, token)
        arrivals: list[list[tuple[float, bytes]]] = [[] for _ in range(watchers)]
        closed_early = 0
        opened = 0
        all_open = asyncio.Event()
        async with conn.session(limit=watchers + 1) as session:

            async def watch(i: int) -> None:
                nonlocal closed_early, opened
                params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": str(int(deadline_s) + 30)}
                wurl = f"{url}/api/v1/namespaces/{ns}/configmaps"
                marker = SENT_ANNOTATION.encode()
                async with session.get(wurl, params=params,
                                       timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"watch: {resp.status} {await resp.text()}")
                    opened += 1
                    if opened == watchers:
                        all_open.set()
                    got = arrivals[i]
                    async for line in resp.content:
                        arrived = time.monotonic()  # stamp first, parse later
                        if marker not in line:  # not a bench write (kube-root-ca.crt, made with the namespace)
                            continue
                        got.append((arrived, line))
                        if len(got) >= writes:
                            return
                closed_early += 1

            tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
            await asyncio.wait_for(all_open.wait(), timeout=60)
            ready.set()
            done, pending = await asyncio.wait(tasks, timeout=deadline_s)
            cpu_receiving = time.process_time() - cpu0
            for t in pending:
                t.cancel()
            for t in done:
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        latencies: list[float] = []
        types: dict[str, int] = {}
        for got in arrivals:
            for arrived, line in got:
                ev = json.loads(line)
                types[ev["type"]] = types.get(ev["type"], 0) + 1
                ann = (ev["object"].get("metadata") or {}).get("annotations") or {}
                if ev["type"] == "ADDED" and SENT_ANNOTATION in ann:
                    latencies.append(arrived - float(ann[SENT_ANNOTATION]))
        return {"latencies": latencies, "closed_early": closed_early, "types": types,
                "timed_out": len(pending), "cpu": cpu_receiving}

    cpu0 = time.process_time()

    try:
        results.put(asyncio.run(main()))
    except BaseException as e:  # report to the parent rather than die silently
        ready.set()
        results.put({"error": repr(e)})


async def bench_watch(conn: Conn, ns: str, watchers: int, writes: int, rate: float,
                      server_pid: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    results = ctx.Queue()
    async with conn.session(limit=8) as session:
        await ensure_namespace(session, conn, ns)
        async with session.get(f"{conn.url}/api/v1/namespaces/{ns}/configmaps") as resp:
            rv = (await resp.json())["metadata"]["resourceVersion"]
        deadline_s = writes / rate + 30
        proc = ctx.Process(target=_watch_worker, daemon=True,
                           args=(conn.url, conn.ca_pem, conn.token, ns, rv, watchers, writes, ready, results,
                                 deadline_s))
        proc.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            loop = asyncio.get_running_loop()
            if not await loop.run_in_executor(None, ready.wait, 90):
                raise RuntimeError("watchers did not open in 90 s")
            await asyncio.sleep(0.5)  # let every watch settle into its read loop
            url = f"{conn.url}/api/v1/namespaces/{ns}/configmaps"
            hdrs = {"Content-Type": "application/json"}
            failures: list[str] = []
            write_lat: list[float] = []

            async def write(i: int) -> None:
                t0 = time.monotonic()
                body = json.dumps(configmap(f"w-{i:05d}", "w", {SENT_ANNOTATION: f"{t0:.9f}"})).encode()
                async with session.post(url, data=body, headers=hdrs) as resp:
                    await resp.read()
                    if resp.status != 201:
                        failures.append(str(resp.status))
                write_lat.append(time.monotonic() - t0)

            start = time.monotonic()
            server_cpu0 = cpu_seconds(server_pid)
            for i in range(writes):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(write(i)))
            await asyncio.gather(*tasks)
            await asyncio.sleep(0.2)  # the last events' fan-out
            server_cpu = cpu_seconds(server_pid) - server_cpu0
            elapsed = time.monotonic() - start
            res = await loop.run_in_executor(None, results.get, True, deadline_s + 60)
            if failures:
                raise RuntimeError(f"watch writes failed: {failures[:5]}")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    if "error" in res:
        raise RuntimeError(f"watch worker: {res['error']}")
    lat = res["latencies"]
    return {"watchers": watchers, "writes": writes, "rate": rate, "delivered": len(lat),
            "expected": watchers * writes, "p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat or [0]),
            "closed_early": res["closed_early"], "timed_out": res["timed_out"],
            "write_p50": pct(write_lat, 50), "server_cpu_pct": 100 * server_cpu / elapsed,
            "client_cpu": res["cpu"], "elapsed": elapsed}


# --------------------------------------------------------------------------------------------------
# main


@dataclass
class Row:
    measure: str
    figure: str
    target: str = ""
    met: str = ""


def check(ok: bool) -> str:
    return "yes" if ok else "**no**"


async def run(args: argparse.Namespace, work: Path) -> list[Row]:
    rows: list[Row] = []

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    if "cold" in args.phases:
        say(f"cold start x{args.cold_starts}")
        cold = await bench_cold_start(work, args.cold_starts)
        runs = ", ".join(f"{r:.2f}" for r in cold["runs"])
        rows.append(Row(f"1. `boxk8s up` → `/version` 200 (median of {args.cold_starts} cold starts)",
                        f"{cold['median']:.2f} s (runs: {runs} s; server's own 'ready in': "
                        f"{cold['self_reported_median']:.2f} s)" if cold["self_reported_median"] is not None
                        else f"{cold['median']:.2f} s (runs: {runs} s)",
                        "< 1 s", check(cold["median"] < 1.0)))
    if args.phases == {"cold"}:
        return rows

    prefix = args.server_prefix.split() if args.server_prefix else None
    server = start_server(work, "main", prefix=prefix)
    try:
        _, conn = await wait_ready(server)
        pid = server.proc.pid
        base = rss_kib(pid)
        say(f"server pid {pid} at {conn.url}, RSS {base['VmRSS'] / 1024:.0f} MiB")

        concs = sorted(args.concurrency)
        top = concs[-1]
        say(f"creating {args.objects} ConfigMaps at concurrency {top}")
        big = await bench_creates(conn, "bench", args.objects, top, args.payload_bytes)
        after = rss_kib(pid)
        creates = {top: big}
        for c in concs[:-1] if "create" in args.phases else []:
            say(f"creating {args.creates_low} ConfigMaps at concurrency {c}")
            creates[c] = await bench_creates(conn, f"bench-c{c}", args.creates_low, c, args.payload_bytes)
        for c in sorted(creates):
            r = creates[c]
            rows.append(Row(f"2. ConfigMap creates/s, concurrency {c} ({r['count']:,} creates)",
                            f"{r['rate']:,.0f}/s (latency p50 {ms(r['p50'])}, p99 {ms(r['p99'])})",
                            ">= 1,000/s" if c == top else "", check(r["rate"] >= 1000) if c == top else ""))

        for c in sorted({1, args.get_concurrency}) if "get" in args.phases else []:
            say(f"GET x{args.gets} at concurrency {c}")
            g = await bench_gets(conn, "bench", "cm-000000", args.gets, c)
            label = "sequential" if c == 1 else f"concurrency {c}"
            rows.append(Row(f"3. GET one ConfigMap, {label} ({args.gets:,} requests)",
                            f"p50 {ms(g['p50'])}, p99 {ms(g['p99'])} ({g['rate']:,.0f}/s)"))

        lists: dict[str, Any] = {}
        if "list" in args.phases:
            say(f"LIST {args.objects} objects")
            lists = await bench_lists(conn, "bench", args.objects, args.page, args.list_repeats)
        for key, label in (("json", "JSON, one request"), ("table", "Table (`kubectl get`), one request"),
                           ("json_paged", f"JSON, limit={args.page} pages"),
                           ("table_paged", f"Table, limit={args.page} pages (= `kubectl get` default)")):
            if key not in lists:
                continue
            r = lists[key]
            rows.append(Row(f"4. LIST {r['items']:,} ConfigMaps, {label}",
                            f"{ms(r['median'])} ({r['pages']} page(s), {r['bytes'] / 1e6:.1f} MB; "
                            f"median of {args.list_repeats})"))

        if "watch" in args.phases:
            say(f"watch: {args.watchers} watchers, {args.watch_writes} writes at {args.watch_rate}/s")
            w = await bench_watch(conn, "bench-watch", args.watchers, args.watch_writes, args.watch_rate, pid)
            ok = w["delivered"] == w["expected"]
            rows.append(Row(f"5. Watch delivery, {w['watchers']} watchers, {w['writes']} writes at {w['rate']:g}/s",
                            f"p50 {ms(w['p50'])}, p99 {ms(w['p99'])}, max {ms(w['max'])} "
                            f"({w['delivered']:,}/{w['expected']:,} delivered; create p50 {ms(w['write_p50'])}; "
                            f"server CPU {w['server_cpu_pct']:.0f}% of a core, watcher process "
                            f"{100 * w['client_cpu'] / w['elapsed']:.0f}%)",
                            "p99 <= 20 ms", check(w["p99"] <= 0.020 and ok)))
        end = rss_kib(pid)
        rows.append(Row(f"6. Server RSS after {args.objects:,} ConfigMaps",
                        f"{after['VmRSS'] / 1024:.0f} MiB (idle at start {base['VmRSS'] / 1024:.0f} MiB; "
                        f"at end of run {end['VmRSS'] / 1024:.0f} MiB, peak {end['VmHWM'] / 1024:.0f} MiB)"))
        dbs = sorted(server.state_dir.glob("*.db*"))
        if dbs:
            size = sum(p.stat().st_size for p in dbs)
            rows.append(Row("   State database on disk at end", f"{size / 1e6:.1f} MB ({', '.join(p.name for p in dbs)})"))
    finally:
        code = server.stop()
        if code not in (0, None):
            say(f"server exited {code}:\n{server.log_tail()}")
    return rows


async def run_cancellable(args: argparse.Namespace, work: Path) -> list[Row]:
    """run(), cancelled on SIGTERM as on Ctrl-C, so every finally block (server stop) runs."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(args, work)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    p.add_argument("--quick", action="store_true", help="small run for smoke testing (< 30 s)")
    p.add_argument("--cold-starts", type=int, default=5, help="cold starts to take the median of")
    p.add_argument("--objects", type=int, default=10_000,
                   help="ConfigMaps created at the highest concurrency; also the LIST size and RSS point")
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32],
                   help="comma-separated client concurrencies for creates; the highest creates --objects")
    p.add_argument("--creates-low", type=int, default=2_000, help="creates at each lower concurrency")
    p.add_argument("--payload-bytes", type=int, default=256, help="size of each ConfigMap's data value")
    p.add_argument("--gets", type=int, default=2_000, help="GET requests per concurrency")
    p.add_argument("--get-concurrency", type=int, default=8)
    p.add_argument("--page", type=int, default=500, help="limit= for the paged LIST")
    p.add_argument("--list-repeats", type=int, default=3)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--watch-writes", type=int, default=200)
    p.add_argument("--watch-rate", type=float, default=50.0, help="writes per second during the watch test")
    p.add_argument("--phases", type=lambda s: set(s.split(",")), default=set(PHASES),
                   help=f"comma-separated subset of {','.join(PHASES)} (the --objects creates always run "
                        "unless only 'cold' is asked)")
    p.add_argument("--server-prefix", default="",
                   help="command run instead of `python -m` before `boxk8s.cli`, e.g. "
                        "'python3 -m pyinstrument -o /tmp/prof.txt -m' to profile the server")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (state and logs) for inspection")
    args = p.parse_args(argv)
    if args.quick:
        args.cold_starts = min(args.cold_starts, 2)
        args.objects = min(args.objects, 1_000)
        args.creates_low = min(args.creates_low, 200)
        args.gets = min(args.gets, 200)
        args.list_repeats = 1
        args.watchers = min(args.watchers, 10)
        args.watch_writes = min(args.watch_writes, 20)
    for name in ("cold_starts", "objects", "creates_low", "gets", "get_concurrency", "page", "list_repeats",
                 "watchers", "watch_writes"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if not args.phases <= set(PHASES):
        p.error(f"--phases: unknown {sorted(args.phases - set(PHASES))}")
    if not args.concurrency or min(args.concurrency) < 1 or args.watch_rate <= 0:
        p.error("--concurrency and --watch-rate must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="boxk8s-bench-"))
    t0 = time.monotonic()
    try:
        rows = asyncio.run(run_cancellable(args, work))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; server stopped", file=sys.stderr)
        return 130
    finally:
        for server in SERVERS:  # normally already stopped by the phase that started it
            server.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"boxk8s API benchmark — {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, total {time.monotonic() - t0:.0f} s")
    print()
    print("| Measure | Figure | Target | Met |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r.measure} | {r.figure} | {r.target} | {r.met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
