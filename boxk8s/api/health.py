"""/healthz, /livez and /readyz, as the apiserver serves them (k8s.io/apiserver/pkg/server/healthz).

Each is a list of named checks. The root path runs them all: `ok`, or with `?verbose` one line per
check (`[+]ping ok`) and `livez check passed`; a failing check makes it a 500 that lists every
check, the failure's reason withheld (`[-]etcd failed: reason withheld`) and logged; `?exclude=NAME`
skips a check (`[+]NAME excluded: ok`). `/livez/NAME` runs one check and says why it fails. The root
paths are open to everyone; the per-check ones need authorization (system:monitoring upstream).

boxk8s's checks are what it has: `ping`; `log` (the log handlers flush); `etcd` (the store is open
and its writer runs); for readiness also `informer-sync` (the shared informers and RBAC's caches
listed), `poststarthook/rbac/bootstrap-roles` (the default ClusterRoles are stored) and `shutdown`
(the server is not stopping).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from boxk8s import errors

log = logging.getLogger(__name__)

CheckFn = Callable[[], str | None]  # None: healthy; else why not


@dataclass(frozen=True)
class Check:
    name: str
    check: CheckFn


def ping() -> str | None:
    return None


def log_flushes() -> str | None:
    """healthz.LogHealthz asks whether klog flushes; here: the root logger's handlers flush."""
    try:
        for handler in logging.getLogger().handlers:
            handler.flush()
    except Exception as e:  # a handler that cannot flush is what the check is for
        return f"logging blocked: {e}"
    return None


def report(name: str, checks: Sequence[Check], excluded: Sequence[str], verbose: bool) -> tuple[int, str]:
    """handleRootHealth: (HTTP status, body) of `/name` over `checks`, as a pure function."""
    skip = set(excluded)
    lines: list[str] = []
    failed: list[str] = []
    for c in checks:
        if c.name in skip:
            skip.discard(c.name)
            lines.append(f"[+]{c.name} excluded: ok\n")
            continue
        problem = c.check()
        if problem is None:
            lines.append(f"[+]{c.name} ok\n")
        else:
            lines.append(f"[-]{c.name} failed: reason withheld\n")
            failed.append(f"[-]{c.name} failed: {problem}")
    if skip:
        names = ",".join(f'"{n}"' for n in sorted(skip))
        lines.append(f"warn: some health checks cannot be excluded: no matches for {names}\n")
    if failed:
        log.info("%s check failed:\n%s", name, "\n".join(failed))
        return 500, "".join(lines) + f"{name} check failed\n"  # http.Error ends it with a newline
    if not verbose:
        return 200, "ok"
    return 200, "".join(lines) + f"{name} check passed\n"


def _text(body: str, status: int = 200) -> web.Response:
    resp = web.Response(text=body, status=status, content_type="text/plain", charset="utf-8")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


class Health:
    """The checks of each health path; `stopping()` (the app's on_shutdown) fails `shutdown`."""

    def __init__(self, live: Sequence[Check], ready: Sequence[Check]) -> None:
        self._stopping = False
        self.paths: dict[str, list[Check]] = {
            "healthz": list(live),
            "livez": list(live),
            "readyz": [*ready, Check("shutdown", self._shutdown)],
        }

    def _shutdown(self) -> str | None:
        return "the server is shutting down" if self._stopping else None

    async def stopping(self, _app: web.Application) -> None:
        self._stopping = True

    def add_routes(self, app: web.Application) -> None:
        app.on_shutdown.append(self.stopping)
        for name, checks in self.paths.items():
            app.router.add_get(f"/{name}", self._root(name, checks))
            app.router.add_get(f"/{name}/{{check:.+}}", self._one(checks))

    @staticmethod
    def _root(name: str, checks: list[Check]) -> Callable[[web.Request], object]:
        async def root(request: web.Request) -> web.Response:
            status, body = report(name, checks, request.query.getall("exclude", []), "verbose" in request.query)
            return _text(body, status)

        return root

    @staticmethod
    def _one(checks: list[Check]) -> Callable[[web.Request], object]:
        by_name = {c.name: c for c in checks}

        async def one(request: web.Request) -> web.Response:
            c = by_name.get(request.match_info["check"])
            if c is None:
                raise errors.NotFound("the server could not find the requested resource")
            problem = c.check()
            if problem is not None:  # adaptCheckToHandler
                return _text(f"internal server error: {problem}\n", 500)
            return _text("ok")

        return one
