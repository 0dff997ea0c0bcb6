"""An EventRecorder like client-go's: core/v1 Events, aggregated the way Kubernetes aggregates them.

The same (involved object, reason, message, type, source) seen again within ten minutes bumps
`count` and `lastTimestamp` of the Event already written instead of writing a new one (client-go's
EventCorrelator/eventLogger). Recording never raises into the caller: an event is a courtesy,
the work it describes has already happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"
AGGREGATE_WINDOW_SECONDS = 600.0  # client-go's defaultAggregateIntervalInSeconds
CACHE_SIZE = 4096  # client-go's maxLruCacheEntries


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Seen:
    namespace: str
    name: str
    count: int
    last: float  # clock seconds
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


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

    def _key(self, ref: dict[str, Any], type_: str, reason: str, message: str) -> tuple[str, ...]:
        return (self.component, self.host, ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
                ref.get("uid", ""), ref.get("apiVersion", ""), type_, reason, message)

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
        key = self._key(ref, type_, reason, message)
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen.last <= AGGREGATE_WINDOW_SECONDS:
            self._seen.move_to_end(key)
            async with seen.lock:
                seen.count += 1
                seen.last = now
                try:
                    await self.client.patch(Kind.EVENT, seen.namespace, seen.name,
                                            {"count": seen.count, "lastTimestamp": _rfc3339(now)})
                    return
                except errors.NotFound:
                    pass  # deleted (TTL, or by hand): write a fresh one
        namespace = ref.get("namespace") or "default"
        name = f"{ref.get('name', 'unknown')}.{time.time_ns():x}"
        ts = _rfc3339(now)
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
