"""The HTTPS listener: the aiohttp app behind a runner, on a socket bound here.

Binding the socket ourselves (aiohttp's `SockSite`) is what lets `--port 0` report the port it
got without reaching into aiohttp's private attributes.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import AsyncIterator

from aiohttp import web

from boxk8s.placement import listen

SHUTDOWN_SECONDS = 1.0  # open connections (watches, exec streams) get this long to finish


def bind(host: str, port: int, fallback: bool = False) -> socket.socket:
    """A listening socket; SO_REUSEADDR (as `socket.create_server` sets) so a restart can rebind at
    once. With `fallback`, a taken port gives way to a free one (placement.listen)."""
    return listen(host, port, fallback=fallback)


class ApiServer:
    def __init__(self, app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None,
                 *, fallback: bool = False) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.fallback = fallback

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        """Listen until the block ends; yields the bound port."""
        sock = bind(self.host, self.port, self.fallback)
        runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS, access_log=None)
        try:
            await runner.setup()
            site = web.SockSite(runner, sock, ssl_context=self.ssl_context)
            await site.start()
            yield int(sock.getsockname()[1])
        finally:
            await runner.cleanup()
            sock.close()
