"""Requests that ask to upgrade the connection (WebSocket, SPDY) and are answered otherwise.

aiohttp's parser stops reading HTTP at a request with `Connection: Upgrade`; what follows on the
connection (the request's own body, the client's next request) waits for the upgrade and, when it is
declined, is read back from there: a body behind such a request became the start of the next request
and the client's next request on that connection got no answer. Go's server reads the body by its
length and carries on; here a declined upgrade closes the connection after its answer (`Connection:
close`), which every client handles: it opens a new one (found by tests/integration/test_fuzz.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def asks_upgrade(request: web.Request) -> bool:
    return "upgrade" in request.headers.get(hdrs.CONNECTION, "").lower() and hdrs.UPGRADE in request.headers


@web.middleware
async def close_declined_upgrades(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if asks_upgrade(request) and response.status != 101 and not response.prepared:
        response.force_close()
    return response
