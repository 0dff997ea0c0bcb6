"""What admission plugins read on every request (policies, bindings, webhook configurations, their
params), decoded once per version and read again only when the store says it changed."""

from __future__ import annotations

from typing import Any

from boxk8s import errors
from boxk8s.resources.admission_plugins import ResourceAccess
from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]


class CachedReads:
    """Objects decoded once per version. A list is re-read when an object under its prefix was
    added, changed or deleted; one object when its head moved (Store.head_revision is a dict look-up)."""

    def __init__(self) -> None:
        self._lists: dict[str, tuple[dict[str, int], list[Obj]]] = {}
        self._objects: dict[str, tuple[int, Obj]] = {}

    async def list(self, api: ResourceAccess, rt: ResourceType, namespace: str | None) -> list[Obj]:
        prefix = rt.key_prefix(namespace)
        cached = self._lists.get(prefix)
        if cached is not None and await api.store.count(prefix) == len(cached[0]) and all(
                api.store.head_revision(key) == revision for key, revision in cached[0].items()):
            return cached[1]
        items, _ = await api.list(rt, namespace)
        revisions = {rt.key(i["metadata"].get("namespace"), i["metadata"]["name"]): int(i["metadata"]["resourceVersion"])
                     for i in items}
        if len(self._lists) > 256:
            self._lists.clear()
        self._lists[prefix] = (revisions, items)
        return items

    async def get(self, api: ResourceAccess, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        key = rt.key(namespace, name)
        revision = api.store.head_revision(key)
        if revision is None:
            return None
        cached = self._objects.get(key)
        if cached is not None and cached[0] == revision:
            return cached[1]
        try:
            obj = await api.get(rt, namespace, name)
        except errors.NotFound:
            return None
        if len(self._objects) > 4096:
            self._objects.clear()
        self._objects[key] = (int(obj["metadata"]["resourceVersion"]), obj)
        return obj
