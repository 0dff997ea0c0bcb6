#!/usr/bin/env python3
"""Benchmark backup and restore: time and size of a backup of a cluster holding N objects, and what
backups taken back to back cost the clients writing meanwhile.

Starts `boxk8s up` (no nodes) as scripts/bench_api.py does, creates N ConfigMaps over HTTPS (bench_api's:
two labels, but a random 256-byte value), then measures, with the server idle: `write_backup` (SQLite's online
backup of the store, the credentials, gzip, sha256) in this process, `boxk8s backup` as a command
(Python's start included), checking a backup file whole (`verify_backup`), and `boxk8s restore` into
a new folder; then creates of more ConfigMaps at concurrency 8: alone, while backups run back to back
in a thread of this process (the server is another process; on 2 cores they share the CPU), and with
the server itself snapshotting every 0.5 s (`up --snapshot-interval 0.5s`: a thread of its process).

Usage: python3 scripts/bench_backup.py                   # 10,000 objects, about a minute on 2 cores
       python3 scripts/bench_backup.py --quick           # smoke test
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_api import configmap, post_all, run_with_servers, start_server, wait_ready  # noqa: E402

from boxk8s.backup.archive import verify_backup, write_backup  # noqa: E402
from boxk8s.backup.restore import restore  # noqa: E402


def timed(rounds: int, f: Any) -> list[float]:
    out = []
    for i in range(rounds):
        t0 = time.perf_counter()
        f(i)
        out.append(time.perf_counter() - t0)
    return out


def db_bytes(state: Path) -> int:
    return sum(p.stat().st_size for p in state.glob("state.db*"))


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    server = start_server(work, "cluster")
    _, conn = await wait_ready(server)
    state = server.state_dir
    # Values that do not compress away (bench_api's "xxx…" would): the backup's size is then honest.
    bodies = [json.dumps(configmap(f"cm-{i:06d}", secrets.token_hex(128))).encode() for i in range(args.objects)]
    load = await post_all(conn, "bench", f"{conn.url}/api/v1/namespaces/bench/configmaps", bodies, 8)
    out: dict[str, Any] = {"load": load, "db": db_bytes(state)}
    name = (state / "cluster-name").read_text().strip()

    files = [work / f"backup-{i}.tar.gz" for i in range(args.rounds)]
    out["backup"] = timed(args.rounds, lambda i: write_backup(state, files[i], cluster=name))
    out["size"] = files[0].stat().st_size
    out["manifest"] = verify_backup(files[0])
    t0 = time.perf_counter()
    cli = subprocess.run([sys.executable, "-m", "boxk8s.cli", "backup", "--state-dir", str(state),
                          str(work / "cli.tar.gz")], capture_output=True, text=True)
    out["cli"] = time.perf_counter() - t0
    if cli.returncode:
        raise RuntimeError(cli.stderr)
    out["verify"] = timed(args.rounds, lambda i: verify_backup(files[i]))
    out["restore"] = timed(args.rounds, lambda i: restore(files[i], work / f"restored-{i}"))

    more = args.objects // 4
    quiet = [json.dumps(configmap(f"q-{i:06d}", secrets.token_hex(128))).encode() for i in range(more)]
    out["writes_alone"] = await post_all(conn, "quiet", f"{conn.url}/api/v1/namespaces/quiet/configmaps", quiet, 8)
    done, taken = threading.Event(), []

    def back_to_back() -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            write_backup(state, work / "busy.tar.gz", cluster=name)
            taken.append(time.perf_counter() - t0)

    busy = [json.dumps(configmap(f"b-{i:06d}", secrets.token_hex(128))).encode() for i in range(more)]
    thread = threading.Thread(target=back_to_back, daemon=True)
    thread.start()
    try:
        out["writes_busy"] = await post_all(conn, "busy", f"{conn.url}/api/v1/namespaces/busy/configmaps", busy, 8)
    finally:
        done.set()
        thread.join()
    out["busy_backups"] = taken

    # The same cluster again, snapshotting itself every 0.5 s (back to back at this size): the copy in a
    # thread of the server, beside its event loop.
    server.stop()
    (state / "kubeconfig").unlink()  # wait_ready waits for the new one (the port changes)
    again = start_server(work, "cluster", extra_args=["--nodes", "0", "--snapshot-interval", "0.5s",
                                                      "--snapshot-keep", "1000"])
    _, conn = await wait_ready(again)
    inner = [json.dumps(configmap(f"s-{i:06d}", secrets.token_hex(128))).encode() for i in range(more)]
    out["writes_snapshotting"] = await post_all(conn, "inner", f"{conn.url}/api/v1/namespaces/inner/configmaps",
                                                inner, 8)
    out["inner_snapshots"] = len(list((state / "snapshots").glob("*.tar.gz")))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objects", type=int, default=10_000, help="ConfigMaps in the cluster")
    p.add_argument("--rounds", type=int, default=5, help="backups, checks and restores measured; medians shown")
    p.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.objects, args.rounds = min(args.objects, 400), 1
    out = run_with_servers("boxk8s-bench-backup-", lambda work: run(args, work))
    med = statistics.median
    m = out["manifest"]
    alone, busy = out["writes_alone"], out["writes_busy"]
    print(f"\nMachine: {platform.machine()}, Python {platform.python_version()}; {args.objects:,} ConfigMaps "
          f"(random 256-byte value) created at {out['load']['rate']:,.0f}/s; {args.rounds} rounds, medians")
    print(f"Store: {out['db'] / 2**20:.1f} MiB (state.db and its WAL), revision {m.revision}, {m.objects:,} objects")
    print(f"Backup file: {out['size'] / 2**20:.2f} MiB")
    print(f"write_backup (in process):  {med(out['backup']) * 1000:.0f} ms")
    print(f"`boxk8s backup` (command):  {out['cli'] * 1000:.0f} ms")
    print(f"verify_backup (whole file): {med(out['verify']) * 1000:.0f} ms")
    print(f"restore into a new folder:  {med(out['restore']) * 1000:.0f} ms")
    print(f"Creates at concurrency 8, alone:                {alone['rate']:,.0f}/s (p50 {alone['p50'] * 1000:.1f} ms, "
          f"p99 {alone['p99'] * 1000:.1f} ms)")
    print(f"Creates at concurrency 8, backups back to back: {busy['rate']:,.0f}/s (p50 {busy['p50'] * 1000:.1f} ms, "
          f"p99 {busy['p99'] * 1000:.1f} ms); {len(out['busy_backups'])} backups taken meanwhile, "
          f"{med(out['busy_backups']) * 1000:.0f} ms each")
    inner = out["writes_snapshotting"]
    print(f"Creates at concurrency 8, the server snapshotting every 0.5 s: {inner['rate']:,.0f}/s (p50 "
          f"{inner['p50'] * 1000:.1f} ms, p99 {inner['p99'] * 1000:.1f} ms); {out['inner_snapshots']} snapshots "
          f"in {inner['wall']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
