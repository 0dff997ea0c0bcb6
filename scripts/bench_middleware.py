#!/usr/bin/env python3
"""The per-request cost of the limits and metrics middlewares (api/limits.py, api/telemetry.py), in
process: the same trivial handler called directly and through both middlewares, for a GET of one
ConfigMap, a LIST and a POST (aiohttp's mocked requests, no socket). Reports µs per request, the
median of `--rounds` rounds of `--calls` calls each.

Usage: python3 scripts/bench_middleware.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from boxk8s.api.auth.requestinfo import REQUEST_INFO, info_of
from boxk8s.api.auth.user import ADMIN, REQUEST_USER
from boxk8s.api.limits import Limiter
from boxk8s.api.telemetry import Telemetry
from boxk8s.resources.kinds import Kinds
from boxk8s.store import Store, StoreSettings

REQUESTS = {
    "GET one ConfigMap": ("GET", "/api/v1/namespaces/default/configmaps/c", {}),
    "LIST ConfigMaps": ("GET", "/api/v1/namespaces/default/configmaps", {}),
    "POST a ConfigMap": ("POST", "/api/v1/namespaces/default/configmaps", {"Content-Type": "application/json"}),
}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def handler(_: web.Request) -> web.StreamResponse:
    return web.Response(status=200)


async def auth_stand_in(request: web.Request, next_handler: Handler) -> web.StreamResponse:
    info_of(request)
    return await next_handler(request)


async def per_call(method: str, path: str, headers: dict[str, str], chain: list, calls: int) -> float:
    """Seconds per request through `chain` (outermost first) to the handler."""
    async def call(request: web.Request, i: int = 0) -> web.StreamResponse:
        if i == len(chain):
            return await handler(request)
        return await chain[i](request, lambda r: call(r, i + 1))

    request = make_mocked_request(method, path, headers=headers)  # one: mocking costs milliseconds
    request[REQUEST_USER] = ADMIN
    start = time.process_time()  # CPU time: less at the mercy of a busy machine than the clock
    for _ in range(calls):
        request.pop(REQUEST_INFO, None)  # worked out again for each request, as for a new one
        await call(request)
    return (time.process_time() - start) / calls


async def main(args: argparse.Namespace) -> None:
    store = await Store.open_standalone(StoreSettings(path=Path(args.db)))
    try:
        limiter = Limiter()
        telemetry = Telemetry(Kinds(), store, limiter)
        # The auth filter works out each request's RequestInfo in both cases (RBAC needs it); the
        # middlewares measured reuse it.
        bare = [auth_stand_in]
        full = [telemetry.middleware(), auth_stand_in, limiter.middleware()]
        print("| Request | Without (µs) | Through limits and metrics (µs) | Added (µs) |")
        print("|---|---|---|---|")
        for name, (method, path, headers) in REQUESTS.items():
            bare_s, full_s = [], []
            for _ in range(args.rounds):  # interleaved, so that the machine's noise hits both alike
                bare_s.append(await per_call(method, path, headers, bare, args.calls))
                full_s.append(await per_call(method, path, headers, full, args.calls))
            b, f = statistics.median(bare_s) * 1e6, statistics.median(full_s) * 1e6
            print(f"| {name} | {b:.1f} | {f:.1f} | {f - b:.1f} |")
    finally:
        await store.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--db", default="/tmp/boxk8s-bench-middleware.db")
    sys.exit(asyncio.run(main(p.parse_args())))
