"""Byte streams of the Docker API: multiplexed log frames, log lines, and exec sessions."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

_HEADER = struct.Struct(">BxxxL")  # stream (0 stdin, 1 stdout, 2 stderr), 3 pad bytes, length


async def frames(content: aiohttp.StreamReader, tty: bool) -> AsyncIterator[tuple[int, bytes]]:
    """(stream, bytes) from a log/attach body: raw when the container has a TTY, else demultiplexed."""
    if tty:
        async for chunk in content.iter_any():
            yield 1, chunk
        return
    while True:
        try:
            header = await content.readexactly(_HEADER.size)
        except asyncio.IncompleteReadError:
            return
        stream, size = _HEADER.unpack(header)
        try:
            data = await content.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            data = exc.partial
        if data:
            yield stream, data


async def lines(chunks: AsyncIterator[tuple[int, bytes]]) -> AsyncIterator[bytes]:
    """Whole lines, each ending in b"\\n", in arrival order; partial lines are kept per stream."""
    pending: dict[int, bytes] = {}
    async for stream, data in chunks:
        data = pending.pop(stream, b"") + data
        *complete, rest = data.split(b"\n")
        for line in complete:
            yield line + b"\n"
        if rest:
            pending[stream] = rest
    for rest in pending.values():
        yield rest + b"\n"


class AttachedContainer:
    """A container seen through the three calls DockerExecSession makes of an exec: so an attach
    (the container's own process) is a session like an exec."""

    def __init__(self, container: Any) -> None:
        self._container = container

    @property
    def id(self) -> str:
        return str(self._container.id)

    async def resize(self, *, w: int, h: int) -> None:
        await self._container.resize(w=w, h=h)

    async def inspect(self) -> dict[str, Any]:
        state = (await self._container.show()).get("State") or {}
        return {"Running": state.get("Running"), "ExitCode": state.get("ExitCode")}


class DockerExecSession:
    """An ExecSession over aiodocker's Exec and its hijacked Stream (objects passed in, duck-typed)."""

    def __init__(self, exec_: Any, stream: Any, *, poll_interval: float = 0.02, half_close: bool = True) -> None:
        """`half_close=False` for an attach: Docker stops an attach connection's output once its input
        half-closes, and the container's stdin stays open either way (spec.stdinOnce aside)."""
        self._exec = exec_
        self._stream = stream
        self._poll = poll_interval
        self._half_close = half_close

    @property
    def id(self) -> str:
        return str(self._exec.id)

    async def write_stdin(self, data: bytes) -> None:
        await self._stream.write_in(data)

    async def close_stdin(self) -> None:
        if not self._half_close:
            return
        # Half-close: the process sees EOF on stdin while we keep reading its output. aiodocker's
        # Stream (0.27) has no public half-close, so this reaches its response's transport.
        resp = self._stream._resp
        transport = resp.connection.transport if resp is not None and resp.connection is not None else None
        if transport is not None and transport.can_write_eof():
            transport.write_eof()

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while True:
            message = await self._stream.read_out()
            if message is None:
                return
            yield int(message.stream), bytes(message.data)

    async def resize(self, width: int, height: int) -> None:
        await self._exec.resize(w=width, h=height)

    async def wait(self) -> int:
        # The output ending does not mean Docker has recorded the exit code yet: poll briefly.
        while True:
            info = await self._exec.inspect()
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else -1
            await asyncio.sleep(self._poll)

    async def close(self) -> None:
        await self._stream.close()


async def collect(session: DockerExecSession, limit: int) -> bytes:
    """All output (stdout and stderr merged), at most `limit` bytes kept."""
    out = bytearray()
    async for _, data in session.output():
        if len(out) < limit:
            out += data[: limit - len(out)]
    return bytes(out)

