"""The Ingress reverse proxy's HTTP server (aiohttp): the one module of `proxy/` that speaks HTTP.

Each request is resolved by the controller (`resolve(host, path)`) and relayed to the chosen pod
without buffering: the request body streams up, the response streams down chunk by chunk (so
chunked responses and server-sent events pass as they are produced), and a WebSocket upgrade
becomes a WebSocket to the pod with messages pumped both ways. X-Forwarded-For, -Proto and
-Host are set as ingress-nginx sets them. Errors are small pages: 404 when no rule matches,
503 when the backend has no ready endpoint, 502 when the pod does not answer.
"""

from __future__ import annotations

import asyncio
import html
import logging
import socket
import ssl
from collections.abc import Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from boxk8s.placement import listen
from boxk8s.proxy.ingress_plan import Decision

log = logging.getLogger(__name__)

# RFC 9110 §7.6.1 hop-by-hop headers, never relayed (Host is set for the upstream by the client).
HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
))
CONNECT_TIMEOUT = 5.0


def _page(status: int, title: str, detail: str) -> web.Response:
    body = (f"<!doctype html><html><head><title>{status} {html.escape(title)}</title></head><body>"
            f"<h1>{status} {html.escape(title)}</h1><p>{html.escape(detail)}</p><hr><p>boxk8s ingress</p>"
            "</body></html>\n")
    return web.Response(status=status, text=body, content_type="text/html")


def _bind(host: str, port: int, fallback: bool) -> socket.socket:
    return listen(host, port, fallback=fallback)


class IngressServer:
    def __init__(self, host: str, port: int, resolve: Callable[[str, str], Decision], *,
                 tls_port: int = 0, ssl_context: ssl.SSLContext | None = None,
                 fallback: frozenset[str] = frozenset()) -> None:
        """`fallback`: "ingress" and/or "ingress-tls", whose port may give way to a free one when taken."""
        self.host = host
        self.port = port
        self.tls_port = tls_port
        self.ssl_context = ssl_context
        self.resolve = resolve
        self.fallback = fallback
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> int:
        """Listen over HTTP (raises OSError when the port is taken) and, with a context, over TLS
        (a taken TLS port only leaves TLS off); returns the HTTP port."""
        sock = _bind(self.host, self.port, "ingress" in self.fallback)
        self._session = aiohttp.ClientSession(  # before the first request can arrive
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=0)  # bodies stream through, whatever their size
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        if self.tls_port and self.ssl_context is not None:
            try:
                tls_sock = _bind(self.host, self.tls_port, "ingress-tls" in self.fallback)
            except OSError as e:
                log.warning("ingress: cannot listen on %s:%d for TLS (%s)", self.host, self.tls_port, e.strerror or e)
                self.tls_port = 0
            else:
                await web.SockSite(self._runner, tls_sock, ssl_context=self.ssl_context).start()
                self.tls_port = int(tls_sock.getsockname()[1])
        self.port = int(sock.getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        decision = self.resolve(request.host, request.path)
        if decision.target is None:
            title = "Not Found" if decision.status == 404 else "Service Unavailable"
            return _page(decision.status, title, decision.reason)
        ip, port = decision.target
        url = f"http://{f'[{ip}]' if ':' in ip else ip}:{port}{request.rel_url}"
        headers = self._forwarded(request)
        try:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._websocket(request, url, headers)
            return await self._http(request, url, headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            log.info("ingress: %s %s → %s: %s", request.method, request.path, url, e)
            return _page(502, "Bad Gateway", f"the backend at {ip}:{port} did not answer")

    def _forwarded(self, request: web.Request) -> CIMultiDict[str]:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        peer = request.remote or ""
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        headers["X-Forwarded-Proto"] = request.scheme
        headers["X-Forwarded-Host"] = request.host
        headers["Host"] = request.host  # the pod sees the name the client asked for, as behind any ingress
        return headers

    async def _http(self, request: web.Request, url: str, headers: CIMultiDict[str]) -> web.StreamResponse:
        assert self._session is not None
        body = request.content if request.body_exists else None
        async with self._session.request(request.method, url, headers=headers, data=body,
                                         allow_redirects=False) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for k, v in upstream.headers.items():
                if k.lower() not in HOP_BY_HOP or k.lower() == "content-length":
                    response.headers.add(k, v)
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _websocket(self, request: web.Request, url: str, headers: CIMultiDict[str]) -> web.StreamResponse:
        assert self._session is not None
        protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        for h in ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"):
            headers.popall(h, None)
        async with self._session.ws_connect(url, headers=headers, protocols=protocols) as upstream:
            downstream = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else ())
            await downstream.prepare(request)

            async def pump(source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
                           sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse) -> None:
                async for msg in source:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        await sink.send_str(msg.data)
                    elif msg.type == aiohttp.WSMsgType.BINARY:
                        await sink.send_bytes(msg.data)
                    else:
                        break
                await sink.close()

            async with asyncio.TaskGroup() as tg:  # each pump closes the other side when its own ends
                tg.create_task(pump(downstream, upstream), name="ingress-ws-up")
                tg.create_task(pump(upstream, downstream), name="ingress-ws-down")
            return downstream
