"""SPDY/3.1 framing and the port-forward session, driven as kubectl's spdystream drives them."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator

from boxk8s.api import spdy
from boxk8s.api.portforward import PortForwardSession


def test_the_header_dictionary_is_the_protocols() -> None:
    # draft-mbelshe-httpbis-spdy-00 §2.6.10.1: 1,423 bytes; zlib checks its Adler-32 on every session.
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


def test_header_blocks_round_trip_through_one_zlib_stream_per_direction() -> None:
    ours, theirs = spdy.HeaderCodec(), spdy.HeaderCodec()
    for i in range(3):  # later blocks depend on the earlier ones' state
        block = ours.encode({"streamType": "data", "port": "8080", "requestID": str(i)})
        assert theirs.decode(block) == {"streamtype": ["data"], "port": ["8080"], "requestid": [str(i)]}


def syn_stream(codec: spdy.HeaderCodec, stream_id: int, headers: dict[str, str]) -> bytes:
    """What spdystream sends to open a stream (priority 0, no associated stream)."""
    payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + codec.encode(headers)
    return struct.pack(">HHB", 0x8003, spdy.SYN_STREAM, 0) + len(payload).to_bytes(3, "big") + payload


def test_frames_are_found_across_any_split() -> None:
    codec = spdy.HeaderCodec()
    wire = syn_stream(codec, 1, {"a": "b"}) + spdy.data(1, b"hello", fin=True) + spdy.ping(7)
    for cut in range(len(wire)):
        reader = spdy.FrameReader()
        frames = reader.feed(wire[:cut]) + reader.feed(wire[cut:])
        assert [(f.control, f.kind, f.stream_id) for f in frames] == [(True, spdy.SYN_STREAM, 1), (False, 0, 1),
                                                                      (True, spdy.PING, 0)]
        assert frames[1].payload == b"hello" and frames[1].fin and frames[2].value == 7


class Kubectl:
    """The client side of one session: opens stream pairs and collects what comes back."""

    def __init__(self) -> None:
        self.out = spdy.HeaderCodec()
        self.back = spdy.HeaderCodec()
        self.reader = spdy.FrameReader()
        self.to_server: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.replies: list[int] = []
        self.data: dict[int, bytes] = {}
        self.finished: set[int] = set()
        self.changed = asyncio.Event()

    async def incoming(self) -> AsyncIterator[bytes]:
        while (chunk := await self.to_server.get()) is not None:
            yield chunk

    async def receive(self, chunk: bytes) -> None:
        for f in self.reader.feed(chunk):
            if f.control and f.kind == spdy.SYN_REPLY:
                assert self.back.decode(f.payload) == {}
                self.replies.append(f.stream_id)
            elif not f.control:
                self.data[f.stream_id] = self.data.get(f.stream_id, b"") + f.payload
                if f.fin:
                    self.finished.add(f.stream_id)
        self.changed.set()

    def open(self, request_id: int, port: int) -> tuple[int, int]:
        error, data = 4 * request_id + 1, 4 * request_id + 3  # odd ids: streams the client opens
        for stream, kind in ((error, "error"), (data, "data")):
            self.to_server.put_nowait(syn_stream(self.out, stream, {"streamType": kind, "port": str(port),
                                                                      "requestID": str(request_id)}))
        return error, data

    async def until(self, check: object) -> None:
        async with asyncio.timeout(5):
            while not check():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()


async def test_a_session_relays_each_request_to_the_pods_port_and_reports_failures() -> None:
    async def upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read()).upper())  # until the client half-closes
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(upper, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def connect(wanted: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if wanted != 8080:
            raise ConnectionRefusedError(f"nothing listens on {wanted}")
        return await asyncio.open_connection("127.0.0.1", port)

    client = Kubectl()
    session = PortForwardSession(client.receive, connect, "web", "uid-1")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(session.run(client.incoming()))
        error, data = client.open(0, 8080)
        client.to_server.put_nowait(spdy.data(data, b"hello ") + spdy.data(data, b"pod", fin=True))
        await client.until(lambda: {error, data} <= client.finished)
        assert client.replies[:2] == [error, data]  # every stream is accepted before anything else
        assert client.data[data] == b"HELLO POD" and client.data.get(error, b"") == b""

        bad_error, bad_data = client.open(1, 9999)
        await client.until(lambda: {bad_error, bad_data} <= client.finished)
        assert client.data[bad_error].decode() == (
            "error forwarding port 9999 to pod web, uid uid-1: nothing listens on 9999")

        client.to_server.put_nowait(spdy.ping(42))
        await client.until(lambda: True)
        client.to_server.put_nowait(None)  # the WebSocket closes: the session ends
    server.close()


async def test_the_channel_protocol_keeps_bytes_sent_before_the_pod_is_connected() -> None:
    # The Python client sends as soon as it has the port headers; the pod's port may not be connected
    # yet (the kubelet's channels are pipes that hold such bytes). They must reach the pod, not vanish.
    from aiohttp import WSMsgType, web
    from aiohttp.test_utils import TestClient, TestServer

    from boxk8s.api.streams import _portforward_channels

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(5))
        await writer.drain()
        writer.close()

    pod_port = await asyncio.start_server(echo, "127.0.0.1", 0)
    address = pod_port.sockets[0].getsockname()
    may_connect = asyncio.Event()

    class Streams:
        async def port_forward(self, pod: dict[str, object], port: int) -> tuple[asyncio.StreamReader,
                                                                                asyncio.StreamWriter]:
            await may_connect.wait()
            return await asyncio.open_connection(*address)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await _portforward_channels(request, Streams(), {"metadata": {"name": "p"}})  # type: ignore[arg-type]

    app = web.Application()
    app.router.add_get("/portforward", handler)
    async with TestClient(TestServer(app)) as client, pod_port:
        ws = await client.ws_connect("/portforward?ports=8080", protocols=("v4.channel.k8s.io",))
        headers = [await ws.receive_bytes(), await ws.receive_bytes()]
        assert headers == [b"\x00" + (8080).to_bytes(2, "little"), b"\x01" + (8080).to_bytes(2, "little")]
        await ws.send_bytes(b"\x00hello")  # before the pod is connected
        may_connect.set()
        answer = b""
        while (msg := await asyncio.wait_for(ws.receive(), 10)).type == WSMsgType.BINARY:
            assert msg.data[0] == 0, msg.data
            answer += msg.data[1:]
        assert answer == b"hello"
