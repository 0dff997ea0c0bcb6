"""The apiserver's self-defence, as one aiohttp middleware: in-flight limits, request timeouts and a
cap on each user's watches.

- `--max-requests-inflight` (400) and `--max-mutating-requests-inflight` (200): a request past its
  limit gets 429 with `Retry-After: 1` and upstream's plain-text body; long-running requests are not
  counted, and `system:masters` is never refused (filters/maxinflight.go, WithMaxInFlightLimit).
- `--request-timeout` (60 s), shortened by a request's own `?timeout=`: a handler still running then
  is cancelled and the client gets 504 `Timeout` (filters/timeout.go and WithRequestDeadline);
  long-running requests are exempt, as upstream (they have their own: a watch's timeoutSeconds).
- Watches per user: not an apiserver flag (upstream relies on priority and fairness); boxk8s caps
  the open watches of one user, so a client that leaks watches cannot exhaust the process.

Long-running is BasicLongRunningRequestCheck's: the verbs watch and proxy, the subresources attach,
exec, proxy, log and portforward. The decision is `plan_admission`, a pure function.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from boxk8s import errors
from boxk8s.api.auth.requestinfo import RequestInfo, info_of
from boxk8s.api.auth.user import REQUEST_USER, SYSTEM_MASTERS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LONG_RUNNING_VERBS = frozenset({"watch", "proxy"})
LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
READ_ONLY_VERBS = frozenset({"get", "list", "watch"})  # maxinflight.go's nonMutatingRequestVerbs
TOO_MANY_REQUESTS = "Too many requests, please try again later.\n"  # http.Error adds the newline
TIMEOUT_MESSAGE = "request did not complete within the allotted timeout"
SWEEP_SECONDS = 0.25


@dataclass(frozen=True)
class ApiLimits:
    max_requests_inflight: int = 400  # --max-requests-inflight (0: no limit)
    max_mutating_requests_inflight: int = 200  # --max-mutating-requests-inflight (0: no limit)
    request_timeout: float = 60.0  # --request-timeout, seconds
    max_watches_per_user: int = 500  # boxk8s's own (0: no limit)


@dataclass(frozen=True)
class Admission:
    """What to do with a request: `kind` is "long-running", "watch" (long-running, counted among
    its user's watches), "readOnly" or "mutating" (counted in flight); `refuse` the reason to
    answer 429 instead ("" to serve it)."""

    kind: str
    refuse: str = ""


def is_long_running(info: RequestInfo) -> bool:
    """BasicLongRunningRequestCheck(["watch", "proxy"], ["attach", "exec", "proxy", "log", "portforward"])."""
    return info.verb in LONG_RUNNING_VERBS or (info.is_resource_request and info.subresource in LONG_RUNNING_SUBRESOURCES)


LONG_RUNNING = Admission("long-running")
WATCH = Admission("watch")
READ_ONLY = Admission("readOnly")
MUTATING = Admission("mutating")


def plan_admission(info: RequestInfo, *, master: bool, read_only: int, mutating: int, watches: int,
                   limits: ApiLimits) -> Admission:
    """Admit or refuse a request, given what is in flight now and the user's open watches."""
    if is_long_running(info):
        if info.verb != "watch":
            return LONG_RUNNING
        cap = limits.max_watches_per_user
        if cap and watches >= cap:
            return Admission("watch", f"too many watches: this user has {watches} open, the limit is {cap}; "
                                      "close some or retry later")
        return WATCH
    if info.verb in READ_ONLY_VERBS:
        admitted, current, limit = READ_ONLY, read_only, limits.max_requests_inflight
    else:
        admitted, current, limit = MUTATING, mutating, limits.max_mutating_requests_inflight
    if limit and current >= limit and not master:  # "a system:master is so powerful that they should always get an answer"
        return Admission(admitted.kind, "inflight")
    return admitted


_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds: `32s`, `1m30s`, `-1.5h`, `0`. ValueError when it does not
    parse, worded as Go words it."""
    body = text[1:] if text[:1] in ("+", "-") else text  # one optional sign, as Go takes it
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        m = _DURATION.match(body, pos)
        if m is None or m.group(1) in ("", "."):
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not body or pos != len(body):
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def request_deadline(query_timeout: str | None, limit: float) -> float:
    """WithRequestDeadline: the request's own `?timeout=` when it is shorter than --request-timeout
    (and positive), else --request-timeout. A timeout that does not parse is a BadRequest."""
    if not query_timeout:
        return limit
    try:
        asked = parse_go_duration(query_timeout)
    except ValueError as e:
        raise errors.BadRequest(f"invalid timeout specified in the request URL - {e}") from e
    return asked if 0 < asked < limit else limit


def too_many_requests() -> web.Response:
    """tooManyRequests (maxinflight.go): http.Error's plain text, Retry-After 1."""
    resp = web.Response(text=TOO_MANY_REQUESTS, status=429, content_type="text/plain", charset="utf-8")
    resp.headers["Retry-After"] = "1"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


class Limiter:
    """The counts the limits are checked against; `middleware()` runs after authentication (it
    needs the user), as WithMaxInFlightLimit does upstream.

    Timeouts: rather than a timer per request, the requests in flight are swept every SWEEP_SECONDS
    and those past their deadline cancelled (a deadline is met within that much)."""

    def __init__(self, limits: ApiLimits | None = None) -> None:
        self.limits = limits or ApiLimits()
        self.read_only = 0
        self.mutating = 0
        self.watches: dict[str, int] = {}
        # the highest counts since the last look (apiserver_current_inflight_requests is a watermark)
        self.watermarks = {"readOnly": 0, "mutating": 0}
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._timed_out: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def take_watermarks(self) -> dict[str, int]:
        marks = dict(self.watermarks)
        self.watermarks = {"readOnly": self.read_only, "mutating": self.mutating}
        return marks

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, deadline in self._deadlines.items():
            if deadline <= now and task not in self._timed_out:
                self._timed_out.add(task)
                task.cancel()
        self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep) if self._deadlines else None

    async def _with_deadline(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        asked = request.query.get("timeout") if "timeout" in request.query_string else None
        self._deadlines[task] = loop.time() + request_deadline(asked, self.limits.request_timeout)
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            if task not in self._timed_out:
                raise
            task.uncancel()
            raise errors.timeout(TIMEOUT_MESSAGE) from None
        finally:
            del self._deadlines[task]
            self._timed_out.discard(task)

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        limits = self.limits

        @web.middleware
        async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
            info = info_of(request)
            user = request.get(REQUEST_USER)
            name = user.name if user is not None else ""
            admission = plan_admission(
                info, master=user is not None and SYSTEM_MASTERS in user.groups, read_only=self.read_only,
                mutating=self.mutating, watches=self.watches.get(name, 0) if self.watches else 0, limits=limits)
            if admission.refuse:
                if admission.kind == "watch":
                    raise errors.TooManyRequests(admission.refuse, retry_after=1)
                return too_many_requests()
            if admission is LONG_RUNNING:
                return await handler(request)
            if admission is WATCH:
                self.watches[name] = self.watches.get(name, 0) + 1
                try:
                    return await handler(request)
                finally:
                    left = self.watches[name] - 1
                    if left:
                        self.watches[name] = left
                    else:
                        del self.watches[name]
            if admission is MUTATING:
                self.mutating += 1
                if self.mutating > self.watermarks["mutating"]:
                    self.watermarks["mutating"] = self.mutating
                try:
                    return await self._with_deadline(request, handler)
                finally:
                    self.mutating -= 1
            self.read_only += 1
            if self.read_only > self.watermarks["readOnly"]:
                self.watermarks["readOnly"] = self.read_only
            try:
                return await self._with_deadline(request, handler)
            finally:
                self.read_only -= 1

        return limit
