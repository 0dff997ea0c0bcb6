"""An EventRecorder like client-go's: core/v1 Events, aggregated the way Kubernetes aggregates them.

client-go's EventCorrelator, step by step:
- similar events (same source, object, type and reason; any message) are aggregated once ten
  different messages were seen within ten minutes: the next ones become one Event whose message is
  "(combined from similar events): <latest message>" (a ReplicaSet creating 100 pods records nine
  "Created pod" Events and one combined one, as on a real cluster);
- the same event seen again within ten minutes bumps `count` and `lastTimestamp` of the Event
  already written instead of writing a new one (eventLogger);
- a source may write 25 Events about one object in a burst, then one every five minutes
  (EventSourceObjectSpamFilter): the rest are dropped.
Recording never raises into the caller: an event is a courtesy, the work it describes has
already happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.resources.meta import format_timestamp

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"
AGGREGATE_WINDOW_SECONDS = 600.0  # client-go's defaultAggregateIntervalInSeconds
CACHE_SIZE = 4096  # client-go's maxLruCacheEntries
AGGREGATE_MAX_EVENTS = 10  # client-go's defaultAggregateMaxEvents
SPAM_BURST = 25  # client-go's defaultSpamBurst: events a source may write about an object at once...
SPAM_QPS = 1.0 / 300.0  # ...then one every five minutes (defaultSpamQPS)
COMBINED = "(combined from similar events): "


@dataclass
class _Seen:
    namespace: str
    name: str
    count: int
    last: float  # clock seconds
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Bucket:
    tokens: float
    last: float


@dataclass
class _Similar:
    messages: set[str]
    last: float


class EventCorrelator:
    """The spam filter and the aggregation of client-go's EventCorrelator, over an injected clock
    reading; pure bookkeeping (the recorder does the writes and the counting)."""

    def __init__(self) -> None:
        self._buckets: OrderedDict[tuple[str, ...], _Bucket] = OrderedDict()
        self._similar: OrderedDict[tuple[str, ...], _Similar] = OrderedDict()

    def allow(self, source: tuple[str, ...], now: float) -> bool:
        """A token from the (source, object)'s bucket, if one is left."""
        bucket = self._buckets.pop(source, None) or _Bucket(float(SPAM_BURST), now)
        bucket.tokens = min(float(SPAM_BURST), bucket.tokens + (now - bucket.last) * SPAM_QPS)
        bucket.last = now
        self._buckets[source] = bucket
        _trim(self._buckets)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def aggregate(self, similar: tuple[str, ...], message: str, now: float) -> bool:
        """Whether this event joins the combined Event of its similar ones (EventAggregate)."""
        record = self._similar.pop(similar, None)
        if record is None or now - record.last > AGGREGATE_WINDOW_SECONDS:
            record = _Similar(set(), now)
        record.messages.add(message)
        record.last = now
        self._similar[similar] = record
        _trim(self._similar)
        if len(record.messages) < AGGREGATE_MAX_EVENTS:
            return False
        record.messages.pop()  # as upstream: the set stays just under the threshold
        return True


def _trim(cache: OrderedDict[Any, Any]) -> None:
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


def involved_object(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind", ""),
        "namespace": md.get("namespace", ""),
        "name": md.get("name", ""),
        "uid": md.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": md.get("resourceVersion", ""),
    }
    if obj.get("fieldPath"):
        ref["fieldPath"] = obj["fieldPath"]
    return {k: v for k, v in ref.items() if v != ""}


class EventRecorder:
    def __init__(self, client: Client, component: str, host: str = "", *,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.clock = clock
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self.correlator = EventCorrelator()

    def _source(self, ref: dict[str, Any]) -> tuple[str, ...]:
        return (self.component, self.host, ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
                ref.get("uid", ""), ref.get("apiVersion", ""))

    async def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        try:
            await self._record(obj, type_, reason, message)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never into the caller
            md = obj.get("metadata") or {}
            log.warning("event %s for %s/%s/%s not recorded: %s", reason, obj.get("kind"),
                        md.get("namespace", ""), md.get("name"), getattr(e, "message", e))

    async def _record(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        ref = involved_object(obj)
        now = self.clock()
        source = self._source(ref)
        if not self.correlator.allow(source, now):
            return
        if self.correlator.aggregate((*source, type_, reason), message, now):
            message = COMBINED + message
            key = (*source, type_, reason, COMBINED)  # one combined Event, whatever its latest message
        else:
            key = (*source, type_, reason, message)
        seen = self._seen.get(key)
        if seen is not None and now - seen.last <= AGGREGATE_WINDOW_SECONDS:
            self._seen.move_to_end(key)
            async with seen.lock:
                seen.count += 1
                seen.last = now
                try:
                    await self.client.patch(Kind.EVENT, seen.namespace, seen.name,
                                            {"count": seen.count, "lastTimestamp": format_timestamp(now), "message": message})
                    return
                except errors.NotFound:
                    pass  # deleted (TTL, or by hand): write a fresh one
        namespace = ref.get("namespace") or "default"
        name = f"{ref.get('name', 'unknown')}.{time.time_ns():x}"
        ts = format_timestamp(now)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        self._seen[key] = _Seen(namespace, name, 1, now)
        self._seen.move_to_end(key)
        while len(self._seen) > CACHE_SIZE:
            self._seen.popitem(last=False)
        await self.client.create(Kind.EVENT, namespace, body)
