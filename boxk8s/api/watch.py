"""Streaming watch responses: newline-delimited JSON events, bookmarks and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from boxk8s import errors
from boxk8s.api.request import Accept, query_int
from boxk8s.api.respond import TABLE_TYPE, dumps, partial_metadata
from boxk8s.resources import tables
from boxk8s.resources.layer import Predicate, Resources
from boxk8s.resources.registry import ResourceType

BOOKMARK_INTERVAL = 60.0
MIN_REQUEST_TIMEOUT = 1800  # the apiserver's --min-request-timeout
# A watch the store closed for falling behind (store/watch.py) ends as soon as its last write
# completes; a client that reads nothing never lets that write complete, so after this long its
# connection is cut. Either way the writers and the other watchers never waited on it.
STALLED_SECONDS = 5.0


class _Stall:
    """The store's overflow callback for one watch: brings the watch's deadline forward to
    STALLED_SECONDS from now (the pump is then either ending or stuck in a write)."""

    __slots__ = ("hit", "timer")

    def __init__(self) -> None:
        self.hit = False
        self.timer: asyncio.Timeout | None = None

    def __call__(self) -> None:
        self.hit = True
        if self.timer is not None:
            soon = asyncio.get_running_loop().time() + STALLED_SECONDS
            when = self.timer.when()
            if when is None or soon < when:
                self.timer.reschedule(soon)


Item = TypeVar("Item")


async def _with_bookmarks(events: AsyncIterator[Item], interval: float, enabled: bool) -> AsyncIterator[Item | None]:
    """Yield events; yield None when `interval` passes without one (time for a bookmark)."""
    if not enabled:  # the common case: no task per event
        async for item in events:
            yield item
        return
    it = events.__aiter__()
    nxt: asyncio.Task[Item] | None = None
    try:
        while True:
            if nxt is None:
                nxt = asyncio.ensure_future(it.__anext__())
            done, _ = await asyncio.wait({nxt}, timeout=interval)
            if not done:
                yield None
                continue
            try:
                item = nxt.result()
            except StopAsyncIteration:
                return
            nxt = None
            yield item
    finally:
        if nxt is not None:
            nxt.cancel()
            with contextlib.suppress(BaseException):
                await nxt
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()


async def serve_watch(
    request: web.Request,
    resources: Resources,
    rt: ResourceType,
    namespace: str | None,
    *,
    label: Predicate | None,
    field: Predicate | None,
    accept: Accept,
    include_object: str,
) -> web.StreamResponse:
    q = request.query
    rv = q.get("resourceVersion", "")
    timeout_s = query_int(q, "timeoutSeconds")
    if timeout_s is not None and timeout_s < 0:
        raise errors.BadRequest("timeoutSeconds must not be negative")
    timeout = float(timeout_s) if timeout_s else MIN_REQUEST_TIMEOUT * (1 + random.random())
    bookmarks = q.get("allowWatchBookmarks", "").lower() == "true"
    send_initial = None
    if "sendInitialEvents" in q:
        send_initial = q["sendInitialEvents"].lower() == "true"
        if send_initial and q.get("resourceVersionMatch") != "NotOlderThan":
            raise errors.Invalid(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            )
    stall = _Stall()
    if not (accept.table or accept.partial_metadata or label or field):
        return await _serve_plain_watch(request, resources, rt, namespace, rv, timeout, bookmarks, send_initial,
                                        stall)
    events = await resources.watch(
        rt, namespace, resource_version=rv, label=label, field=field, send_initial=send_initial, on_overflow=stall
    )
    resp = await _start(request, accept.table)

    last_rv = rv or "0"
    first_table = True

    def encode(ev_type: str, obj: dict[str, Any]) -> bytes:
        nonlocal first_table
        if ev_type == "BOOKMARK":
            body: dict[str, Any] = obj
        elif accept.table:
            body = tables.table(rt, [obj], include_object=include_object)
            if not first_table:
                body["columnDefinitions"] = []
            first_table = False
        elif accept.partial_metadata:
            body = partial_metadata(obj)
        else:
            body = obj
        return dumps({"type": ev_type, "object": body}) + b"\n"

    async def write_events() -> None:
        nonlocal last_rv
        async for item in _with_bookmarks(events, BOOKMARK_INTERVAL, bookmarks):
            if item is None:
                mark = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": last_rv}}
                await resp.write(encode("BOOKMARK", mark))
                continue
            ev_type, obj = item
            if ev_type == "BOOKMARK":
                if not bookmarks and send_initial is None:
                    continue
                obj = {"kind": rt.kind, "apiVersion": rt.api_version, **obj}
            last_rv = obj.get("metadata", {}).get("resourceVersion", last_rv)
            await resp.write(encode(ev_type, obj))

    return await _pump(request, resp, events, timeout, write_events, stall)


async def _pump(request: web.Request, resp: web.StreamResponse, events: Any, timeout: float,
                write_events: Callable[[], Awaitable[None]], stall: _Stall) -> web.StreamResponse:
    """Write the events until the watch's timeout. An API error ends the stream with an ERROR
    event, a client that went away ends it without one; the event source is closed either way.
    A watch the store closed for falling behind ends like one that timed out (the client watches
    again from its last resourceVersion), or, if its client does not read, by cutting the connection."""
    try:
        async with asyncio.timeout(timeout) as timer:
            stall.timer = timer
            await write_events()
    except TimeoutError:
        if stall.hit:  # stuck in a write the client never reads: the stream cannot be ended cleanly
            return _cut(request, resp)
    except errors.ApiError as e:
        await resp.write(dumps({"type": "ERROR", "object": e.status()}) + b"\n")
    except ConnectionResetError:
        return resp  # the client went away: nothing to finish
    finally:
        stall.timer = None
        await events.aclose()
    try:
        async with asyncio.timeout(STALLED_SECONDS):  # the last chunk must reach a client that reads
            await resp.write_eof()
    except ConnectionResetError:
        pass
    except TimeoutError:
        return _cut(request, resp)
    return resp


def _cut(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return resp


async def _start(request: web.Request, table: bool) -> web.StreamResponse:
    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    if table:
        resp.headers["Content-Type"] = TABLE_TYPE
    resp.headers["Cache-Control"] = "no-cache, private"
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    return resp


async def _serve_plain_watch(
    request: web.Request, resources: Resources, rt: ResourceType, namespace: str | None, rv: str,
    timeout: float, bookmarks: bool, send_initial: bool | None, stall: _Stall,
) -> web.StreamResponse:
    """The common watch (JSON, no selector): objects come encoded, once for every such watcher,
    and each event is written as `{"type":…,"object":…}` around those bytes — what dumps of the
    event would give."""
    events = await resources.watch_rendered(rt, namespace, resource_version=rv, send_initial=send_initial,
                                            on_overflow=stall)
    resp = await _start(request, False)
    last_rv = rv or "0"

    def bookmark(obj: dict[str, Any]) -> bytes:
        return dumps({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, **obj}}) + b"\n"

    async def write_events() -> None:
        nonlocal last_rv
        async for item in _with_bookmarks(events, BOOKMARK_INTERVAL, bookmarks):
            if item is None:
                await resp.write(bookmark({"metadata": {"resourceVersion": last_rv}}))
                continue
            ev_type, obj, last_rv = item
            if isinstance(obj, dict):  # the end of the initial events
                if bookmarks or send_initial is not None:
                    await resp.write(bookmark(obj))
                continue
            await resp.write(b"".join((b'{"type":"', ev_type.encode(), b'","object":', obj, b"}\n")))

    return await _pump(request, resp, events, timeout, write_events, stall)
