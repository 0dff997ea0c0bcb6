"""The host side of the service proxy: one TCP listener per host port, relaying to pod IPs.

This is the one seam between the cluster and the host's network. On Linux the host reaches pod
IPs directly, so a listener here relays straight to them. Docker Desktop cannot (the host has no
route to container IPs), and there this class is what a relay container with published ports
would replace.

New connections pick a backend round robin, or keep one per client IP with ClientIP affinity.
Connections already open outlive a change of route or listener, as they do with kube-proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket

from boxk8s.proxy.plan import Route

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0  # seconds to reach a backend before trying the next
CHUNK = 64 * 1024


class HostListeners:
    def __init__(self, host: str) -> None:
        self.host = host
        self.routes: dict[int, Route] = {}
        self._servers: dict[int, asyncio.Server] = {}
        self._turn = itertools.count()
        self._affinity: dict[tuple[str, str], tuple[str, int]] = {}  # (service, client IP) → backend

    @property
    def listening(self) -> set[int]:
        return set(self._servers)

    async def apply(self, routes: dict[int, Route]) -> dict[int, OSError]:
        """Listen on exactly these ports with these routes; returns the ports that could not be
        opened, with why (another program holds them). Routes change at once for new connections."""
        self.routes = dict(routes)
        for port in set(self._servers) - set(routes):
            server = self._servers.pop(port)
            server.close()
            log.info("proxy: closed host port %s:%d", self.host, port)
        failures: dict[int, OSError] = {}
        for port in sorted(set(routes) - set(self._servers)):
            try:
                self._servers[port] = await asyncio.start_server(
                    lambda r, w, port=port: self._relay(port, r, w), self.host, port,
                    family=socket.AF_INET6 if ":" in self.host else socket.AF_INET, reuse_address=True)
                log.info("proxy: listening on %s:%d for service/%s", self.host, port, routes[port].service)
            except OSError as e:
                failures[port] = e
        return failures

    async def close(self) -> None:
        for server in self._servers.values():
            server.close()
        for server in self._servers.values():
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()

    def choose(self, route: Route, client_ip: str) -> list[tuple[str, int]]:
        """The backends to try, in order: the affine one first, else the next in turn."""
        backends = list(route.backends)
        if not backends:
            return []
        if route.client_ip_affinity:
            kept = self._affinity.get((route.service, client_ip))
            if kept not in backends:
                kept = backends[next(self._turn) % len(backends)]
                self._affinity[(route.service, client_ip)] = kept
            start = backends.index(kept)
        else:
            start = next(self._turn) % len(backends)
        return backends[start:] + backends[:start]

    async def _relay(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        route = self.routes.get(port)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for ip, target in self.choose(route, str(peer[0])) if route else []:
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(ip, target), CONNECT_TIMEOUT)
                break
            except (OSError, TimeoutError) as e:
                log.info("proxy: %s:%d unreachable for service/%s: %s", ip, target, route.service if route else "", e)
        if upstream is None:
            writer.close()  # no ready endpoint: the client sees the connection closed, as with no route
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (up_writer, writer):
                w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close the other side (a client that shuts down its sending side
    still gets the whole answer)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()
