"""pods/portforward: kubectl's SPDY/3.1 sessions, tunnelled in a WebSocket, relayed to the pod's ports.

What kubectl 1.32 does (client-go tools/portforward, httpstream/spdy, and the tunnel of
apiserver/pkg/util/proxy/streamtunnel.go): a GET upgraded to a WebSocket with the subprotocol
`SPDY/3.1+portforward.k8s.io`, whose binary messages carry a SPDY byte stream. For each local
connection it opens two streams with the headers `streamType` (`error`, then `data`), `port` and
`requestID`, and waits for each stream's SYN_REPLY. Bytes on the data stream go to the pod's port
and back; a failure is a message on the error stream, which kubectl prints
(the kubelet's wording: "error forwarding port …"). The pod is reached at its IP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from boxk8s.api import spdy

log = logging.getLogger(__name__)

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHUNK = 32 * 1024

Connect = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass
class _Request:
    port: int = 0
    error: int = 0  # stream ids
    data: int = 0
    writer: asyncio.StreamWriter | None = None
    early: list[bytes] = field(default_factory=list)  # data that came before the pod connection
    client_done: bool = False


class PortForwardSession:
    def __init__(self, send: Callable[[bytes], Awaitable[None]], connect: Connect, pod: str, uid: str) -> None:
        self._send_raw = send
        self.connect = connect
        self.pod, self.uid = pod, uid
        self.frames = spdy.FrameReader()
        self.headers = spdy.HeaderCodec()
        self.requests: dict[str, _Request] = {}
        self.by_stream: dict[int, _Request] = {}
        self._lock = asyncio.Lock()  # frames go out whole, one at a time
        self._tg: asyncio.TaskGroup | None = None

    async def send(self, frame: bytes) -> None:
        async with self._lock:
            await self._send_raw(frame)

    async def run(self, incoming: AsyncIterator[bytes]) -> None:
        """Serve until the client goes; relays still running then are cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                async for chunk in incoming:
                    for frame in self.frames.feed(chunk):
                        if not await self._handle(frame):
                            raise _ClientGone  # GOAWAY
                raise _ClientGone
        except* _ClientGone:
            pass
        except* spdy.ProtocolError as group:
            log.info("portforward to pod/%s: %s", self.pod, group.exceptions[0])

    async def _handle(self, f: spdy.Frame) -> bool:
        if not f.control:
            self._client_data(f)
        elif f.kind == spdy.SYN_STREAM:
            await self._open(f)
        elif f.kind == spdy.RST_STREAM:
            request = self.by_stream.get(f.stream_id)
            if request is not None and request.writer is not None:
                request.writer.close()
        elif f.kind == spdy.PING:
            await self.send(spdy.ping(f.value))
        elif f.kind == spdy.GOAWAY:
            return False
        return True  # SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (spdystream keeps no windows)

    async def _open(self, f: spdy.Frame) -> None:
        headers = self.headers.decode(f.payload)
        kind = (headers.get("streamtype") or [""])[0]
        request_id = (headers.get("requestid") or [str(f.stream_id)])[0]
        try:
            port = int((headers.get("port") or [""])[0])
        except ValueError:
            await self.send(spdy.rst_stream(f.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        await self.send(spdy.syn_reply(f.stream_id, self.headers.encode({})))
        request = self.requests.setdefault(request_id, _Request(port))
        if kind == "error":
            request.error = f.stream_id
        elif kind == "data":
            request.data = f.stream_id
        else:
            await self.send(spdy.rst_stream(f.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        self.by_stream[f.stream_id] = request
        if request.error and request.data:
            assert self._tg is not None
            self._tg.create_task(self._relay(request_id, request), name=f"portforward-{self.pod}-{port}")

    def _client_data(self, f: spdy.Frame) -> None:
        request = self.by_stream.get(f.stream_id)
        if request is None or f.stream_id != request.data:
            return  # the error stream carries nothing from the client; unknown streams are gone
        if request.writer is None:
            request.early.append(f.payload)
        elif f.payload:
            request.writer.write(f.payload)
        if f.fin:
            request.client_done = True
            if request.writer is not None and request.writer.can_write_eof():
                request.writer.write_eof()

    async def _relay(self, request_id: str, request: _Request) -> None:
        try:
            reader, writer = await self.connect(request.port)
        except Exception as e:
            message = f"error forwarding port {request.port} to pod {self.pod}, uid {self.uid}: {e}"
            log.info("portforward: %s", message)
            await self.send(spdy.data(request.error, message.encode(), fin=True))
            await self.send(spdy.data(request.data, b"", fin=True))
            return
        request.writer = writer
        for piece in request.early:
            writer.write(piece)
        if request.client_done and writer.can_write_eof():
            writer.write_eof()
        try:
            while chunk := await reader.read(CHUNK):
                await self.send(spdy.data(request.data, chunk))
            await self.send(spdy.data(request.data, b"", fin=True))
            await self.send(spdy.data(request.error, b"", fin=True))
        except (ConnectionError, OSError) as e:
            with contextlib.suppress(ConnectionError, OSError):
                await self.send(spdy.rst_stream(request.data, spdy.RST_CANCEL))
            log.info("portforward to pod/%s port %d ended: %s", self.pod, request.port, e)
        finally:
            writer.close()
            self.requests.pop(request_id, None)
            self.by_stream.pop(request.data, None)
            self.by_stream.pop(request.error, None)


class _ClientGone(Exception):
    """The WebSocket closed: stop the relays."""
