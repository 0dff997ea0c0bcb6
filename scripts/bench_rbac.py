#!/usr/bin/env python3
"""Benchmark what RBAC adds to a request (issue 13: at most 0.1 ms at p50 with 100 bindings).

1. The decision in-process: the auth filter's work for one GET by a ServiceAccount, timed call by
   call: RequestInfo from the path, the attributes, and the RBAC decision over a policy of N
   bindings (ClusterRoleBindings and RoleBindings spread over namespaces, the account bound by one of
   them), plus the authentication of its token (a cached signature, the claims checked against the
   informer caches). The admin's decision (system:masters, no RBAC) is the baseline.
2. Over HTTPS: `boxk8s up --nodes 0` as a subprocess; the same ConfigMap GET by the admin and by a
   ServiceAccount allowed by one of N RoleBindings, interleaved request by request on one keep-alive
   connection each; the difference of the medians is what authentication and RBAC add at the API.

Usage: python3 scripts/bench_rbac.py [--bindings 100] [--requests 3000] [--calls 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec

from boxk8s.api.auth.authn import Authenticator
from boxk8s.api.auth.authorizer import Authorizer, attributes_of
from boxk8s.api.auth.rbac import build_policy
from boxk8s.api.auth.requestinfo import request_info
from boxk8s.api.auth.user import ADMIN
from boxk8s.resources.serviceaccount_token import TokenIssuer, claims

Obj = dict[str, Any]
ISSUER = "https://kubernetes.default.svc.cluster.local"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
PATH = "/api/v1/namespaces/ns-0/configmaps/bench"


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50": s[len(s) // 2], "p90": s[int(len(s) * 0.9)], "p99": s[int(len(s) * 0.99)]}


def fmt(p: dict[str, float], unit: float = 1e3, suffix: str = "µs") -> str:
    return " / ".join(f"{p[k] * unit:.1f}" for k in ("p50", "p90", "p99")) + f" {suffix} (p50 / p90 / p99)"


def policy_objects(bindings: int, namespaces: int = 20) -> dict[str, list[Obj]]:
    """N bindings, a tenth of them cluster-wide, the rest spread over namespaces, each naming a few
    users, groups and accounts; `sa-0` in `ns-0` is bound to `reader` by the last RoleBinding there."""
    roles = [{"metadata": {"name": f"role-{i}"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"], "verbs": ["*"]}]}
        for i in range(10)]
    roles.append({"metadata": {"name": "reader"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]})
    crbs, rbs = [], []
    for i in range(bindings):
        subjects = [{"kind": "User", "name": f"user-{i}"}, {"kind": "Group", "name": f"team-{i % 7}"},
                    {"kind": "ServiceAccount", "name": f"sa-{i}", "namespace": f"ns-{i % namespaces}"}]
        if i < bindings // 10:
            crbs.append({"metadata": {"name": f"crb-{i}"}, "roleRef": {"kind": "ClusterRole", "name": f"role-{i % 10}"},
                         "subjects": subjects})
        else:
            rbs.append({"metadata": {"name": f"rb-{i}", "namespace": f"ns-{i % namespaces}"},
                        "roleRef": {"kind": "ClusterRole", "name": f"role-{i % 10}"}, "subjects": subjects})
    rbs[-1] = {"metadata": {"name": "reader", "namespace": "ns-0"}, "roleRef": {"kind": "ClusterRole", "name": "reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "sa-0"}]}
    return {"cluster_roles": roles, "cluster_role_bindings": crbs, "role_bindings": rbs}


def time_calls(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


class Objects:
    def __init__(self, account: Obj) -> None:
        self.account = account

    def service_account(self, namespace: str, name: str) -> Obj | None:
        return self.account if (namespace, name) == ("ns-0", "sa-0") else None

    def pod(self, namespace: str, name: str) -> Obj | None:
        return None

    def secret(self, namespace: str, name: str) -> Obj | None:
        return None

    def node(self, name: str) -> Obj | None:
        return None

    async def wait_synced(self) -> None:
        return None


def run_now(coro: Any) -> Any:
    """Drive a coroutine that never suspends (no event loop scheduling in the timing)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


async def in_process(bindings: int, calls: int) -> None:
    policy = build_policy(**policy_objects(bindings))
    authorizer = Authorizer(lambda: policy)
    account = {"metadata": {"name": "sa-0", "namespace": "ns-0", "uid": "u-0"}}
    issuer = TokenIssuer(ec.generate_private_key(ec.SECP256R1()), ISSUER, (ISSUER,))
    token = issuer.sign(claims(ISSUER, account, audiences=[ISSUER], expiration_seconds=3600, now=time.time()))
    authn = Authenticator("admin-token", issuer, Objects(account))  # type: ignore[arg-type]
    outcome = await authn.token(token)
    assert outcome.user is not None
    sa_user, query = outcome.user, {}

    def decide_sa() -> None:
        decision = authorizer.authorize(attributes_of(sa_user, request_info("GET", PATH, query)))
        assert decision.allowed

    def decide_admin() -> None:
        assert authorizer.authorize(attributes_of(ADMIN, request_info("GET", PATH, query))).allowed

    def refuse() -> None:  # no binding allows: every applicable binding is visited
        got = authorizer.authorize(attributes_of(sa_user, request_info("DELETE", PATH, query)))
        assert not got.allowed

    def authenticate() -> None:
        assert run_now(authn.token(token)).user is not None

    for name, fn in (("admin (system:masters)", decide_admin), ("ServiceAccount, allowed", decide_sa),
                     ("ServiceAccount, refused", refuse), ("ServiceAccount token authentication", authenticate)):
        time_calls(fn, calls // 10)  # warm up
        print(f"  {name:40s} {fmt(percentiles(time_calls(fn, calls)), 1e6)}")


# ---- over HTTPS --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[tuple[str, str, ssl.SSLContext]]:
    state = Path(tempfile.mkdtemp(prefix="bench-rbac-"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "boxk8s.cli", "up", "--state-dir", str(state / "s"), "--port",
                             str(port), "--nodes", "0", "--no-kubeconfig", "--ingress-port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=state,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        deadline = time.monotonic() + 60
        while not (state / "s" / "kubeconfig").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("boxk8s did not start")
            await asyncio.sleep(0.05)
        ctx = ssl.create_default_context(cafile=str(state / "s" / "pki" / "ca.crt"))
        token = (state / "s" / "pki" / "token").read_text().strip()
        yield f"https://127.0.0.1:{port}", token, ctx
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


async def over_https(bindings: int, requests: int) -> None:
    async with server() as (url, admin_token, ctx):
        async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(ssl=ctx)) as admin_s:
            admin_s.headers["Authorization"] = f"Bearer {admin_token}"

            async def call(method: str, path: str, body: Any = None) -> Any:
                for _ in range(200):  # the API answers once the cluster started
                    with contextlib.suppress(aiohttp.ClientError):
                        async with admin_s.request(method, path, json=body) as resp:
                            if resp.status < 300 or resp.status == 409:
                                return await resp.json()
                            raise SystemExit(f"{method} {path}: {resp.status} {await resp.text()}")
                    await asyncio.sleep(0.05)
                raise SystemExit("the API did not answer")

            objects = policy_objects(bindings)
            for n in range(20):
                await call("POST", "/api/v1/namespaces", {"metadata": {"name": f"ns-{n}"}})
            await call("POST", "/api/v1/namespaces/ns-0/serviceaccounts", {"metadata": {"name": "sa-0"}})
            await call("POST", "/api/v1/namespaces/ns-0/configmaps", {"metadata": {"name": "bench"}, "data": {"k": "v"}})
            for role in objects["cluster_roles"]:
                await call("POST", f"{RBAC}/clusterroles", role)
            for b in objects["cluster_role_bindings"]:
                await call("POST", f"{RBAC}/clusterrolebindings", b)
            for b in objects["role_bindings"]:
                await call("POST", f"{RBAC}/namespaces/{b['metadata']['namespace']}/rolebindings", b)
            answer = await call("POST", "/api/v1/namespaces/ns-0/serviceaccounts/sa-0/token", {"spec": {}})
            sa_token = answer["status"]["token"]

            async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(ssl=ctx)) as sa_s:
                sa_s.headers["Authorization"] = f"Bearer {sa_token}"
                for _ in range(100):  # the binding reaches the API's caches
                    async with sa_s.get(PATH) as resp:
                        if resp.status == 200:
                            break
                    await asyncio.sleep(0.05)
                else:
                    raise SystemExit("the ServiceAccount is not allowed")

                async def one(session: aiohttp.ClientSession) -> float:
                    t0 = time.perf_counter()
                    async with session.get(PATH) as resp:
                        await resp.read()
                        assert resp.status == 200
                    return time.perf_counter() - t0

                for _ in range(300):  # warm up both connections
                    await one(admin_s)
                    await one(sa_s)
                admin_t, sa_t = [], []
                for i in range(requests):  # interleaved, alternating who goes first
                    first, second = (admin_s, sa_s) if i % 2 else (sa_s, admin_s)
                    a, b = await one(first), await one(second)
                    (admin_t if first is admin_s else sa_t).append(a)
                    (sa_t if first is admin_s else admin_t).append(b)
        pa, ps = percentiles(admin_t), percentiles(sa_t)
        print(f"  GET by the admin (no RBAC)              {fmt(pa, 1e3, 'ms')}")
        print(f"  GET by a ServiceAccount ({bindings} bindings)  {fmt(ps, 1e3, 'ms')}")
        print(f"  added at p50: {(ps['p50'] - pa['p50']) * 1e3:.3f} ms; medians of paired differences: "
              f"{statistics.median(s - a for s, a in zip(sa_t, admin_t, strict=True)) * 1e3:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=100)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--skip-https", action="store_true")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')} {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
    for bindings in (args.bindings, 10 * args.bindings):
        print(f"in-process, {bindings} bindings ({args.calls} calls each):")
        asyncio.run(in_process(bindings, args.calls))
    if not args.skip_https:
        print(f"over HTTPS, {args.bindings} bindings, {args.requests} GETs each:")
        asyncio.run(over_https(args.bindings, args.requests))
    print(json.dumps({"command": " ".join(sys.argv)}))


if __name__ == "__main__":
    main()
