"""The served API, fuzzed: thousands of generated requests (tests/integration/fuzzing.py) over every
path the discovery documents name, every verb, broken bodies and patches and query parameters. None
gets a 5xx, none hangs (each has a deadline), every refusal is a Status, nothing is logged as an
error, and the objects there before (one of every kind, in the `seed` namespace or named `seed-…`)
are intact afterwards: same content, same resourceVersion, no object added beside them.

BOXK8S_FUZZ_REQUESTS (default 5000) sets how many requests a run sends, BOXK8S_FUZZ_SEED the seed
(default fixed, so CI sends the same requests each run; `random` for a new one, printed on failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from yarl import URL

from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.kubelet.settings import NodeSettings
from tests.integration.controllers_harness import FAST
from tests.integration.fuzzing import NAMESPACES, PROTECTED, Request, Resource, requests
from tests.integration.samples import NAMES, SAMPLES, sample
from tests.integration.waiting import wait_for_condition

REQUESTS = int(os.environ.get("BOXK8S_FUZZ_REQUESTS", "5000"))
SEED = os.environ.get("BOXK8S_FUZZ_SEED", "20261203")
DEADLINE = 10.0  # a request without an answer by then has hung
POOL = 200  # requests drawn by Hypothesis; the rest recombine them
NODE = "node-1"
WEBHOOK_KINDS = {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}


@dataclass
class Api:
    """The cluster's own API (HTTPS, RBAC, impersonation: what `boxk8s up` serves), as the admin."""

    session: aiohttp.ClientSession
    root: str
    token: str

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with asyncio.timeout(DEADLINE), self.session.request(
                method, self.root + path, json=body, headers={"Authorization": f"Bearer {self.token}"}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        code, got = await self.request(method, path, body)
        assert 200 <= code < 300, (method, path, code, got.get("message") if isinstance(got, dict) else got)
        return got


@contextlib.asynccontextmanager
async def served_api(tmp: Path) -> AsyncIterator[Api]:
    """A cluster with one simulated node (whose kubelet serves the log, exec, attach and port-forward
    streams of the pods bound to it), no scheduler, no controllers but the required ones, and its real
    HTTPS API."""
    settings = ClusterSettings(state_dir=tmp, port=0, ingress_port=0, ingress_tls_port=0, cluster_name="fuzz",
                               write_kubeconfig=False)
    async with running(settings, controllers=[], nodes=[NodeSettings(NODE, fake=True)], kubelet=FAST,
                       scheduler=False, proxy=False) as c:
        assert c.api is not None and c.api.bound_port and c.credentials is not None
        connector = aiohttp.TCPConnector(ssl=c.credentials.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            yield Api(session, f"https://127.0.0.1:{c.api.bound_port}", c.credentials.token)


def generate(strategy: st.SearchStrategy[Request], n: int, seed: int) -> list[Request]:
    """n requests: a pool drawn by Hypothesis (its generation only: a fuzz run reports what it sent,
    unshrunk), then recombined (a request's method and path, another's body with its Content-Type,
    others' query and headers), as drawing each of thousands costs Hypothesis some 15 ms."""
    pool = draw_pool(strategy, min(n, POOL), seed)
    rng = random.Random(seed)
    bodies: dict[str, list[Request]] = {}
    for r in pool:
        bodies.setdefault(r.method, []).append(r)
    out = list(pool)
    while len(out) < n:
        base = rng.choice(pool)
        body = rng.choice(bodies[base.method])
        kept = tuple(h for h in body.headers if h[0] == "Content-Type")
        others = tuple(h for h in rng.choice(pool).headers if h[0] != "Content-Type")
        out.append(Request(base.method, base.path, rng.choice(pool).query, kept + others, body.body))
    return out


def draw_pool(strategy: st.SearchStrategy[Request], n: int, seed: int) -> list[Request]:
    out: list[Request] = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(request: Request) -> None:
        out.append(request)

    while len(out) < n:
        collect()
        seed += 1
    return out[:n]


async def served_resources(api: Api) -> list[Resource]:
    found: list[Resource] = []
    prefixes = [f"/api/{v}" for v in (await api.ok("GET", "/api"))["versions"]]
    prefixes += [f"/apis/{v['groupVersion']}" for g in (await api.ok("GET", "/apis"))["groups"] for v in g["versions"]]
    for prefix in prefixes:
        doc = await api.ok("GET", prefix)
        entries = doc["resources"]
        subs: dict[str, list[str]] = {}
        for e in entries:
            plural, _, sub = e["name"].partition("/")
            if sub:
                subs.setdefault(plural, []).append(sub)
        for e in entries:
            if "/" not in e["name"]:
                found.append(Resource(prefix, e["name"], e["namespaced"], e["kind"], doc["groupVersion"],
                                      tuple(e["verbs"]), tuple(subs.get(e["name"], ()))))
    return found


def has_sample(res: Resource) -> bool:
    group = res.api_version.rpartition("/")[0]
    return (f"{group}/{res.kind}" in SAMPLES or res.kind in SAMPLES) and res.kind not in NAMES


def collection(res: Resource, namespace: str) -> str:
    return f"{res.prefix}/namespaces/{namespace}/{res.plural}" if res.namespaced else f"{res.prefix}/{res.plural}"


async def make(api: Api, res: Resource, namespace: str, name: str) -> str | None:
    """One valid object of the kind; its path, or None where the kind stores nothing (the reviews)."""
    obj = sample(res.kind, res.api_version, name)
    code, body = await api.request("POST", collection(res, namespace), obj)
    assert code < 300 or code == 409, (res, code, body)
    path = f"{collection(res, namespace)}/{name}"
    return path if (await api.request("GET", path))[0] == 200 else None


class Protected:
    """The objects nothing the fuzzer sends may touch."""

    def __init__(self, api: Api, resources: list[Resource]) -> None:
        self.api = api
        self.resources = [r for r in resources if {"list", "create"} <= set(r.verbs)]
        self.objects: dict[str, Any] = {}
        self.names: dict[str, set[str]] = {}

    async def seed(self) -> None:
        await self.api.ok("POST", "/api/v1/namespaces", {"metadata": {"name": PROTECTED}})
        for res in self.resources:
            if has_sample(res):
                path = await make(self.api, res, PROTECTED, f"{PROTECTED}-{res.plural}")
                if path:
                    self.objects[path] = await self.api.ok("GET", path)
        self.names = await self.listed()

    async def listed(self) -> dict[str, set[str]]:
        names: dict[str, set[str]] = {}
        for res in self.resources:
            code, body = await self.api.request("GET", collection(res, PROTECTED))
            assert code == 200, (res, code, body)
            names[res.plural] = {i["metadata"]["name"] for i in body["items"]
                                 if res.namespaced or i["metadata"]["name"].startswith(PROTECTED)}
        return names

    async def changes(self) -> list[str]:
        found = []
        for path, before in self.objects.items():
            code, after = await self.api.request("GET", path)
            if code != 200:
                found.append(f"{path}: {code} {after}")
            elif after != before:
                found.append(f"{path}: changed from resourceVersion {before['metadata']['resourceVersion']} "
                             f"to {after['metadata']['resourceVersion']}: {after}")
        now = await self.listed()
        found += [f"{plural}: {sorted(self.names[plural])} became {sorted(names)}"
                  for plural, names in now.items() if names != self.names[plural]]
        return found


async def send(api: Api, r: Request) -> str:
    """'' when the answer keeps the promise (no 5xx, a Status for every refusal), else what went wrong."""
    url = URL(api.root + r.url, encoded=True)
    headers = {"Authorization": f"Bearer {api.token}", **dict(r.headers)}
    try:
        async with asyncio.timeout(DEADLINE):
            async with api.session.request(r.method, url, data=r.body, headers=headers,
                                                  allow_redirects=False) as resp:
                if resp.status == 101 or (resp.status == 200 and resp.headers.get("Transfer-Encoding") == "chunked"):
                    resp.close()  # not back to the pool: an upgraded connection speaks another protocol now
                    return ""  # a stream (a watch, a followed log, an upgrade): its head came in time
                raw = await resp.read()
    except TimeoutError:
        return f"no answer within {DEADLINE} s"
    except aiohttp.ClientError as e:
        return f"the connection failed: {e!r}"
    if resp.status >= 500 and not upstream_500(r, resp.status, raw):
        return f"{resp.status}: {raw[:500]!r}"
    if resp.status >= 400 and r.method != "HEAD":
        try:
            status = json.loads(raw)
        except ValueError:
            return f"{resp.status} with a body that is not JSON: {raw[:200]!r}"
        if not isinstance(status, dict) or status.get("kind") != "Status" or status.get("code") != resp.status:
            return f"{resp.status} with a body that is not its Status: {raw[:300]!r}"
    return ""


async def running_pod(api: Api, namespace: str, name: str) -> None:
    pod = sample("Pod", "v1", name)
    pod["spec"]["nodeName"] = NODE
    await api.ok("POST", f"/api/v1/namespaces/{namespace}/pods", pod)

    async def running() -> bool:
        got = await api.ok("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        return bool(got.get("status", {}).get("phase") == "Running")
    await wait_for_condition(running, DEADLINE)


def upstream_500(r: Request, status: int, raw: bytes) -> bool:
    """The 500s the apiserver gives on purpose: a webhook that cannot be called (failurePolicy Fail),
    and impersonating groups, extras or a uid without a user (impersonation.go:
    responsewriters.InternalError of buildImpersonationRequests' error)."""
    if status == 500 and b"failed calling webhook" in raw:
        return True
    headers = {k.lower(): v for k, v in r.headers}
    asks = any(k.startswith("impersonate-") and k != "impersonate-user" for k in headers)
    return status == 500 and asks and not headers.get("impersonate-user") and (
        r.method == "HEAD" or b"without impersonating a user" in raw)


async def fuzz(api: Api, count: int, seed: int) -> tuple[int, list[str]]:
    # Admission webhooks call out (a fuzzed one would send every later write to nowhere, which the
    # apiserver answers with a 500 of its own): left out of the fuzz.
    resources = [r for r in await served_resources(api) if r.kind not in WEBHOOK_KINDS]
    protected = Protected(api, resources)
    await protected.seed()
    assert len(protected.objects) > 40, sorted(protected.objects)  # one of (nearly) every kind
    for ns in NAMESPACES[1:]:
        await api.ok("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    await running_pod(api, "fuzz", "fuzz-a")  # for the streams to reach a container
    for res in resources:  # objects for the fuzzer's PUTs and PATCHes to find
        if has_sample(res) and {"create", "get"} <= set(res.verbs):
            await make(api, res, "fuzz", "fuzz-a")
    sent = generate(requests(resources), count, seed)
    findings = []
    for r in sent:
        problem = await send(api, r)
        if problem:
            findings.append(f"{r!r}\n    → {problem}")
    findings += [f"a protected object was touched: {c}" for c in await protected.changes()]
    return len(sent), findings


async def test_fuzz_the_served_api(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seed = random.randrange(2**32) if SEED == "random" else int(SEED)
    with caplog.at_level(logging.ERROR, logger="boxk8s"):
        async with served_api(tmp_path) as api:
            count, findings = await fuzz(api, REQUESTS, seed)
    errors = [f"logged: {r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert count >= REQUESTS
    report = findings + errors
    assert not report, f"seed {seed}: {len(report)} findings in {count} requests:\n" + "\n".join(report[:30])
