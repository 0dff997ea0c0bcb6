"""The streaming pod subresources: pods/log (chunked text) and pods/exec (WebSocket channels).

Both check what the apiserver checks itself (pod exists, container valid, pod has a node)
and then ask the kubelet, through `PodStreams`, before the first byte: any error up to then is
an ordinary `Status` response. Exec is served over WebSocket only (kubectl ≥ 1.30 tries
`v5.channel.k8s.io` first, the Python client offers v5 then v4); the SPDY/3.1 fallback gets a
400 that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from multidict import MultiMapping

from boxk8s import errors
from boxk8s.api import channel as ch
from boxk8s.api.portforward import PROTOCOL as PORTFORWARD_PROTOCOL
from boxk8s.api.portforward import PortForwardSession
from boxk8s.client.podstreams import ExecStream, LogOptions, PodStreams
from boxk8s.resources import registry
from boxk8s.resources.layer import Resources

log = logging.getLogger(__name__)

FIRST_LOG_WAIT = 1.0  # seconds: send the headers of a quiet follow stream after this long
# client-go's WebSocket executor (tools/remotecommand/websocket.go, StreamWithContext) starts its
# readDemuxLoop before it creates its streams, and drops a message for a stream not yet created
# ("Unknown stream id 1, discarding message"); a connection closed by then fails the whole exec
# with "closed all streams". The apiserver never wins that race: it dials the kubelet after the
# upgrade. Nothing tells the server that the client is ready unless the client writes, so output
# is held this long after the upgrade (or until the client's first message).
CLIENT_SETUP_GRACE = 0.05  # seconds
_CONNECTION_UPGRADE = re.compile(r"(^|,)\s*upgrade\s*($|,)", re.IGNORECASE)


# ---- shared checks ------------------------------------------------------------------------------

def _pods() -> registry.ResourceType:
    rt = registry.find("", "v1", "pods")
    assert rt is not None
    return rt


def _require_streams(streams: PodStreams | None, sub: str) -> PodStreams:
    if streams is None:
        raise errors.NotFound(f"pods/{sub} is not served: no kubelet")
    return streams


def parse_bool(query: MultiMapping[str], key: str) -> bool:
    """A boolean query parameter the way the apiserver converts it (Go's strconv.ParseBool)."""
    value = query.get(key)
    if value is None or value == "":
        return False
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise errors.BadRequest(f'invalid value for {key}: strconv.ParseBool: parsing "{value}": invalid syntax')


def _int_param(query: MultiMapping[str], key: str) -> int | None:
    value = query.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as e:
        raise errors.BadRequest(
            f'invalid value for {key}: strconv.ParseInt: parsing "{value}": invalid syntax'
        ) from e


def _container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    names: list[str] = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        names += [c.get("name", "") for c in spec.get(field) or [] if isinstance(c, dict)]
    return names


def resolve_container(pod: dict[str, Any], requested: str) -> str:
    """The container a request means, checked as the apiserver does (pod/strategy.go validateContainer)."""
    name = pod["metadata"]["name"]
    if requested:
        if requested not in _container_names(pod):
            raise errors.BadRequest(f"container {requested} is not valid for pod {name}")
        return requested
    containers = (pod.get("spec") or {}).get("containers") or []
    if len(containers) == 1:
        return containers[0].get("name", "")
    if not containers:
        raise errors.BadRequest(f"a container name must be specified for pod {name}")
    raise errors.BadRequest(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(_container_names(pod))}]"
    )


# ---- pods/log -----------------------------------------------------------------------------------

def log_options(query: MultiMapping[str], name: str) -> LogOptions:
    """PodLogOptions from the query, validated like ValidatePodLogOptions (422 Invalid)."""
    tail = _int_param(query, "tailLines")
    since_seconds = _int_param(query, "sinceSeconds")
    limit = _int_param(query, "limitBytes")
    since_time = query.get("sinceTime") or None
    if since_time is not None:
        try:
            datetime.datetime.fromisoformat(since_time.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as e:
            raise errors.BadRequest(
                f'invalid value for sinceTime: parsing time "{since_time}" as RFC3339: cannot parse'
            ) from e
    causes: list[dict[str, str]] = []
    if tail is not None and tail < 0:
        causes.append({"reason": "FieldValueInvalid", "field": "tailLines",
                       "message": f"Invalid value: {tail}: must be greater than or equal to 0"})
    if limit is not None and limit < 1:
        causes.append({"reason": "FieldValueInvalid", "field": "limitBytes",
                       "message": f"Invalid value: {limit}: must be greater than 0"})
    if since_seconds is not None and since_time is not None:
        causes.append({"reason": "FieldValueForbidden", "field": "",
                       "message": "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"})
    elif since_seconds is not None and since_seconds < 1:
        causes.append({"reason": "FieldValueInvalid", "field": "sinceSeconds",
                       "message": f"Invalid value: {since_seconds}: must be greater than 0"})
    if causes:
        raise errors.invalid("", "PodLogOptions", name, causes)
    return LogOptions(
        container=query.get("container", ""),
        follow=parse_bool(query, "follow"),
        previous=parse_bool(query, "previous"),
        tail_lines=tail,
        since_seconds=since_seconds,
        since_time=since_time,
        timestamps=parse_bool(query, "timestamps"),
        limit_bytes=limit,
    )


async def serve_log(request: web.Request, resources: Resources, streams: PodStreams | None,
                    namespace: str, name: str) -> web.StreamResponse:
    """GET /api/v1/namespaces/{namespace}/pods/{name}/log → 200 text/plain, chunked, flushed per chunk."""
    streams = _require_streams(streams, "log")
    if request.method != "GET":
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({request.method})")
    options = log_options(request.query, name)
    pod = await resources.get(_pods(), namespace, name)
    container = resolve_container(pod, options.container)
    options = LogOptions(**{**options.__dict__, "container": container})
    resp = web.StreamResponse(status=200)
    resp.content_type = "text/plain"
    resp.enable_chunked_encoding()
    if not (pod.get("spec") or {}).get("nodeName"):
        # Not scheduled yet: the apiserver has no kubelet to ask and answers an empty log.
        await resp.prepare(request)
        await resp.write_eof()
        return resp

    chunks = streams.logs(pod, options)  # may raise before the first byte: a plain Status
    iterator = aiter(chunks)
    remaining = options.limit_bytes
    pending = asyncio.ensure_future(_next_chunk(iterator))
    try:
        # Errors before the first byte (container waiting, no previous container…) become a Status.
        # A follow stream that stays quiet still gets its headers after FIRST_LOG_WAIT.
        await asyncio.wait({pending}, timeout=FIRST_LOG_WAIT)
        if pending.done():
            pending.result()  # raises the kubelet's error while we can still answer a Status
        await resp.prepare(request)
        chunk = await _wait_chunk(pending, request)
        while chunk is not None:
            if chunk:
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                await resp.write(chunk)  # aiohttp hands each chunk to the transport at once
                if remaining is not None and remaining <= 0:
                    break
            pending = asyncio.ensure_future(_next_chunk(iterator))
            chunk = await _wait_chunk(pending, request)
        await resp.write_eof()
    except errors.ApiError:
        if not resp.prepared:
            raise
        log.info("log stream of %s/%s ended early", namespace, name, exc_info=True)
    except ConnectionResetError:
        if not resp.prepared:
            raise
        log.debug("log stream of %s/%s: the client went away", namespace, name)
    except Exception:
        if not resp.prepared:
            raise
        log.warning("log stream of %s/%s failed", namespace, name, exc_info=True)
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    return resp


async def _next_chunk(iterator: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None


async def _wait_chunk(task: asyncio.Future[bytes | None], request: web.Request) -> bytes | None:
    """The next chunk; ConnectionResetError once the client has gone (a quiet `logs -f` interrupted)."""
    while True:
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if done:
            return task.result()
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the log stream")


# ---- pods/exec ----------------------------------------------------------------------------------

def is_websocket_request(request: web.Request) -> bool:
    """wsstream.IsWebSocketRequest: Upgrade: websocket and Connection including upgrade."""
    return (request.headers.get("Upgrade", "").lower() == "websocket"
            and bool(_CONNECTION_UPGRADE.search(request.headers.get("Connection", ""))))


async def serve_exec(request: web.Request, resources: Resources, streams: PodStreams | None,
                     namespace: str, name: str) -> web.StreamResponse:
    """GET or POST …/pods/{name}/exec with a WebSocket upgrade to a `*.channel.k8s.io` protocol."""
    command = request.query.getall("command", [])

    def check() -> None:
        if not command or not command[0]:
            raise errors.BadRequest("you must specify at least one command for the container")

    async def start(s: PodStreams, pod: dict[str, Any], container: str, stdin: bool, tty: bool) -> ExecStream:
        return await s.exec(pod, container, command, stdin=stdin, tty=tty)

    return await _serve_channels(request, resources, streams, namespace, name, "exec", check, start, command)


async def serve_attach(request: web.Request, resources: Resources, streams: PodStreams | None,
                       namespace: str, name: str) -> web.StreamResponse:
    """…/pods/{name}/attach: the container's own stdio, over the same channels as exec."""

    async def start(s: PodStreams, pod: dict[str, Any], container: str, stdin: bool, tty: bool) -> ExecStream:
        return await s.attach(pod, container, stdin=stdin, tty=tty)

    return await _serve_channels(request, resources, streams, namespace, name, "attach", lambda: None, start, [])


async def _serve_channels(request: web.Request, resources: Resources, streams: PodStreams | None, namespace: str,
                          name: str, verb: str, check: Callable[[], None],
                          start: Callable[[PodStreams, dict[str, Any], str, bool, bool], Awaitable[ExecStream]],
                          command: list[str]) -> web.StreamResponse:
    streams = _require_streams(streams, verb)
    if request.method not in ("GET", "POST"):
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({request.method})")
    q = request.query
    stdin, stdout, stderr, tty = (parse_bool(q, k) for k in ("stdin", "stdout", "stderr", "tty"))
    if tty and stderr:
        stderr = False  # as the kubelet: a terminal has no separate stderr
    pod = await resources.get(_pods(), namespace, name)
    container = resolve_container(pod, q.get("container", ""))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.BadRequest(f"pod {name} does not have a host assigned")
    phase = (pod.get("status") or {}).get("phase", "")
    if phase in ("Succeeded", "Failed"):
        into = "exec into" if verb == "exec" else "attach to"
        raise errors.BadRequest(f"cannot {into} a container in a completed pod; current phase is {phase}")
    if not (stdin or stdout or stderr):
        raise errors.BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    check()
    if not is_websocket_request(request):
        upgrade = request.headers.get("Upgrade", "")
        raise errors.BadRequest(
            f"boxk8s serves pods/{verb} over WebSocket only (subprotocols v5.channel.k8s.io, v4.channel.k8s.io, "
            "…); " + (f"upgrading to {upgrade} is not supported" if upgrade else "this request asked for no upgrade")
            + ": use kubectl 1.30 or later, or a client that speaks the WebSocket channel protocol"
        )
    offered = ch.parse_offer(request.headers.get("Sec-WebSocket-Protocol"))
    protocol = ch.negotiate(offered)
    if protocol is None:
        raise errors.BadRequest(
            f"requested protocol(s) are not supported: [{' '.join(offered)}]; supports [{' '.join(ch.PROTOCOLS)}]"
        )

    # Start before upgrading: a container that is not running is a plain Status.
    stream = await start(streams, pod, container, stdin, tty)
    ws = web.WebSocketResponse(protocols=tuple(ch.PROTOCOLS), timeout=5.0)
    try:
        await ws.prepare(request)
    except BaseException:
        with contextlib.suppress(Exception):
            await stream.close()
        raise
    session = _ExecSession(ws, protocol, stream, command, stdin=stdin, stdout=stdout, stderr=stderr)
    await session.run()
    return ws


class _ExecSession:
    """Pumps one exec between a WebSocket and an ExecStream, then reports the outcome on channel 3."""

    def __init__(self, ws: web.WebSocketResponse, protocol: ch.ChannelProtocol, stream: ExecStream,
                 command: list[str], *, stdin: bool, stdout: bool, stderr: bool) -> None:
        self.ws = ws
        self.protocol = protocol
        self.stream = stream
        self.command = command
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.stdin_open = stdin
        self.client_ready = asyncio.Event()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read_client(), name="exec-stdin")
        pump = asyncio.create_task(self._pump_output(), name="exec-output")
        try:
            done, _ = await asyncio.wait({reader, pump}, return_when=asyncio.FIRST_COMPLETED)
            if pump in done and not pump.cancelled() and pump.exception() is None:
                await self._finish(pump.result())
            elif pump in done:
                log.debug("exec output to the client failed", exc_info=pump.exception())
            # else: the client closed the socket before the command ended
        except Exception:
            log.warning("exec session failed", exc_info=True)
        finally:
            for task in (pump, reader):
                task.cancel()
            for task in (pump, reader):
                with contextlib.suppress(BaseException):
                    await task
            with contextlib.suppress(Exception):
                await self.stream.close()
            if not self.ws.closed:
                with contextlib.suppress(Exception):
                    await self.ws.close()

    async def _send(self, channel: int, data: bytes) -> None:
        if not self.client_ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client_ready.wait(), CLIENT_SETUP_GRACE)
            self.client_ready.set()
        frame = self.protocol.encode(channel, data)
        if isinstance(frame, str):
            await self.ws.send_str(frame)
        else:
            await self.ws.send_bytes(frame)

    async def _pump_output(self) -> dict[str, Any]:
        # Upstream writes an empty message on the lowest writable channel once connected.
        await self._send(ch.STDOUT if self.stdout else ch.STDERR if self.stderr else ch.ERROR, b"")
        try:
            output: AsyncIterator[tuple[int, bytes]] = self.stream.output()
            async for channel, data in output:
                if data and ((channel == ch.STDOUT and self.stdout) or (channel == ch.STDERR and self.stderr)):
                    await self._send(channel, data)
            code = await self.stream.wait()
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except errors.ApiError as e:
            return ch.internal_error_status(f"error executing command in container: {e.message}")
        except Exception as e:
            if self.ws.closed:
                raise
            log.warning("exec of %s failed", self.command, exc_info=True)
            return ch.internal_error_status(f"error executing command in container: {e}")
        return ch.exit_status(code, self.command)

    async def _finish(self, status: dict[str, Any]) -> None:
        payload = ch.status_payload(self.protocol, status)
        if payload is not None:
            await self._send(ch.ERROR, payload)
        await self.ws.close()

    async def _read_client(self) -> None:
        resize = ch.ResizeDecoder()
        async for msg in self.ws:
            self.client_ready.set()  # a client that writes has made its streams
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                if msg.type == WSMsgType.ERROR:
                    return
                continue
            try:
                frame = self.protocol.decode(msg.data)
            except ch.FrameError as e:
                log.debug("exec: ignoring a bad client message: %s", e)
                continue
            if frame is None:
                continue
            channel, data = frame
            if channel == ch.STDIN:
                await self._stdin(data)
            elif channel == ch.RESIZE:
                try:
                    sizes = resize.feed(data)
                except ch.FrameError as e:
                    log.debug("exec: %s", e)
                    resize = ch.ResizeDecoder()
                    continue
                for width, height in sizes:
                    with contextlib.suppress(Exception):
                        await self.stream.resize(width, height)
            elif channel == ch.CLOSE and self.protocol.close_channels:
                if data[:1] == bytes((ch.STDIN,)):
                    await self._close_stdin()
            # anything else (writes to output channels, unknown channels) is ignored, as upstream

    async def _stdin(self, data: bytes) -> None:
        if not self.stdin_open or not data:
            return
        try:
            await self.stream.write_stdin(data)
        except Exception:  # the process closed its stdin or exited: drop the rest, like a broken pipe
            log.debug("exec: stdin write failed", exc_info=True)
            self.stdin_open = False

    async def _close_stdin(self) -> None:
        if not self.stdin_open:
            return
        self.stdin_open = False
        with contextlib.suppress(Exception):
            await self.stream.close_stdin()


async def serve_portforward(request: web.Request, resources: Resources, streams: PodStreams | None,
                            namespace: str, name: str) -> web.StreamResponse:
    """GET …/pods/{name}/portforward upgraded to a WebSocket carrying SPDY/3.1 (kubectl 1.30 and later)."""
    streams = _require_streams(streams, "portforward")
    if request.method not in ("GET", "POST"):
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({request.method})")
    pod = await resources.get(_pods(), namespace, name)
    phase = (pod.get("status") or {}).get("phase", "")
    if phase != "Running":
        raise errors.BadRequest(f"unable to forward port because pod is not running. Current status={phase or 'Unknown'}")
    offered = ch.parse_offer(request.headers.get("Sec-WebSocket-Protocol"))
    if is_websocket_request(request) and PORTFORWARD_PROTOCOL not in offered and CHANNEL_PORTFORWARD in offered:
        return await _portforward_channels(request, streams, pod)
    if not is_websocket_request(request) and request.headers.get("Upgrade", "").strip().lower() == "spdy/3.1":
        return await _portforward_spdy(request, streams, pod)
    if not is_websocket_request(request) or PORTFORWARD_PROTOCOL not in offered:
        upgrade = request.headers.get("Upgrade", "")
        raise errors.BadRequest(
            f"boxk8s serves pods/portforward over WebSocket with the subprotocol {PORTFORWARD_PROTOCOL} (kubectl 1.30 "
            f"and later) or {CHANNEL_PORTFORWARD} (the Python client); " + (f"upgrading to {upgrade} is not supported" if upgrade else "this request asked for no upgrade"))
    ws = web.WebSocketResponse(protocols=(PORTFORWARD_PROTOCOL,), timeout=5.0, max_msg_size=0)
    await ws.prepare(request)

    async def incoming() -> AsyncIterator[bytes]:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                yield msg.data
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                return

    session = PortForwardSession(ws.send_bytes, lambda port: streams.port_forward(pod, port), name,
                                 str(pod["metadata"].get("uid", "")))
    await session.run(incoming())
    await ws.close()
    return ws


CHANNEL_PORTFORWARD = "v4.channel.k8s.io"
SPDY_PORTFORWARD = "portforward.k8s.io"


class _UpgradedBytes:
    """What the client sends after a 101 to SPDY/3.1, fed by aiohttp's protocol as it feeds a
    WebSocket's reader (`set_parser`); None at the end."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)


async def _portforward_spdy(request: web.Request, streams: PodStreams, pod: dict[str, Any]) -> web.StreamResponse:
    """pods/portforward as an HTTP upgrade to plain SPDY/3.1 (`Upgrade: SPDY/3.1`,
    `X-Stream-Protocol-Version: portforward.k8s.io`): kubectl before 1.30, and 1.30 and later when
    the WebSocket tunnel is refused or KUBECTL_PORT_FORWARD_WEBSOCKETS=false. The same SPDY session
    as the tunnelled one, on the bare connection (upstream's httpstream/spdy upgrade.go)."""
    versions = [v.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for v in h.split(",")]
    if versions and SPDY_PORTFORWARD not in versions:
        raise errors.Forbidden(f"unable to upgrade: unable to negotiate protocol: client supports {versions}, "
                               f"server supports [{SPDY_PORTFORWARD}]")
    resp = web.StreamResponse(status=101, headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": SPDY_PORTFORWARD})
    resp.force_close()
    await resp.prepare(request)
    incoming = _UpgradedBytes()
    protocol, transport = request.protocol, request.transport
    assert protocol is not None and transport is not None
    protocol.set_parser(incoming)  # type: ignore[arg-type]  # duck-typed as aiohttp's WebSocketReader
    protocol.keep_alive(False)

    async def send(frame: bytes) -> None:
        if not transport.is_closing():
            transport.write(frame)

    async def chunks() -> AsyncIterator[bytes]:
        while (chunk := await incoming.queue.get()) is not None:
            yield chunk

    name = pod["metadata"]["name"]
    session = PortForwardSession(send, lambda port: streams.port_forward(pod, port), name,
                                 str(pod["metadata"].get("uid", "")))
    await session.run(chunks())
    return resp


async def _portforward_channels(request: web.Request, streams: PodStreams, pod: dict[str, Any]) -> web.StreamResponse:
    """The channel protocol of pods/portforward (kubelet's websocket.go, as the Python client speaks it):
    `?ports=a,b` on one WebSocket; port i has data channel 2i and error channel 2i+1, each of which
    first carries the port as a little-endian uint16; then bytes flow, channel byte first."""
    try:
        ports = [int(p) for value in request.query.getall("ports", []) for p in value.split(",") if p]
    except ValueError as e:
        raise errors.BadRequest(f"unable to parse port: {e}") from e
    if not ports or not all(0 < p < 65536 for p in ports):
        raise errors.BadRequest("query parameter \"port\" is required")
    ws = web.WebSocketResponse(protocols=(CHANNEL_PORTFORWARD,), timeout=5.0, max_msg_size=0)
    await ws.prepare(request)
    name = pod["metadata"]["name"]
    writers: dict[int, asyncio.StreamWriter] = {}
    # Bytes the client sends once it has the port headers but before the pod's port is connected:
    # the kubelet's channels are pipes that hold them (wsstream), so they are kept, not dropped.
    early: dict[int, list[bytes]] = {i: [] for i in range(len(ports))}

    async def relay(i: int, port: int) -> None:
        data, error = bytes([2 * i]), bytes([2 * i + 1])
        header = port.to_bytes(2, "little")
        await ws.send_bytes(data + header)
        await ws.send_bytes(error + header)
        try:
            reader, writer = await streams.port_forward(pod, port)
        except (OSError, errors.ApiError) as e:
            await ws.send_bytes(error + f"error forwarding port {port} to pod {name}: {e}".encode())
            return
        for piece in early.pop(i, []):
            writer.write(piece)
        writers[i] = writer
        while chunk := await reader.read(32 * 1024):
            await ws.send_bytes(data + chunk)

    async def from_client() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, payload = msg.data[0], msg.data[1:]
            if channel % 2 or not payload:
                continue  # error channels carry nothing from the client
            writer = writers.get(channel // 2)
            if writer is not None:
                writer.write(payload)
            elif channel // 2 in early:
                early[channel // 2].append(payload)

    async def all_relays() -> None:
        # As the kubelet's websocket handler: once every port's copy has ended, the connection ends.
        await asyncio.gather(*(relay(i, p) for i, p in enumerate(ports)))
        await ws.close()

    async with asyncio.TaskGroup() as tg:
        relays = tg.create_task(all_relays(), name=f"portforward-{name}")
        await from_client()
        relays.cancel()  # the client went first
    for writer in writers.values():
        writer.close()
    await ws.close()
    return ws
