#!/usr/bin/env python3
"""A watcher that never reads its socket, and what the others see meanwhile.

Starts `boxk8s up --nodes 0` as scripts/bench_api.py does and runs rounds of the same load (by default
without, with, and again without the stuck watcher), each in its own namespace: `--watchers` watchers (in a child process, bench_api's watch worker) see
`--writes` ConfigMap creates sent at `--rate` per second, each carrying its send time; latency =
arrival - send. In a `stuck` round a raw TLS watch on the same namespace is opened first whose client
never reads (4 KiB receive buffer). It falls behind, the store closes it (1,000 events behind) and
the server cuts its connection; the writers and the other watchers must not notice.

Reports per round: events delivered of expected, delivery latency p50/p99/max, write latency p50,
failed writes; for the stuck watch, whether the server closed it (its log line) and how long after
the last write its connection was found cut.

Usage: python3 scripts/bench_slow_watcher.py                 # 10,000 writes a round
       python3 scripts/bench_slow_watcher.py --writes 2000   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import (  # noqa: E402
    SENT_ANNOTATION,
    SERVERS,
    Conn,
    _watch_worker,
    configmap,
    ensure_namespace,
    pct,
    start_server,
    wait_ready,
)

CUT_DEADLINE = 60.0


def stuck_watch(conn: Conn, ns: str) -> ssl.SSLSocket:
    """A TLS watch whose client never reads past the handshake."""
    host, _, port = conn.url.removeprefix("https://").partition(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    sock = conn.ssl_context().wrap_socket(raw, server_hostname=host)
    sock.sendall(f"GET /api/v1/namespaces/{ns}/configmaps?watch=true HTTP/1.1\r\nHost: {host}\r\n"
                 f"Authorization: Bearer {conn.token}\r\n\r\n".encode())
    return sock


def is_cut(sock: ssl.SSLSocket) -> bool:
    """Read what is buffered (now, at last): True once the server ended the connection."""
    sock.setblocking(False)
    try:
        while sock.recv(1 << 20):
            pass
        return True
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (ConnectionResetError, ssl.SSLError, OSError):
        return True


async def run_round(conn: Conn, ns: str, args: argparse.Namespace, stuck: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    async with conn.session(limit=32) as session:
        await ensure_namespace(session, conn, ns)
        async with session.get(f"{conn.url}/api/v1/namespaces/{ns}/configmaps") as resp:
            rv = (await resp.json())["metadata"]["resourceVersion"]
        sock = await asyncio.to_thread(stuck_watch, conn, ns) if stuck else None
        deadline_s = args.writes / args.rate + 60
        proc = ctx.Process(target=_watch_worker, daemon=True, args=(
            conn.url, conn.ca_pem, conn.token, ns, rv, args.watchers, args.writes, ready, results, deadline_s))
        proc.start()
        loop = asyncio.get_running_loop()
        try:
            if not await loop.run_in_executor(None, ready.wait, 90):
                raise RuntimeError("watchers did not open in 90 s")
            url = f"{conn.url}/api/v1/namespaces/{ns}/configmaps"
            payload = "p" * args.payload_bytes
            failures: list[int] = []
            write_lat: list[float] = []

            async def write(i: int) -> None:
                t0 = time.monotonic()
                body = json.dumps(configmap(f"w-{i:05d}", payload, {SENT_ANNOTATION: f"{t0:.9f}"})).encode()
                async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                    await resp.read()
                    if resp.status != 201:
                        failures.append(resp.status)
                write_lat.append(time.monotonic() - t0)

            start = time.monotonic()
            tasks = []
            for i in range(args.writes):
                delay = start + i / args.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(write(i)))
            await asyncio.gather(*tasks)
            writes_done = time.monotonic()
            res = await loop.run_in_executor(None, results.get, True, deadline_s + 60)
            cut_after = None
            if sock is not None:
                while time.monotonic() - writes_done < CUT_DEADLINE:
                    if await asyncio.to_thread(is_cut, sock):
                        cut_after = time.monotonic() - writes_done
                        break
                    await asyncio.sleep(0.1)
                sock.close()
        finally:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    if "error" in res:
        raise RuntimeError(f"watch worker: {res['error']}")
    lat = res["latencies"]
    return {"delivered": len(lat), "expected": args.watchers * args.writes, "p50": pct(lat, 50),
            "p99": pct(lat, 99), "max": max(lat or [0.0]), "write_p50": pct(write_lat, 50),
            "failed": len(failures), "elapsed": writes_done - start, "cut_after": cut_after,
            "closed_early": res["closed_early"]}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def run(args: argparse.Namespace, work: Path) -> list[str]:
    server = start_server(work, "slow-watcher")
    try:
        _, conn = await wait_ready(server)
        rows = []
        for n, kind in enumerate(args.rounds.split(",")):
            stuck = kind == "stuck"
            name = "one watch that never reads" if stuck else "no stuck watcher"
            print(f"round: {name} ...", file=sys.stderr)
            r = await run_round(conn, f"bench-{n}-{kind}", args, stuck)
            cut = "" if not stuck else ("cut " + (f"{r['cut_after']:.1f} s after the last write"
                                                  if r["cut_after"] is not None else "**not cut**"))
            rows.append(f"| {name} | {r['delivered']:,} of {r['expected']:,} | {ms(r['p50'])} / {ms(r['p99'])} / "
                        f"{ms(r['max'])} | {ms(r['write_p50'])} | {r['failed']} | "
                        f"{args.writes / r['elapsed']:.0f}/s | {cut} |")
        log = server.log_path.read_text(errors="replace")
        closed = "fell 1000 events behind" in log
        rows.append(f"\nThe store closed the stuck watch for falling behind: {'yes' if closed else '**no**'}")
        return rows
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--writes", type=int, default=10_000, help="ConfigMap creates per round")
    p.add_argument("--rate", type=float, default=400.0, help="writes sent per second")
    p.add_argument("--watchers", type=int, default=10, help="watchers that read (in a child process)")
    p.add_argument("--payload-bytes", type=int, default=512, help="size of each ConfigMap's data value")
    p.add_argument("--rounds", default="plain,stuck,plain",
                   help="the rounds in order: plain (no stuck watcher) or stuck (one watch that never reads)")
    args = p.parse_args(argv)
    if not set(args.rounds.split(",")) <= {"plain", "stuck"}:
        p.error("--rounds: plain or stuck, comma-separated")
    work = Path(tempfile.mkdtemp(prefix="boxk8s-slow-watcher-"))
    t0 = time.monotonic()
    try:
        rows = asyncio.run(run(args, work))
    finally:
        for server in SERVERS:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nboxk8s slow-watcher benchmark — {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {args.writes:,} writes a round at {args.rate:g}/s, {args.watchers} watchers, "
          f"total {time.monotonic() - t0:.0f} s\n")
    print("| Round | Events delivered | Latency p50 / p99 / max | Write p50 | Failed writes | Writes/s | Stuck watch |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
