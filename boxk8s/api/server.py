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
# How the HTTP server reads requests. The apiserver does not decode a request's Content-Encoding (its
# filters compress responses only): a body is read as sent, so a gzip body is a 400 for its bytes,
# not a connection aiohttp drops when the body does not inflate. Its request line and headers may
# take Go's http.DefaultMaxHeaderBytes (1 MiB), not aiohttp's 8 KiB: a long name is the API's 4xx.
MAX_HEADER_BYTES = 1 << 20
SERVER_OPTIONS = {"auto_decompress": False, "max_line_size": MAX_HEADER_BYTES, "max_field_size": MAX_HEADER_BYTES}


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
        self._runner: web.AppRunner | None = None
        self._sockets: list[socket.socket] = []
        self.bound_port: int | None = None  # while serving: the port it got (with `port` 0, any free one)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        """Listen until the block ends; yields the bound port."""
        sock = bind(self.host, self.port, self.fallback)
        self._sockets.append(sock)
        runner = self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS,
                                              access_log=None, **SERVER_OPTIONS)
        try:
            await runner.setup()
            site = web.SockSite(runner, sock, ssl_context=self.ssl_context)
            await site.start()
            self.bound_port = int(sock.getsockname()[1])
            yield self.bound_port
        finally:
            await runner.cleanup()
            self._runner = None
            self.bound_port = None
            for s in self._sockets:
                s.close()
            self._sockets.clear()

    async def listen_also(self, host: str, port: int) -> int:
        """Serve the same app on one more address (while `serving`): `port` there, or any free
        one when it is taken. Returns the port."""
        assert self._runner is not None, "listen_also needs the server serving"
        sock = bind(host, port, fallback=True)
        self._sockets.append(sock)
        await web.SockSite(self._runner, sock, ssl_context=self.ssl_context).start()
        return int(sock.getsockname()[1])

    def reload_certificate(self, cert_path: str, key_path: str) -> None:
        """Serve a new certificate from the next connection on (an SSLContext takes a new chain)."""
        if self.ssl_context is not None:
            self.ssl_context.load_cert_chain(cert_path, key_path)
