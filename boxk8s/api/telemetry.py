"""/metrics: the apiserver's own metrics, in Prometheus text format.

Names and labels as upstream's (k8s.io/apiserver/pkg/endpoints/metrics/metrics.go, client-go's
workqueue metrics):
- apiserver_request_total{verb,dry_run,group,version,resource,subresource,scope,component,code}
- apiserver_request_duration_seconds{verb,dry_run,group,version,resource,subresource,scope,component}
  (upstream's buckets, 5 ms to 60 s; a watch counts when it ends, as upstream)
- apiserver_longrunning_requests{verb,group,version,resource,subresource,scope,component}
- apiserver_current_inflight_requests{request_kind}: the highest count since the last scrape
  (upstream: in the last second)
- apiserver_storage_objects{resource}: objects stored per resource (`pods`, `deployments.apps`)
- workqueue_depth{name}, workqueue_adds_total{name}: the controllers' and the scheduler's queues
- process_* and python_* (prometheus_client's process, platform and GC collectors)

Requests are counted as MonitorRequest labels them: resource requests of served kinds, and the
health paths (/healthz, /livez, /readyz: subresource the path, component empty). The request path
keeps plain counts in dicts (a few µs per request); prometheus_client (about 17 ms to import) is
imported at the first scrape, and each app has its own registry, not the process-global one.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from aiohttp import web

from boxk8s.api.auth.requestinfo import RequestInfo, info_of
from boxk8s.api.limits import Limiter, is_long_running
from boxk8s.client.workqueue import WorkQueue
from boxk8s.resources import conversion
from boxk8s.resources.kinds import Kinds
from boxk8s.store import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# requestLatencies' buckets (metrics.go)
BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0,
           15.0, 20.0, 30.0, 45.0, 60.0)
VALID_VERBS = frozenset({"APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH", "POST",
                         "PROXY", "PUT", "UPDATE", "WATCH", "WATCHLIST"})
CONNECT_SUBRESOURCES = frozenset({"log", "exec", "portforward", "attach", "proxy"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format the apiserver serves
HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
APPLY_PATCH = "application/apply-patch+yaml"
REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
LONG_RUNNING_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")

Labels = tuple[str, str, str, str, str, str, str, str]  # REQUEST_LABELS' values


def clean_scope(info: RequestInfo) -> str:
    """CleanScope."""
    if info.name or info.verb == "create":
        return "resource"
    if info.namespace:
        return "namespace"
    return "cluster" if info.is_resource_request else ""


def reported_verb(info: RequestInfo, method: str, scope: str, content_type: str) -> str:
    """cleanVerb(CanonicalVerb(method, scope), …): LIST for a GET of a collection, WATCH, APPLY for
    a server-side apply, CONNECT for the streaming subresources; other methods as they are."""
    verb = method.upper()
    if verb in ("GET", "HEAD"):
        verb = "LIST" if scope not in ("resource", "") else "GET"
    if info.verb == "watch":
        verb = "WATCH"
    elif verb == "PATCH" and content_type == APPLY_PATCH:
        verb = "APPLY"
    if info.is_resource_request and info.subresource in CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    return verb if verb in VALID_VERBS else "other"


def dry_run_label(values: list[str]) -> str:
    """cleanDryRun: the sorted, deduplicated values ("All"), "invalid" if any is not "All"."""
    if not values:
        return ""
    if any(v != "All" for v in values):
        return "invalid"
    return ",".join(sorted(set(values)))


def request_labels(info: RequestInfo, request: web.Request, kinds: Kinds) -> Labels | None:
    """The labels a request is counted under, or None when upstream would not count it (a path no
    served kind has, discovery and other non-resource paths but the health ones)."""
    if not info.is_resource_request:
        if info.path in HEALTH_PATHS:
            return ("GET", "", "", "", "", info.path, "", "")
        return None
    rt = kinds.find(info.api_group, info.api_version, info.resource)
    if rt is None or (info.subresource and info.subresource not in rt.subresources):
        return None
    scope = clean_scope(info)
    # the raw query string first, as cleanDryRun does: most requests carry none, and parse nothing
    dry_run = dry_run_label(request.query.getall("dryRun", [])) if "dryRun" in request.query_string else ""
    verb = reported_verb(info, request.method, scope, request.content_type if request.method == "PATCH" else "")
    return (verb, dry_run, info.api_group, info.api_version, info.resource, info.subresource, scope, "apiserver")


class _Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative; the last is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, n in zip((*map(str, BUCKETS), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


class Telemetry:
    """The counts behind /metrics, the middleware that keeps them, and the /metrics handler."""

    def __init__(self, kinds: Kinds, store: Store, limiter: Limiter,
                 workqueues: Callable[[], Iterable[WorkQueue]] | None = None) -> None:
        self.kinds = kinds
        self.store = store
        self.limiter = limiter
        self.workqueues = workqueues or (lambda: ())
        self.requests: dict[tuple[str, ...], int] = {}
        self.durations: dict[Labels, _Histogram] = {}
        self.longrunning: dict[tuple[str, ...], int] = {}
        self._registry: Any = None

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        kinds = self.kinds

        @web.middleware
        async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
            info = info_of(request)
            labels = request_labels(info, request, kinds)
            if labels is None:
                return await handler(request)
            long_key = None
            if is_long_running(info):
                long_key = (labels[0], *labels[2:])
                self.longrunning[long_key] = self.longrunning.get(long_key, 0) + 1
            start = time.perf_counter()
            code = 0
            try:
                resp = await handler(request)
                code = resp.status
                return resp
            except web.HTTPException as e:
                code = e.status
                raise
            finally:
                if long_key is not None:
                    self.longrunning[long_key] -= 1
                if code:
                    key = (*labels, str(code))
                    self.requests[key] = self.requests.get(key, 0) + 1
                    hist = self.durations.get(labels)
                    if hist is None:
                        hist = self.durations[labels] = _Histogram()
                    hist.observe(time.perf_counter() - start)

        return observe

    def storage_objects(self) -> dict[str, int]:
        """apiserver_storage_objects: stored objects per group-resource."""
        out: dict[str, int] = {}
        for rt in self.kinds.all():
            stored = conversion.storage_type(rt)
            label = f"{stored.plural}.{stored.group}" if stored.group else stored.plural
            if label not in out:
                out[label] = self.store.count_live(stored.key_prefix())
        return out

    def collect(self) -> Iterator[Any]:
        """The metric families (a prometheus_client collector's `collect`)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        total = CounterMetricFamily(
            "apiserver_request_total", "Counter of apiserver requests broken out for each verb, dry run value, "
            "group, version, resource, scope, component, and HTTP response code.", labels=(*REQUEST_LABELS, "code"))
        for key, n in sorted(self.requests.items()):
            total.add_metric(key, n)
        yield total
        duration = HistogramMetricFamily(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, dry run "
            "value, group, version, resource, subresource, scope and component.", labels=REQUEST_LABELS)
        for labels, hist in sorted(self.durations.items()):
            duration.add_metric(labels, hist.cumulative(), hist.total)
        yield duration
        longrunning = GaugeMetricFamily(
            "apiserver_longrunning_requests", "Gauge of all active long-running apiserver requests broken out by "
            "verb, group, version, resource, scope and component. Not all requests are tracked this way.",
            labels=LONG_RUNNING_LABELS)
        for key, n in sorted(self.longrunning.items()):
            longrunning.add_metric(key, n)
        yield longrunning
        inflight = GaugeMetricFamily(
            "apiserver_current_inflight_requests", "Maximal number of currently used inflight request limit of "
            "this apiserver per request kind in last second.", labels=("request_kind",))
        for kind, n in self.limiter.take_watermarks().items():
            inflight.add_metric((kind,), n)
        yield inflight
        objects = GaugeMetricFamily("apiserver_storage_objects", "Number of stored objects at the time of last "
                                    "check split by kind.", labels=("resource",))
        for resource, n in sorted(self.storage_objects().items()):
            objects.add_metric((resource,), n)
        yield objects
        depth = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue", labels=("name",))
        adds = CounterMetricFamily("workqueue_adds_total", "Total number of adds handled by workqueue",
                                   labels=("name",))
        for queue in self.workqueues():
            depth.add_metric((queue.name,), len(queue))
            adds.add_metric((queue.name,), queue.adds)
        yield depth
        yield adds

    def exposition(self) -> tuple[bytes, str]:
        """(body, content type) of a scrape. The registry is this app's own, made at the first one."""
        from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
        from prometheus_client.exposition import generate_latest

        if self._registry is None:
            registry = CollectorRegistry(auto_describe=False)
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
            registry.register(self)  # type: ignore[arg-type]
            self._registry = registry
        return generate_latest(self._registry), CONTENT_TYPE

    async def handle(self, _request: web.Request) -> web.Response:
        body, content_type = self.exposition()
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = content_type
        return resp
