"""A unix-socket proxy in front of the Docker daemon that a test can cut and heal.

    proxy = DockerProxy(Path("/tmp/x/docker.sock"))
    await proxy.start()           # boxk8s talks to proxy.url (unix://…)
    await proxy.cut()             # every open connection broken, new ones closed at once
    proxy.heal()                  # through again

`ThreadedDockerProxy` runs one on its own event loop in a thread, for synchronous tests that
start `boxk8s up` as a subprocess. The machine's daemon is never touched: only the connections
through the proxy are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path


def _daemon() -> str:
    """The daemon's socket: DOCKER_HOST's when it names one, else Docker's default."""
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


DAEMON = _daemon()


class DockerProxy:
    def __init__(self, path: Path, daemon: str = DAEMON) -> None:
        self.path = path
        self.daemon = daemon
        self.through = True
        self.refused = 0  # connections closed at once while cut
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def cut(self) -> None:
        self.through = False
        for w in list(self._writers):
            w.transport.abort()

    def heal(self) -> None:
        self.through = True

    async def close(self) -> None:
        await self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.through:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.daemon)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer, up_writer}
        self._writers |= pair
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= pair
            for w in pair:
                w.transport.abort()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()
        except (ConnectionError, OSError):
            dst.transport.abort()


class ThreadedDockerProxy:
    """A DockerProxy on an event loop of its own, in a daemon thread."""

    def __init__(self, path: Path) -> None:
        self.proxy = DockerProxy(path)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="docker-proxy", daemon=True)

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def refused(self) -> int:
        return self.proxy.refused

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)  # type: ignore[arg-type]

    def start(self) -> None:
        self._thread.start()
        self._run(self.proxy.start())

    def cut(self) -> None:
        self._run(self.proxy.cut())

    def heal(self) -> None:
        self._loop.call_soon_threadsafe(self.proxy.heal)

    def close(self) -> None:
        self._run(self.proxy.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
