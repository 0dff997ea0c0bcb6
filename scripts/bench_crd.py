#!/usr/bin/env python3
"""Benchmark custom resources against ConfigMaps: creates per second over HTTPS, in the same run.

Starts `boxk8s up` (no nodes) as scripts/bench_api.py does, creates a CRD whose version has a
50-field structural schema (strings with patterns and lengths, integers with bounds, enums,
booleans, int-or-string, a nested object, a set list and a map list, defaults) with the status
subresource and printer columns, waits until it is served, then alternates rounds of ConfigMap
creates (bench_api's: a 256-byte value, two labels) and custom resource creates (all 50 fields set,
values differing from object to object) at the same concurrency, each round into a fresh namespace
(after a few unmeasured creates of each). It prints the median rate of each kind and their ratio
(target: custom resources at >= 0.8 of ConfigMaps), the server's CPU time per create of each (from
/proc), and the time from the CRD's create until its resources answer. A third kind, the same
objects under a CRD with no schema, tells the cost of the objects' size from that of the schema.

Usage: python3 scripts/bench_crd.py            # about 40 s on 2 cores
       python3 scripts/bench_crd.py --quick    # smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import Conn, configmap, cpu_seconds, post_all, run_with_servers, start_server, wait_ready  # noqa: E402

GROUP = "bench.boxk8s.dev"
FIELDS = 50


def schema() -> dict[str, Any]:
    """A spec of 50 fields of the kinds CRDs use, with value validations and a few defaults."""
    props: dict[str, Any] = {}
    for i in range(12):
        props[f"name{i}"] = {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9-]+$"}
    for i in range(10):
        props[f"count{i}"] = {"type": "integer", "minimum": 0, "maximum": 1000, "default": 1}
    for i in range(6):
        props[f"flag{i}"] = {"type": "boolean", "default": False}
    for i in range(6):
        props[f"mode{i}"] = {"type": "string", "enum": ["fast", "safe", "off"], "default": "safe"}
    for i in range(6):
        props[f"port{i}"] = {"x-kubernetes-int-or-string": True}
    for i in range(4):
        props[f"ratio{i}"] = {"type": "number", "minimum": 0, "maximum": 1}
    props["resources"] = {"type": "object", "properties": {
        "cpu": {"type": "string"}, "memory": {"type": "string"}, "limit": {"type": "integer", "minimum": 0}}}
    props["labels"] = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}}
    props["tags"] = {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
    props["env"] = {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "value": {"type": "string"}}}}
    props["image"] = {"type": "string", "minLength": 1}
    props["replicas"] = {"type": "integer", "minimum": 0, "default": 1}
    assert len(props) == FIELDS, len(props)
    return {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["image"], "properties": props},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}, "replicas": {"type": "integer"}}},
    }}


def opaque_crd() -> dict[str, Any]:
    """The control: the same objects under a CRD whose spec has no schema (preserved as sent), so
    the figures tell the size of the objects from the work of their schema."""
    out = crd()
    out["metadata"]["name"] = f"opaques.{GROUP}"
    out["spec"]["names"] = {"plural": "opaques", "singular": "opaque", "kind": "Opaque"}
    out["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return out


def crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"benchmarks.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "benchmarks", "singular": "benchmark", "kind": "Benchmark"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema()},
                               "subresources": {"status": {}},
                               "additionalPrinterColumns": [
                                   {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
                                   {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}]}]},
    }


def custom(name: str) -> dict[str, Any]:
    """All 50 fields set; values differ from object to object (as ConfigMaps' data does), so no
    per-value cache (managedFields trees) makes one object's writing cheaper than a real one's."""
    n = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else 0
    spec: dict[str, Any] = {f"name{i}": f"{name}-{i}" for i in range(12)}
    spec |= {f"count{i}": (n + i) % 1000 for i in range(10)}
    spec |= {f"flag{i}": i % 2 == 0 for i in range(6)}
    spec |= {f"mode{i}": "fast" for i in range(6)}
    spec |= {f"port{i}": 8000 + i if i % 2 else f"http-{i}" for i in range(6)}
    spec |= {f"ratio{i}": 0.25 * i for i in range(4)}
    spec |= {"resources": {"cpu": "500m", "memory": "128Mi", "limit": 2}, "labels": {"app": "bench", "tier": "x"},
             "tags": ["a", "b", "c"], "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "image": "registry.example/app:1.0", "replicas": 3}
    assert len(spec) == FIELDS
    return {"apiVersion": f"{GROUP}/v1", "kind": "Benchmark", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": spec}


async def install(conn: Conn, definition: dict[str, Any]) -> float:
    """Create a CRD; seconds until its resources answer."""
    plural = definition["spec"]["names"]["plural"]
    async with conn.session(limit=1) as session:
        t0 = time.perf_counter()
        async with session.post(f"{conn.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                json=definition) as resp:
            if resp.status != 201:
                raise RuntimeError(f"create CRD: {resp.status} {await resp.text()}")
        while True:
            async with session.get(f"{conn.url}/apis/{GROUP}/v1/namespaces/default/{plural}") as resp:
                await resp.read()
                if resp.status == 200:
                    return time.perf_counter() - t0
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("the CRD was not served within 30 s")
            await asyncio.sleep(0.005)


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    server = start_server(work, "crd")
    try:
        _, conn = await wait_ready(server)
        established = await install(conn, crd())
        established_later = await install(conn, opaque_crd())
        payload = "x" * 256
        warm = max(args.objects // 10, 20)  # first requests of each kind (imports, caches) are not measured
        await post_all(conn, "warm", f"{conn.url}/api/v1/namespaces/warm/configmaps",
                       [json.dumps(configmap(f"w-{i}", payload)).encode() for i in range(warm)], args.concurrency)
        await post_all(conn, "warm", f"{conn.url}/apis/{GROUP}/v1/namespaces/warm/benchmarks",
                       [json.dumps(custom(f"w-{i}")).encode() for i in range(warm)], args.concurrency)
        results: dict[str, list[dict[str, float]]] = {"configmaps": [], "custom": [], "opaque": []}
        pid = server.proc.pid
        for r in range(args.rounds):
            cm_bodies = [json.dumps(configmap(f"cm-{i:06d}", payload)).encode() for i in range(args.objects)]
            cr_bodies = [json.dumps(custom(f"cr-{i:06d}")).encode() for i in range(args.objects)]
            cpu = cpu_seconds(pid)
            results["configmaps"].append(await post_all(
                conn, f"cm-{r}", f"{conn.url}/api/v1/namespaces/cm-{r}/configmaps", cm_bodies, args.concurrency))
            results["configmaps"][-1]["cpu"] = (cpu_seconds(pid) - cpu) / args.objects
            cpu = cpu_seconds(pid)
            results["custom"].append(await post_all(
                conn, f"cr-{r}", f"{conn.url}/apis/{GROUP}/v1/namespaces/cr-{r}/benchmarks", cr_bodies,
                args.concurrency))
            results["custom"][-1]["cpu"] = (cpu_seconds(pid) - cpu) / args.objects
            op_bodies = [json.dumps({**custom(f"op-{i:06d}"), "kind": "Opaque"}).encode() for i in range(args.objects)]
            cpu = cpu_seconds(pid)
            results["opaque"].append(await post_all(
                conn, f"op-{r}", f"{conn.url}/apis/{GROUP}/v1/namespaces/op-{r}/opaques", op_bodies, args.concurrency))
            results["opaque"][-1]["cpu"] = (cpu_seconds(pid) - cpu) / args.objects
            print(f"round {r + 1}: ConfigMaps {results['configmaps'][-1]['rate']:,.0f}/s, "
                  f"custom resources {results['custom'][-1]['rate']:,.0f}/s, "
                  f"the same without a schema {results['opaque'][-1]['rate']:,.0f}/s", flush=True)
    finally:
        server.stop()
    return {"established": established, "established_later": established_later,
            **{k: {m: statistics.median(x[m] for x in v) for m in ("rate", "p50", "p99", "cpu")}
               for k, v in results.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objects", type=int, default=1_000, help="creates of each kind per round")
    p.add_argument("--rounds", type=int, default=8, help="rounds (ConfigMaps then custom resources); medians shown")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.objects, args.rounds = min(args.objects, 200), 1
    out = run_with_servers("boxk8s-bench-crd-", lambda work: run(args, work))
    cm, cr, op = out["configmaps"], out["custom"], out["opaque"]
    ratio = cr["rate"] / cm["rate"]
    print(f"\nMachine: {platform.machine()}, Python {platform.python_version()}; {args.objects:,} creates of each kind "
          f"per round, {args.rounds} rounds, concurrency {args.concurrency}")
    print(f"CRD created → its resources served: {out['established'] * 1000:.0f} ms for the first, created the "
          f"moment the API answered (the controllers start behind it), {out['established_later'] * 1000:.0f} ms "
          "for the second")
    print(f"ConfigMap creates/s:       {cm['rate']:,.0f} (p50 {cm['p50'] * 1000:.1f} ms, p99 {cm['p99'] * 1000:.1f} ms)")
    print(f"Custom resource creates/s: {cr['rate']:,.0f} (p50 {cr['p50'] * 1000:.1f} ms, p99 {cr['p99'] * 1000:.1f} ms), "
          f"{FIELDS}-field structural schema")
    print(f"Ratio: {ratio:.2f} (target >= 0.8: {'met' if ratio >= 0.8 else 'missed'})")
    print(f"The same objects under a CRD with no schema: {op['rate']:,.0f}/s (p50 {op['p50'] * 1000:.1f} ms), "
          f"ratio {op['rate'] / cm['rate']:.2f}")
    print(f"Server CPU per create: ConfigMap {cm['cpu'] * 1e6:.0f} us, custom resource {cr['cpu'] * 1e6:.0f} us "
          f"(without a schema {op['cpu'] * 1e6:.0f} us); ConfigMap / custom resource {cm['cpu'] / cr['cpu']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
