"""The API's limits over real HTTP: objects over etcd's 1.5 MiB, bodies over 3 MiB, in-flight limits
(429 with upstream's body), request timeouts (504), watches per user, and a watcher that never reads
its socket while 10,000 writes go through (the writers and another watcher never wait on it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from boxk8s.api.app import ApiSettings, build_app, error_middleware
from boxk8s.api.auth.user import ADMIN, REQUEST_USER, UserInfo
from boxk8s.api.limits import ApiLimits, Limiter
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.resources import registry
from tests.integration.conftest import AUTH, TOKEN, Api, default_accounts_made
from tests.integration.waiting import wait_for_condition

DEADLINE = 30.0
CMS = "/api/v1/namespaces/default/configmaps"
CM = registry.find("", "v1", "configmaps")


@contextlib.asynccontextmanager
async def limited_api(state_dir: Path, limits: ApiLimits) -> AsyncIterator[Api]:
    async with running(ClusterSettings(state_dir=state_dir), controllers=[], nodes=[], scheduler=False,
                       serve_api=False, proxy=False) as c:
        await default_accounts_made(c.resources)
        app = build_app(c.resources, ApiSettings(token=TOKEN, limits=limits))
        async with TestClient(TestServer(app)) as client:
            yield Api(client, c.store, c.resources)


async def test_an_object_over_etcds_limit_is_refused_and_not_stored(api: Api) -> None:
    big = {"metadata": {"name": "big"}, "spec": {"containers": [
        {"name": "c", "image": "busybox", "args": ["x" * (1024 * 1024)] + ["y" * (600 * 1024)]}]}}
    code, body, _ = await api.post("/api/v1/namespaces/default/pods", big)
    assert (code, body) == (413, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": "etcdserver: request is too large", "reason": "RequestEntityTooLarge",
                                  "code": 413})
    assert (await api.get("/api/v1/namespaces/default/pods/big"))[0] == 404
    # an update that grows an object past the limit is refused the same way, the object left as it was
    small = await api.ok("POST", "/api/v1/namespaces/default/pods", body={**big, "spec": {"containers": [
        {"name": "c", "image": "busybox"}]}})
    code, body, _ = await api.put("/api/v1/namespaces/default/pods/big", {**small, "spec": big["spec"]})
    assert (code, body["message"]) == (413, "etcdserver: request is too large")
    assert await api.ok("GET", "/api/v1/namespaces/default/pods/big") == small


async def test_a_body_over_3mib_gets_upstreams_413(api: Api) -> None:
    body = json.dumps({"metadata": {"name": "c"}, "data": {"k": "x" * (3 * 1024 * 1024)}})
    code, got, _ = await api.request("POST", CMS, data=body, content_type="application/json")
    assert (code, got["reason"], got["message"]) == (413, "RequestEntityTooLarge",
                                                     "Request entity too large: limit is 3145728")


# ---- in-flight limits and timeouts: the real middleware, in front of handlers that wait ----------

def waiting_app(limiter: Limiter, release: asyncio.Event) -> web.Application:
    """The limiter behind a stand-in for authentication (the header `X-User: name[,group]`), in
    front of handlers that wait for `release`: GETs and POSTs of ConfigMaps, and a watch."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
        name, _, group = request.headers.get("X-User", "alice").partition(",")
        request[REQUEST_USER] = ADMIN if name == "admin" else UserInfo(name, groups=(group,) if group else ())
        return await handler(request)

    async def wait(_: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application(middlewares=[error_middleware, authenticate, limiter.middleware()])
    app.router.add_route("*", "/api/v1/namespaces/default/configmaps", wait)
    return app


async def test_in_flight_limits_answer_429_and_exempt_long_running_and_masters() -> None:
    limiter = Limiter(ApiLimits(max_requests_inflight=2, max_mutating_requests_inflight=1, max_watches_per_user=0))
    release = asyncio.Event()
    async with TestClient(TestServer(waiting_app(limiter, release))) as client:
        held = [asyncio.ensure_future(client.get(CMS)) for _ in range(2)]
        held.append(asyncio.ensure_future(client.post(CMS)))
        await wait_for_condition(lambda: _true(limiter.read_only == 2 and limiter.mutating == 1), DEADLINE)

        for method in ("GET", "POST"):
            resp = await client.request(method, CMS)
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
            assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert await resp.text() == "Too many requests, please try again later.\n"
        # a watch is long-running: not counted, not refused; nor is system:masters
        watch = asyncio.ensure_future(client.get(CMS, params={"watch": "true"}))
        master = asyncio.ensure_future(client.get(CMS, headers={"X-User": "admin"}))
        await wait_for_condition(lambda: _true(limiter.read_only == 3), DEADLINE)
        release.set()
        for resp in await asyncio.gather(*held, watch, master):
            assert resp.status == 200
    assert (limiter.read_only, limiter.mutating, limiter.watches) == (0, 0, {})


async def _true(value: bool) -> bool:
    return value


async def test_a_hung_handler_answers_504_after_the_request_timeout() -> None:
    limiter = Limiter(ApiLimits(request_timeout=0.2))
    release = asyncio.Event()  # never set: the handler hangs
    async with TestClient(TestServer(waiting_app(limiter, release))) as client:
        resp = await client.get(CMS)
        assert resp.status == 504
        assert await resp.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": "Timeout: request did not complete within the allotted timeout",
                                     "reason": "Timeout", "details": {}, "code": 504}
        resp = await client.get(CMS, params={"timeout": "soon"})
        assert resp.status == 400
        assert (await resp.json())["message"] == ('invalid timeout specified in the request URL - '
                                                  'time: invalid duration "soon"')
    assert limiter.read_only == 0


async def test_a_users_watches_are_capped(tmp_path: Path) -> None:
    async with limited_api(tmp_path, ApiLimits(max_watches_per_user=2)) as api:
        watches = [await api.client.get(CMS, params={"watch": "true"}, headers=AUTH) for _ in range(2)]
        assert all(w.status == 200 for w in watches)
        code, body, resp = await api.get(CMS, params={"watch": "true"})
        assert (code, body["reason"], resp.headers["Retry-After"]) == (429, "TooManyRequests", "1")
        assert body["message"] == "too many watches: this user has 2 open, the limit is 2; close some or retry later"
        assert (await api.get(CMS))[0] == 200  # lists are not watches
        watches[0].close()

        async def one_more() -> bool:
            code, _, resp = await api.request("GET", CMS, params={"watch": "true", "timeoutSeconds": "1"})
            return code == 200
        await wait_for_condition(one_more, DEADLINE)
        watches[1].close()


# ---- a watcher that never reads ---------------------------------------------------------------

WRITES = 10_000
PAYLOAD = "p" * 512  # 10,000 events of about 800 bytes: more than the socket buffers hold


def stuck_watch(port: int) -> socket.socket:
    """A raw HTTP watch whose client never reads: a small receive buffer, and nothing read from it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {CMS}?watch=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
                 .encode())
    return sock


async def watch_all(api: Api, rv: str, seen: dict[str, int], restarts: list[int], done: asyncio.Event) -> None:
    """A client-go-like watcher: reads every event; when the server ends the stream, watches again
    from the last resourceVersion it saw."""
    while not done.is_set():
        async with api.client.get(CMS, params={"watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true"},
                                  headers=AUTH, timeout=aiohttp.ClientTimeout(total=None)) as resp:
            assert resp.status == 200
            async for line in resp.content:
                event = json.loads(line)
                rv = event["object"]["metadata"]["resourceVersion"]
                if event["type"] == "ADDED":
                    name = event["object"]["metadata"]["name"]
                    seen[name] = seen.get(name, 0) + 1
                if len(seen) == WRITES:
                    done.set()
                    return
        restarts.append(int(rv))


async def test_a_watcher_that_never_reads_blocks_no_writer_and_no_other_watcher(tmp_path: Path, caplog: Any) -> None:
    async with limited_api(tmp_path, ApiLimits()) as api:
        rv = (await api.ok("GET", CMS))["metadata"]["resourceVersion"]
        port = api.client.server.port
        assert port is not None
        stuck = await asyncio.to_thread(stuck_watch, port)
        seen: dict[str, int] = {}
        restarts: list[int] = []
        done = asyncio.Event()
        watcher = asyncio.ensure_future(watch_all(api, rv, seen, restarts, done))
        written: list[str] = []
        names = iter(range(WRITES))

        async def writer() -> None:  # through the resource layer: the HTTP server serves the watchers
            for i in names:
                obj = await api.resources.create(CM, "default", {"metadata": {"name": f"cm-{i}"}, "data": {"p": PAYLOAD}})
                written.append(obj["metadata"]["name"])
        async with asyncio.timeout(120):
            await asyncio.gather(*(writer() for _ in range(32)))
            assert len(written) == WRITES  # every write went through
            await asyncio.wait_for(watcher, DEADLINE)
        assert seen == {f"cm-{i}": 1 for i in range(WRITES)}  # every event, once each

        # the stuck watch fell behind and was closed by the store; the server then ends its request
        # (it cannot end the stream the client does not read: it cuts the connection)
        assert any("fell 1000 events behind" in r.getMessage() for r in caplog.records)
        await api.resources.create(CM, "default", {"metadata": {"name": "last"}})  # the closed watcher's handler sees it gone

        async def no_watch_left() -> bool:
            text = await (await api.client.get("/metrics", headers=AUTH)).text()
            families = {f.name: f for f in text_string_to_metric_families(text)}
            return all(s.value == 0 for s in families["apiserver_longrunning_requests"].samples
                       if s.labels["verb"] == "WATCH")
        await wait_for_condition(no_watch_left, DEADLINE)

        def cut() -> bool:  # what was sent, then the end: no chunked terminator came, the connection is gone
            stuck.setblocking(False)
            received = b""
            try:
                while chunk := stuck.recv(1 << 20):
                    received = received[-16:] + chunk
                return not received.endswith(b"0\r\n\r\n")
            except BlockingIOError:
                return False
            except ConnectionResetError:
                return True
        assert await wait_for_condition(lambda: asyncio.to_thread(cut), DEADLINE)
        stuck.close()
