"""The namespace controller: a deleted namespace empties itself, then goes away."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.controllers.base import Controller
from boxk8s.events import EventRecorder
from boxk8s.resources import meta

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
RETRY_SECONDS = 1.0
# Content is purged this long after the namespace is marked for deletion. The real controller
# needs a discovery pass first; without a pause we would race `kubectl delete -f` of a file that
# lists the Namespace first and then its objects (kubectl would print NotFound for each).
PURGE_DELAY_SECONDS = 2.0


def plan_namespace_finalize(remaining: int, finalizers: list[str]) -> str:
    """What to do with a terminating namespace: "wait" for content to go, "finalize", or "done"."""
    if FINALIZER not in finalizers:
        return "done"
    return "wait" if remaining else "finalize"


class NamespaceController(Controller):
    """Purges a terminating namespace's content, then removes the `kubernetes` finalizer.

    Upstream: pkg/controller/namespace (NamespaceController.syncNamespaceFromKey and
    namespacedResourcesDeleter.Delete), which also runs on an informer and a rate-limited queue.
    """

    name = "namespace-controller"
    workers = 1

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.NAMESPACE is not None
        self.clock = clock
        self.namespaces = factory.informer(Kind.NAMESPACE)
        self.namespaces.add_handler(self._on_namespace)

    def _on_namespace(self, _kind: str, _old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None and new["metadata"].get("deletionTimestamp"):
            self.enqueue(new)

    async def reconcile(self, key: str) -> float | None:
        """None when done; seconds after which to look again while content remains."""
        assert Kind.NAMESPACE is not None
        try:
            ns = await self.client.get(Kind.NAMESPACE, None, key)
        except errors.NotFound:
            return None
        deleting_since = meta.parse_time(ns["metadata"].get("deletionTimestamp"))
        if deleting_since is None:
            return None
        wait = PURGE_DELAY_SECONDS - (self.clock() - deleting_since).total_seconds()
        if wait > 0:
            return wait
        remaining = await self._delete_content(key)
        finalizers = list((ns.get("spec") or {}).get("finalizers") or [])
        action = plan_namespace_finalize(remaining, finalizers)
        if action == "wait":
            return RETRY_SECONDS
        if action == "finalize":
            body: dict[str, Any] = {
                "metadata": {"name": key, "resourceVersion": ns["metadata"]["resourceVersion"]},
                "spec": {"finalizers": [f for f in finalizers if f != FINALIZER]},
            }
            await self.client.update(Kind.NAMESPACE, body, subresource="finalize")
        return None

    async def _delete_content(self, namespace: str) -> int:
        remaining = 0
        for rt in self.client.resources.kinds.all():  # custom resources too
            if not rt.namespaced:
                continue
            for item in await self.client.list(rt, namespace):
                if item["metadata"].get("deletionTimestamp"):
                    remaining += 1
                    continue
                try:
                    _obj, gone = await self.client.delete(rt, namespace, item["metadata"]["name"])
                except errors.NotFound:
                    continue
                remaining += 0 if gone else 1
        return remaining
