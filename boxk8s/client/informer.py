"""Informers: a watch-fed cache per kind that re-lists when its watch ends or expires."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from boxk8s import errors
from boxk8s.client.client import Client
from boxk8s.resources.layer import Predicate
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]  # (type, old, new)


def pod_node_name(obj: dict[str, Any]) -> str:
    """The node a pod is bound to ("" when unbound): the key of kubelets' views and of NODE_INDEX."""
    return (obj.get("spec") or {}).get("nodeName") or ""


NODE_INDEX = "spec.nodeName"


def node_index(obj: dict[str, Any]) -> list[str]:
    node = pod_node_name(obj)
    return [node] if node else []


def object_key(obj: Mapping[str, Any]) -> str:
    """client-go's cache.MetaNamespaceKeyFunc: `namespace/name`, or `name` for cluster-scoped objects."""
    md = obj["metadata"]
    return f"{md['namespace']}/{md['name']}" if md.get("namespace") else md["name"]


class _Cache:
    """What an informer and a view of one share: objects by key, and handlers called on each change."""

    def __init__(self, plural: str) -> None:
        self.plural = plural  # names the kind in logs
        self.cache: dict[str, dict[str, Any]] = {}
        self.handlers: list[Handler] = []

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.cache.get(key)

    def list(self) -> list[dict[str, Any]]:
        return list(self.cache.values())

    def _emit(self, kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for h in self.handlers:
            try:
                h(kind, old, new)
            except Exception:  # a handler bug must not stop the informer
                log.exception("informer handler failed for %s", self.plural)


class Informer(_Cache):
    """Keeps `cache` equal to the stored objects of one kind (optionally filtered).

    Handlers are called synchronously with (event type, old, new) — they should only enqueue keys.
    """

    def __init__(self, client: Client, rt: ResourceType, namespace: str | None = None, *,
                 label: Predicate | None = None, field: Predicate | None = None) -> None:
        super().__init__(rt.plural)
        self.client = client
        self.rt = rt
        self.namespace = namespace
        self.label = label
        self.field = field
        self.synced = asyncio.Event()
        self.resource_version = ""
        # client-go's Indexers: name → function giving an object's index values; and the index.
        self._index_fns: dict[str, Callable[[dict[str, Any]], list[str]]] = {}
        self._indexes: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.routers: dict[Callable[[dict[str, Any]], str], _Router] = {}  # of FilteredViews

    def add_index(self, name: str, fn: Callable[[dict[str, Any]], list[str]]) -> None:
        """Index the cache by `fn(obj)` values (adding the same name twice keeps the first)."""
        if name in self._index_fns:
            return
        self._index_fns[name] = fn
        index: dict[str, dict[str, dict[str, Any]]] = {}
        for key, obj in self.cache.items():
            for value in fn(obj):
                index.setdefault(value, {})[key] = obj
        self._indexes[name] = index

    def by_index(self, name: str, value: str) -> list[dict[str, Any]]:
        return list(self._indexes[name].get(value, {}).values())

    def _index_remove(self, key: str, obj: dict[str, Any]) -> None:
        for name, fn in self._index_fns.items():
            index = self._indexes[name]
            for value in fn(obj):
                bucket = index.get(value)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del index[value]

    def _index_add(self, key: str, obj: dict[str, Any]) -> None:
        for name, fn in self._index_fns.items():
            for value in fn(obj):
                self._indexes[name].setdefault(value, {})[key] = obj


    async def _relist(self) -> None:
        items, rv = await self.client.list_with_revision(self.rt, self.namespace)
        fresh = {}
        for item in items:
            if self.label and not self.label(item["metadata"].get("labels") or {}):
                continue
            if self.field and not self.field(item):
                continue
            fresh[object_key(item)] = item
        old = self.cache
        self.cache = fresh
        for name in self._index_fns:
            self._indexes[name] = {}
        for key, obj in fresh.items():
            self._index_add(key, obj)
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._emit("ADDED", None, obj)
            elif before["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._emit("MODIFIED", before, obj)
        for key, obj in old.items():
            if key not in fresh:
                self._emit("DELETED", obj, None)
        self.resource_version = rv
        self.synced.set()

    async def run(self) -> None:
        while True:
            try:
                await self._relist()
                events = await self.client.watch(
                    self.rt, self.namespace, self.resource_version, label=self.label, field=self.field
                )
                async for kind, obj in events:
                    self._apply(kind, obj)
            except errors.Expired:
                continue  # re-list from the current state
            except errors.ApiError as e:
                log.warning("informer %s: %s; re-listing", self.rt.plural, e.message)
                await asyncio.sleep(0.5)

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        key = object_key(obj)
        self.resource_version = obj["metadata"].get("resourceVersion", self.resource_version)
        if kind == "DELETED":
            old = self.cache.pop(key, None)
            if old is not None:
                self._index_remove(key, old)
            self._emit("DELETED", old, None)
        elif kind in ("ADDED", "MODIFIED"):
            old = self.cache.get(key)
            if old is not None:
                self._index_remove(key, old)
            self.cache[key] = obj
            self._index_add(key, obj)
            self._emit("MODIFIED" if old is not None else "ADDED", old, obj)


class FilteredView(_Cache):
    """The part of a shared informer's cache that matches a predicate, with the same events a
    watch with that selection would give (moving in is ADDED, moving out is DELETED).

    Many kubelets share one pod informer this way instead of each decoding every pod event.
    The shared informer is run by its owner; `run()` here only waits.
    """

    def __init__(self, informer: Informer, predicate: Callable[[dict[str, Any]], bool], *,
                 route: tuple[Callable[[dict[str, Any]], str], str] | None = None) -> None:
        """`route=(fn, value)` says the predicate is `fn(obj) == value`: views sharing `fn` are then
        handed only the events whose old or new object routes to them (one `fn` call per event for
        all of them, instead of one predicate call per view)."""
        super().__init__(informer.rt.plural)
        self.informer = informer
        self.predicate = predicate
        self.cache = {key: obj for key, obj in informer.cache.items() if predicate(obj)}
        if route is None:
            informer.add_handler(self._on_event)
        else:
            _Router.of(informer, route[0]).add(route[1], self)

    @property
    def synced(self) -> asyncio.Event:
        return self.informer.synced

    async def run(self) -> None:
        await asyncio.Event().wait()

    def _on_event(self, _kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        was = old is not None and self.predicate(old)
        now = new is not None and self.predicate(new)
        if now:
            assert new is not None
            self.cache[object_key(new)] = new
            self._emit("MODIFIED" if was else "ADDED", old if was else None, new)
        elif was:
            assert old is not None
            self.cache.pop(object_key(old), None)
            self._emit("DELETED", old, None)


class _Router:
    """One informer handler dispatching each event to the views whose route value it touches."""

    def __init__(self, fn: Callable[[dict[str, Any]], str]) -> None:
        self.fn = fn
        self.views: dict[str, list[FilteredView]] = {}

    @classmethod
    def of(cls, informer: Informer, fn: Callable[[dict[str, Any]], str]) -> _Router:
        router = informer.routers.get(fn)
        if router is None:
            router = informer.routers[fn] = cls(fn)
            informer.add_handler(router.on_event)
        return router

    def add(self, value: str, view: FilteredView) -> None:
        self.views.setdefault(value, []).append(view)

    def on_event(self, kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        a = self.fn(old) if old is not None else None
        b = self.fn(new) if new is not None else None
        for value in (a, b) if a != b else (a,):
            for view in self.views.get(value, ()) if value is not None else ():
                view._on_event(kind, old, new)
