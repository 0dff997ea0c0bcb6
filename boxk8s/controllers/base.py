"""What every controller shares: informers from a factory, a workqueue of keys, level-triggered reconcile."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, WorkQueue
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import object_key
from boxk8s.events import EventRecorder
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)


def owner_key(obj: dict[str, Any], kind: str) -> str | None:
    """namespace/name of the controlling owner of `obj` if it is of `kind`."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            ns = obj["metadata"].get("namespace")
            return f"{ns}/{ref['name']}" if ns else ref["name"]
    return None


def split_key(key: str) -> tuple[str | None, str]:
    ns, _, name = key.rpartition("/")
    return (ns or None), name


class Controller:
    """Subclasses set `name`, register informer handlers in __init__, and implement reconcile()."""

    name = "controller"
    workers = 2

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.factory = factory
        self.recorder = recorder or EventRecorder(client, self.name)
        self.queue = WorkQueue(self.name)

    def enqueue(self, obj: dict[str, Any] | None) -> None:
        if obj is not None:
            self.queue.add(object_key(obj))

    def enqueue_owner(self, obj: dict[str, Any] | None, kind: str) -> None:
        if obj is not None:
            key = owner_key(obj, kind)
            if key:
                self.queue.add(key)

    async def write_status(self, rt: ResourceType, obj: dict[str, Any], status: dict[str, Any]) -> None:
        """Merge-patch `status` onto the status subresource when a field differs (gone meanwhile: nothing)."""
        old = obj.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()):
            return
        md = obj["metadata"]
        try:
            await self.client.patch(rt, md.get("namespace"), md["name"], {"status": status}, "merge", "status")
        except errors.NotFound:
            pass

    async def reconcile(self, key: str) -> float | None:
        """Converge one object; return None when done, or seconds after which to look again."""
        raise NotImplementedError

    async def run(self) -> None:
        await self.factory.wait_synced()
        await self.queue.run_workers(self.reconcile, self.workers)


# Builds one controller from its client (named for its field manager) and the shared informers.
ControllerFactory = Callable[[Client, InformerFactory], Controller]
