#!/usr/bin/env python3
"""Benchmark Secrets at rest: Secret creates and GETs per second over HTTPS with and without
`--encryption-provider-config`, and what a restart costs with many encrypted Secrets.

Starts one `boxk8s up` (no nodes) per configuration as scripts/bench_api.py does: `identity` (no
encryption: the file is not given) and one server per provider (aesgcm, aescbc, secretbox, each
with a 32-byte key). Rounds alternate between the servers; each round creates `--objects`
Secrets (two 256-byte values) into a fresh namespace at `--concurrency`, then GETs them back in
turn, and reads the server's CPU time per create from /proc. Medians are printed. Then each
server is stopped and started again over its Secrets (decrypted while the store opens) and the
time until the API answers is printed beside the plain server's. Before the servers, the store
alone in-process (creates, GETs, opening over the Secrets), which a busy machine disturbs less;
last, the ciphers alone: one Secret's JSON through each provider.

Usage: python3 scripts/bench_encryption.py            # about a minute on 2 cores
       python3 scripts/bench_encryption.py --quick    # smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import SERVERS, Conn, Server, cpu_seconds, pct, post_all, start_server, wait_ready  # noqa: E402

PROVIDERS = ("identity", "aesgcm", "aescbc", "secretbox")


def config_file(work: Path, provider: str) -> Path:
    path = work / f"{provider}.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [
            {provider: {"keys": [{"name": "key1", "secret": base64.b64encode(os.urandom(32)).decode()}]}}]}]}))
    return path


def secret(name: str) -> dict[str, Any]:
    value = base64.b64encode(os.urandom(192)).decode()  # 256 characters, different for each Secret
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
            "data": {"password": value, "token": value[::-1]}}


async def get_all(conn: Conn, ns: str, names: list[str], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    queue = list(names)
    async with conn.session(limit=concurrency) as session:

        async def worker() -> None:
            while queue:
                name = queue.pop()
                t0 = time.perf_counter()
                async with session.get(f"{conn.url}/api/v1/namespaces/{ns}/secrets/{name}") as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"GET {name}: {resp.status}")
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {"rate": len(names) / wall, "p50": pct(latencies, 50), "p99": pct(latencies, 99)}


def start(work: Path, provider: str) -> Server:
    (work / "no-manifests").mkdir(exist_ok=True)
    (work / provider / "kubeconfig").unlink(missing_ok=True)  # wait_ready reads the new one
    extra = ["--nodes", "0", "-f", str(work / "no-manifests")]
    if provider != "identity":
        extra += ["--encryption-provider-config", str(work / f"{provider}.yaml")]
    return start_server(work, provider, extra_args=extra)


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    providers = args.providers.split(",")
    servers = {p: start(work, p) for p in providers}
    conns = {p: (await wait_ready(s))[1] for p, s in servers.items()}
    results: dict[str, list[dict[str, float]]] = {p: [] for p in providers}
    warm = [json.dumps(secret(f"w-{i}")).encode() for i in range(max(args.objects // 10, 20))]
    for p in providers:  # first requests (imports, caches) are not measured
        await post_all(conns[p], "warm", f"{conns[p].url}/api/v1/namespaces/warm/secrets", warm, args.concurrency)
    for r in range(args.rounds):
        for p in providers:
            names = [f"s-{i:06d}" for i in range(args.objects)]
            bodies = [json.dumps(secret(n)).encode() for n in names]
            pid = servers[p].proc.pid
            cpu = cpu_seconds(pid)
            created = await post_all(conns[p], f"r{r}", f"{conns[p].url}/api/v1/namespaces/r{r}/secrets", bodies,
                                     args.concurrency)
            created["cpu"] = (cpu_seconds(pid) - cpu) / args.objects
            got = await get_all(conns[p], f"r{r}", names, args.concurrency)
            results[p].append({"create": created["rate"], "create_p50": created["p50"], "cpu": created["cpu"],
                               "get": got["rate"], "get_p50": got["p50"]})
        print(f"round {r + 1}: " + ", ".join(
            f"{p} {results[p][-1]['create']:,.0f} creates/s {results[p][-1]['get']:,.0f} GETs/s" for p in providers),
            flush=True)
    restarts: dict[str, float] = {}
    for p in providers:
        servers[p].stop()
        again = start(work, p)
        restarts[p] = (await wait_ready(again))[0]
        again.stop()
    medians = {p: {k: statistics.median(x[k] for x in v) for k in v[0]} for p, v in results.items()}
    return {"medians": medians, "restarts": restarts, "stored": args.objects * args.rounds + len(warm)}


async def store_level(providers: list[str], objects: int, rounds: int, work: Path) -> dict[str, dict[str, float]]:
    """The store alone, in this process (no HTTP, no other server competing): Secret creates/s
    (group-committed, 8 at a time) and the process's CPU time per create, per GET (from the
    in-memory heads: decrypted once, at write or at open), and to open the store over them (every
    row decrypted). CPU time is what a busy machine disturbs least. Rounds alternate."""
    from boxk8s.store import Store, StoreSettings
    from boxk8s.store.encryption import load_encryption_config
    from boxk8s.store.transform import PLAIN, ValueTransformer

    samples: dict[str, list[dict[str, float]]] = {p: [] for p in providers}
    bodies = [secret(f"s-{i:06d}") for i in range(objects)]
    for r in range(rounds):
        for p in providers:
            transformer: ValueTransformer = PLAIN if p == "identity" else load_encryption_config(work / f"{p}.yaml")
            settings = StoreSettings(path=work / f"store-{p}-{r}" / "state.db")
            store = await Store.open_standalone(settings, transformer)
            keys = [f"/registry/core/secrets/default/{b['metadata']['name']}" for b in bodies]
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, objects, 8):
                await asyncio.gather(*(store.create(k, b) for k, b in zip(keys[i:i + 8], bodies[i:i + 8], strict=True)))
            t1, c1 = time.perf_counter(), time.process_time()
            for k in keys:
                await store.get(k)
            c2 = time.process_time()
            await store.close()
            t3, c3 = time.perf_counter(), time.process_time()
            store = await Store.open_standalone(settings, transformer)
            t4, c4 = time.perf_counter(), time.process_time()
            await store.close()
            samples[p].append({"create": objects / (t1 - t0), "create_cpu": (c1 - c0) / objects,
                               "get_cpu": (c2 - c1) / objects, "open": t4 - t3, "open_cpu": c4 - c3})
    return {p: {k: statistics.median(x[k] for x in v) for k in v[0]} for p, v in samples.items()}


def ciphers(repeats: int) -> dict[str, tuple[float, float]]:
    """µs to encrypt and to decrypt one Secret's JSON, in-process."""
    from boxk8s.store.encryption.config import Key, Provider
    from boxk8s.store.encryption.providers import provider_transformer

    data = json.dumps(secret("db"), separators=(",", ":")).encode()
    aad = b"/registry/core/secrets/default/db"
    out = {}
    for kind in PROVIDERS[1:]:
        prefix, keyed = provider_transformer(Provider(kind, (Key("key1", os.urandom(32)),)))
        stored = keyed.to_storage(data, aad)
        t0 = time.perf_counter()
        for _ in range(repeats):
            keyed.to_storage(data, aad)
        t1 = time.perf_counter()
        for _ in range(repeats):
            keyed.from_storage(stored, aad)
        t2 = time.perf_counter()
        out[kind] = ((t1 - t0) / repeats * 1e6, (t2 - t1) / repeats * 1e6)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objects", type=int, default=1_000, help="Secrets created (and read) per server and round")
    p.add_argument("--rounds", type=int, default=5, help="rounds over the servers; medians shown")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--providers", default=",".join(PROVIDERS), help="identity (no encryption) and/or providers")
    p.add_argument("--store-objects", type=int, default=5_000, help="Secrets per round of the in-process store run")
    p.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.objects, args.rounds, args.store_objects = min(args.objects, 200), 1, min(args.store_objects, 500)
    work = Path(tempfile.mkdtemp(prefix="boxk8s-bench-encryption-"))
    try:
        for name in args.providers.split(","):
            if name != "identity":
                config_file(work, name)
        in_store = asyncio.run(store_level(args.providers.split(","), args.store_objects, args.rounds, work))
        out = asyncio.run(run(args, work))
    except (RuntimeError, aiohttp.ClientError) as exc:
        print(f"bench_encryption: {exc}", file=sys.stderr)
        return 1
    finally:
        for s in SERVERS:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    med, restarts = out["medians"], out["restarts"]
    base = med.get("identity")
    print(f"\nMachine: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
          f"{args.objects:,} Secrets per server and round, {args.rounds} rounds, concurrency {args.concurrency}")
    print(f"{'provider':<10} {'creates/s':>10} {'p50':>8} {'CPU/create':>11} {'GETs/s':>8} {'p50':>8} "
          f"{'restart with ' + format(out['stored'], ',') + ' Secrets':>30}")
    for name, m in med.items():
        rel = f" ({m['create'] / base['create']:.2f}x)" if base and name != "identity" else ""
        print(f"{name:<10} {m['create']:>10,.0f} {m['create_p50'] * 1e3:>6.1f}ms {m['cpu'] * 1e6:>9.0f}us "
              f"{m['get']:>8,.0f} {m['get_p50'] * 1e3:>6.1f}ms {restarts[name]:>29.2f}s{rel}")
    print(f"\nThe store alone, in-process ({args.store_objects:,} Secrets, medians of {args.rounds} rounds):")
    print(f"{'provider':<10} {'creates/s':>10} {'CPU/create':>11} {'CPU/GET':>8} {'open':>8} {'CPU of open':>12}")
    for name, m in in_store.items():
        print(f"{name:<10} {m['create']:>10,.0f} {m['create_cpu'] * 1e6:>9.0f}us {m['get_cpu'] * 1e6:>6.1f}us "
              f"{m['open']:>7.2f}s {m['open_cpu']:>11.2f}s")
    print("\nThe ciphers alone, one Secret's JSON (µs encrypt / decrypt):")
    for kind, (enc, dec) in ciphers(2_000).items():
        print(f"  {kind:<10} {enc:6.1f} / {dec:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
