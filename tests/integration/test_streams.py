"""pods/log and pods/exec end to end over HTTP and WebSocket, against a fake kubelet (PodStreams).

The fake: logs are numbered lines, plus, when following, whatever the test pushes on a queue;
exec `fake k=v…` echoes stdin upper-cased to stdout, writes `stderr=`/`stdout=` text, reports
resizes on stdout and exits with `exit=`; `cat` echoes stdin; `sh -c "exit N"` exits N.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from boxk8s import errors
from boxk8s.api.app import ApiSettings, build_app
from boxk8s.api.streams import serve_exec, serve_log
from boxk8s.client.podstreams import LogOptions
from boxk8s.cluster import bootstrap
from boxk8s.resources import registry
from boxk8s.resources.layer import Resources
from boxk8s.store import Store, StoreSettings
from tests.integration.kubectl import needs_kubectl, run_kubectl

TOKEN = "t"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEADLINE = 10.0
POD = "/api/v1/namespaces/default/pods/web"
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"


# ---- the fake kubelet ---------------------------------------------------------------------------

class FakeExec:
    def __init__(self, command: list[str], stdin: bool) -> None:
        self.command = command
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.resizes: list[tuple[int, int]] = []
        self.stdin_closed = False
        self.closed = False
        self.code = 0
        self.upper = command[0] == "fake"
        if command[:2] == ["sh", "-c"] and command[2:3] and command[2].startswith("exit "):
            self.code = int(command[2].split()[1])
        args = dict(a.split("=", 1) for a in command[1:] if "=" in a) if self.upper else {}
        self.code = int(args.get("exit", self.code))
        if "stdout" in args:
            self.queue.put_nowait((1, args["stdout"].encode()))
        if "stderr" in args:
            self.queue.put_nowait((2, args["stderr"].encode()))
        if not stdin:
            self.queue.put_nowait(None)

    async def write_stdin(self, data: bytes) -> None:
        await self.queue.put((1, data.upper() if self.upper else data))

    async def close_stdin(self) -> None:
        self.stdin_closed = True
        await self.queue.put(None)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self.queue.get()) is not None:
            yield item

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))
        await self.queue.put((1, f"resize {width}x{height}\n".encode()))

    async def wait(self) -> int:
        return self.code

    async def close(self) -> None:
        self.closed = True


@dataclass
class FakeStreams:
    lines: int = 3
    follow_queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    log_calls: list[LogOptions] = field(default_factory=list)
    execs: list[FakeExec] = field(default_factory=list)

    async def logs(self, pod: dict[str, Any], options: LogOptions) -> AsyncIterator[bytes]:
        self.log_calls.append(options)
        name = pod["metadata"]["name"]
        if options.container == "sidecar":
            raise errors.BadRequest(f'container "sidecar" in pod "{name}" is waiting to start: ContainerCreating')
        lines = [f"line {i}\n".encode() for i in range(1, self.lines + 1)]
        if options.tail_lines is not None:
            lines = lines[len(lines) - options.tail_lines:] if options.tail_lines else []
        for line in lines:
            yield line
        if options.follow:
            while (chunk := await self.follow_queue.get()) is not None:
                yield chunk

    async def exec(self, pod: dict[str, Any], container: str, command: list[str], *,
                   stdin: bool, tty: bool) -> FakeExec:
        if container == "sidecar":
            raise errors.BadRequest(f'container "sidecar" in pod "{pod["metadata"]["name"]}" is waiting to start: '
                                    "ContainerCreating")
        stream = FakeExec(command, stdin)
        self.execs.append(stream)
        return stream


# ---- an API server with the stream handlers -----------------------------------------------------

_STREAM_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/(log|exec)$")


def stream_app(resources: Resources, streams: Any, token: str = TOKEN) -> web.Application:
    """build_app with the streams, wired by build_app itself once it takes them, else by a middleware."""
    settings = ApiSettings(token=token)
    if "streams" in inspect.signature(build_app).parameters:
        return build_app(resources, settings, streams=streams)  # type: ignore[call-arg]
    app = build_app(resources, settings)

    @web.middleware
    async def streams_route(request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        m = _STREAM_PATH.match(request.path)
        if not m:
            return await handler(request)
        ns, name, sub = m.groups()
        serve = serve_log if sub == "log" else serve_exec
        return await serve(request, resources, streams, ns, name)

    app.middlewares.append(streams_route)
    return app


def pod_body(name: str = "web", node: str | None = "node-1",
             containers: tuple[str, ...] = ("main", "sidecar")) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox:1.36"} for c in containers]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


@dataclass
class Env:
    client: TestClient
    streams: FakeStreams
    resources: Resources


@contextlib.asynccontextmanager
async def running(path: Path, streams: Any = None) -> AsyncIterator[Env]:
    store = await Store.open_standalone(StoreSettings(path=path))
    try:
        resources = Resources(store)
        await bootstrap(resources)
        pods = registry.find("", "v1", "pods")
        assert pods
        await resources.create(pods, "default", pod_body())
        await resources.create(pods, "default", pod_body("solo", containers=("main",)))
        await resources.create(pods, "default", pod_body("pending", node=None, containers=("main",)))
        fake = FakeStreams() if streams is None else streams
        async with TestClient(TestServer(stream_app(resources, fake))) as client:
            yield Env(client, fake, resources)
    finally:
        await store.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with running(tmp_path / "db") as e:
        yield e


def assert_status(body: Any, code: int, reason: str, message: str | None = None) -> None:
    assert isinstance(body, dict) and body.get("kind") == "Status", body
    assert body["status"] == "Failure" and body["code"] == code and body["reason"] == reason, body
    if message is not None:
        assert body["message"] == message, body


# ---- pods/log -----------------------------------------------------------------------------------

async def get_log(env: Env, path: str, params: dict[str, str]) -> tuple[int, str, aiohttp.ClientResponse]:
    async with asyncio.timeout(DEADLINE):
        resp = await env.client.get(path, params=params, headers={**AUTH, "Accept": "application/json, */*"})
        return resp.status, (await resp.read()).decode(), resp


async def test_log_is_plain_text(env: Env) -> None:
    code, text, resp = await get_log(env, POD + "/log", {"container": "main"})
    assert code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert text == "line 1\nline 2\nline 3\n"
    assert env.streams.log_calls[-1] == LogOptions(container="main")


async def test_log_options_reach_the_kubelet(env: Env) -> None:
    code, text, _ = await get_log(env, POD + "/log", {
        "container": "main", "tailLines": "2", "timestamps": "true", "sinceSeconds": "10", "previous": "false",
        "pretty": "true", "insecureSkipTLSVerifyBackend": "true",
    })
    assert code == 200 and text == "line 2\nline 3\n"
    assert env.streams.log_calls[-1] == LogOptions(container="main", tail_lines=2, timestamps=True, since_seconds=10)
    code, _, _ = await get_log(env, POD + "/log", {"container": "main", "sinceTime": "2024-01-02T03:04:05Z"})
    assert code == 200 and env.streams.log_calls[-1].since_time == "2024-01-02T03:04:05Z"


async def test_log_defaults_to_the_only_container(env: Env) -> None:
    code, text, _ = await get_log(env, "/api/v1/namespaces/default/pods/solo/log", {})
    assert code == 200 and text.startswith("line 1")
    assert env.streams.log_calls[-1].container == "main"


async def test_log_limit_bytes(env: Env) -> None:
    code, text, _ = await get_log(env, POD + "/log", {"container": "main", "limitBytes": "10"})
    assert code == 200 and text == "line 1\nlin"


async def test_log_follow_delivers_lines_as_written(env: Env) -> None:
    async with asyncio.timeout(DEADLINE):
        resp = await env.client.get(POD + "/log", params={"container": "main", "follow": "true"}, headers=AUTH)
        assert resp.status == 200
        got = b""
        while got != b"line 1\nline 2\nline 3\n":
            got += await resp.content.readany()
        env.streams.follow_queue.put_nowait(b"later\n")
        assert await resp.content.readline() == b"later\n"
        env.streams.follow_queue.put_nowait(b"and more\n")
        env.streams.follow_queue.put_nowait(None)
        assert await resp.content.read() == b"and more\n"


async def test_log_follow_quiet_stream_still_answers_headers(env: Env) -> None:
    env.streams.lines = 0
    async with asyncio.timeout(DEADLINE):
        resp = await env.client.get(POD + "/log", params={"container": "main", "follow": "1"}, headers=AUTH)
        assert resp.status == 200  # after FIRST_LOG_WAIT, before any log line
        env.streams.follow_queue.put_nowait(b"first\n")
        assert await resp.content.readline() == b"first\n"
        resp.close()


@pytest.mark.parametrize("params, message", [
    ({"tailLines": "-1"},
     'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'),
    ({"sinceSeconds": "0"},
     'PodLogOptions "web" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0'),
    ({"limitBytes": "0"},
     'PodLogOptions "web" is invalid: limitBytes: Invalid value: 0: must be greater than 0'),
    ({"sinceSeconds": "5", "sinceTime": "2024-01-02T03:04:05Z"},
     'PodLogOptions "web" is invalid: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'),
])
async def test_log_invalid_options(env: Env, params: dict[str, str], message: str) -> None:
    code, text, _ = await get_log(env, POD + "/log", {"container": "main", **params})
    assert code == 422
    assert_status(json.loads(text), 422, "Invalid", message)


@pytest.mark.parametrize("params", [{"tailLines": "x"}, {"follow": "maybe"}, {"sinceTime": "yesterday"}])
async def test_log_unparsable_options(env: Env, params: dict[str, str]) -> None:
    code, text, _ = await get_log(env, POD + "/log", {"container": "main", **params})
    assert code == 400
    assert_status(json.loads(text), 400, "BadRequest")


async def test_log_container_errors(env: Env) -> None:
    code, text, _ = await get_log(env, POD + "/log", {"container": "nope"})
    assert_status(json.loads(text), 400, "BadRequest", "container nope is not valid for pod web")
    code, text, _ = await get_log(env, POD + "/log", {})
    assert_status(json.loads(text), 400, "BadRequest",
                  "a container name must be specified for pod web, choose one of: [main sidecar]")
    # the kubelet's own error, before the first byte
    code, text, _ = await get_log(env, POD + "/log", {"container": "sidecar"})
    assert code == 400
    assert_status(json.loads(text), 400, "BadRequest",
                  'container "sidecar" in pod "web" is waiting to start: ContainerCreating')
    code, text, _ = await get_log(env, "/api/v1/namespaces/default/pods/ghost/log", {})
    assert_status(json.loads(text), 404, "NotFound", 'pods "ghost" not found')


async def test_log_of_an_unscheduled_pod_is_empty(env: Env) -> None:
    code, text, _ = await get_log(env, "/api/v1/namespaces/default/pods/pending/log", {})
    assert (code, text) == (200, "")
    assert not env.streams.log_calls


async def test_without_a_kubelet_streams_are_not_served(tmp_path: Path) -> None:
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db"))
    try:
        resources = Resources(store)
        await bootstrap(resources)
        async with TestClient(TestServer(stream_app(resources, None))) as client:
            for sub in ("log", "exec"):
                resp = await client.get(f"/api/v1/namespaces/default/pods/x/{sub}", headers=AUTH)
                body = await resp.json()
                assert resp.status == 404
                assert_status(body, 404, "NotFound")
                assert "no kubelet" in body["message"]
    finally:
        await store.close()


# ---- pods/exec ----------------------------------------------------------------------------------

def exec_params(*command: str, container: str = "main", stdin: bool = False, tty: bool = False,
                stdout: bool = True, stderr: bool = True) -> list[tuple[str, str]]:
    params = [("command", c) for c in command] + [("container", container)]
    for key, value in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr), ("tty", tty)):
        if value:
            params.append((key, "true"))
    return params


@dataclass
class Session:
    protocol: str | None
    frames: list[tuple[int, bytes]]

    def data(self, channel: int) -> bytes:
        return b"".join(d for c, d in self.frames if c == channel)

    def status(self) -> dict[str, Any]:
        return json.loads(self.data(3))


async def exec_ws(env: Env, params: list[tuple[str, str]], protocols: tuple[str, ...] = (V5, V4),
                  send: list[bytes | str] | None = None, path: str = POD + "/exec",
                  method: str = "GET") -> Session:
    frames: list[tuple[int, bytes]] = []
    async with asyncio.timeout(DEADLINE):
        async with env.client.ws_connect(path, params=params, protocols=protocols, headers=AUTH,
                                         method=method) as ws:
            for message in send or []:
                if isinstance(message, str):
                    await ws.send_str(message)
                else:
                    await ws.send_bytes(message)
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    frames.append((msg.data[0], msg.data[1:]))
                elif msg.type == WSMsgType.TEXT:
                    frames.append((int(msg.data[0]), base64.b64decode(msg.data[1:])))
            return Session(ws.protocol, frames)


async def test_exec_v5_stdin_round_trip_and_eof(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", "stderr=oops\n", stdin=True),
                      send=[b"\x00hello ", b"\x00world\n", b"\xff\x00"])
    assert s.protocol == V5
    assert s.frames[0] == (1, b"")  # the connection-established notice
    assert s.data(1) == b"HELLO WORLD\n"
    assert s.data(2) == b"oops\n"
    assert s.status() == {"metadata": {}, "status": "Success"}
    assert env.streams.execs[-1].stdin_closed and env.streams.execs[-1].closed


async def test_exec_exit_code_status(env: Env) -> None:
    s = await exec_ws(env, exec_params("sh", "-c", "exit 3"))
    assert s.status() == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert env.streams.execs[-1].command == ["sh", "-c", "exit 3"]


async def test_exec_v4(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", "stdout=hi\n", "exit=7"), protocols=(V4,))
    assert s.protocol == V4
    assert s.data(1) == b"hi\n"
    assert s.status()["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]
    # v4 has no close channel: a [255, 0] message is ignored, not a stdin EOF
    ex = await asyncio.wait_for(_v4_stdin_then_close(env), DEADLINE)
    assert not ex.stdin_closed and ex.closed


async def _v4_stdin_then_close(env: Env) -> FakeExec:
    async with env.client.ws_connect(POD + "/exec", params=exec_params("cat", stdin=True), protocols=(V4,),
                                     headers=AUTH) as ws:
        assert (await ws.receive_bytes()) == b"\x01"
        await ws.send_bytes(b"\x00abc")
        assert (await ws.receive_bytes()) == b"\x01abc"
        await ws.send_bytes(b"\xff\x00")
        await ws.send_bytes(b"\x00def")
        assert (await ws.receive_bytes()) == b"\x01def"
    # the client hung up before the command ended: the server kills it
    ex = env.streams.execs[-1]
    for _ in range(100):
        if ex.closed:
            break
        await asyncio.sleep(0.02)
    return ex


async def test_exec_python_client_offer(env: Env) -> None:
    # kubernetes.stream.ws_client offers "v5.channel.k8s.io,v4.channel.k8s.io"; the client picks v5
    s = await exec_ws(env, exec_params("fake", "stdout=x"), protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
    assert s.protocol == V5


async def test_exec_base64_protocol(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", "stdout=hi", "exit=2"), protocols=("v4.base64.channel.k8s.io",))
    assert s.protocol == "v4.base64.channel.k8s.io"
    assert s.data(1) == b"hi"
    assert s.status()["reason"] == "NonZeroExitCode"


async def test_exec_v1_error_channel_is_text(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", "exit=4"), protocols=("channel.k8s.io",))
    assert s.protocol == "channel.k8s.io"
    assert s.data(3) == b"command terminated with non-zero exit code: error executing command [fake exit=4], exit code 4"
    s = await exec_ws(env, exec_params("fake"), protocols=("channel.k8s.io",))
    assert s.data(3) == b""


async def test_exec_resize(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", stdin=True, tty=True),
                      send=[b'\x04{"Width":80,"Height":24}', b'\x04{"Width":100,', b'\x04"Height":50}', b"\xff\x00"])
    assert env.streams.execs[-1].resizes == [(80, 24), (100, 50)]
    assert s.data(1) == b"resize 80x24\nresize 100x50\n"
    assert s.status()["status"] == "Success"


async def test_exec_tty_has_no_stderr(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", "stderr=hidden", "stdout=shown", tty=True))
    assert s.data(1) == b"shown" and s.data(2) == b""


async def test_exec_over_post(env: Env) -> None:
    s = await exec_ws(env, exec_params("fake", "stdout=p"), method="POST")
    assert s.data(1) == b"p"


async def _http_error(env: Env, params: list[tuple[str, str]], headers: dict[str, str] | None = None,
                      method: str = "GET", path: str = POD + "/exec") -> tuple[int, dict[str, Any]]:
    ws_headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": V5}
    async with asyncio.timeout(DEADLINE):
        resp = await env.client.request(method, path, params=params,
                                        headers={**AUTH, **(ws_headers if headers is None else headers)})
        return resp.status, await resp.json(content_type=None)


async def test_exec_errors_before_the_upgrade(env: Env) -> None:
    code, body = await _http_error(env, exec_params("ls", container="nope"))
    assert code == 400
    assert_status(body, 400, "BadRequest", "container nope is not valid for pod web")
    code, body = await _http_error(env, exec_params("ls", container=""))
    assert_status(body, 400, "BadRequest",
                  "a container name must be specified for pod web, choose one of: [main sidecar]")
    code, body = await _http_error(env, exec_params("ls", container="sidecar"))
    assert_status(body, 400, "BadRequest", 'container "sidecar" in pod "web" is waiting to start: ContainerCreating')
    code, body = await _http_error(env, exec_params("ls"), path="/api/v1/namespaces/default/pods/ghost/exec")
    assert_status(body, 404, "NotFound", 'pods "ghost" not found')
    code, body = await _http_error(env, exec_params("ls"), path="/api/v1/namespaces/default/pods/pending/exec")
    assert_status(body, 400, "BadRequest", "pod pending does not have a host assigned")
    code, body = await _http_error(env, exec_params("ls", stdout=False, stderr=False))
    assert_status(body, 400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr")
    code, body = await _http_error(env, exec_params())
    assert_status(body, 400, "BadRequest", "you must specify at least one command for the container")
    code, body = await _http_error(env, exec_params("ls"), headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "v9.channel.k8s.io"})
    assert_status(body, 400, "BadRequest")
    assert "v9.channel.k8s.io" in body["message"]
    assert not env.streams.execs  # nothing was started


async def test_exec_spdy_is_refused_clearly(env: Env) -> None:
    code, body = await _http_error(env, exec_params("ls"), method="POST", headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io"})
    assert code == 400
    assert_status(body, 400, "BadRequest")
    assert "WebSocket only" in body["message"] and "SPDY/3.1" in body["message"]
    assert not env.streams.execs


# ---- the real kubectl ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _kubectl(port: int, cache: Path, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    return await run_kubectl(f"http://127.0.0.1:{port}", cache, *args, stdin=stdin)


@needs_kubectl
async def test_real_kubectl(tmp_path: Path) -> None:
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db"))
    runner: web.AppRunner | None = None
    try:
        resources = Resources(store)
        await bootstrap(resources)
        pods = registry.find("", "v1", "pods")
        assert pods
        await resources.create(pods, "default", pod_body("web", containers=("main",)))
        fake = FakeStreams()
        runner = web.AppRunner(stream_app(resources, fake, token=""))
        await runner.setup()
        port = _free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        cache = tmp_path / "cache"

        rc, out, err = await _kubectl(port, cache, "exec", "web", "--", "sh", "-c", "exit 3")
        assert (rc, err.strip()) == (3, "command terminated with exit code 3"), (rc, out, err)

        rc, out, err = await _kubectl(port, cache, "exec", "-i", "web", "--", "cat", stdin=b"piped\nlines\n")
        assert (rc, out) == (0, "piped\nlines\n"), err
        assert fake.execs[-1].stdin_closed  # v5: kubectl closed stdin with [255, 0]

        rc, out, err = await _kubectl(port, cache, "exec", "web", "-c", "nope", "--", "true")
        assert rc == 1 and "container nope is not valid for pod web" in err, err

        rc, out, err = await _kubectl(port, cache, "logs", "web")
        assert (rc, out) == (0, "line 1\nline 2\nline 3\n"), err

        fake.follow_queue.put_nowait(b"followed\n")
        fake.follow_queue.put_nowait(None)
        rc, out, err = await _kubectl(port, cache, "logs", "-f", "web", "--tail", "1")
        assert (rc, out) == (0, "line 3\nfollowed\n"), err
        assert fake.log_calls[-1] == LogOptions(container="main", follow=True, tail_lines=1)
    finally:
        if runner is not None:
            await runner.cleanup()
        await store.close()
