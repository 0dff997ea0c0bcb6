"""The namespace controller: a deleted namespace empties itself, then goes away."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors
from boxk8s.resources import meta, registry
from boxk8s.resources.layer import Resources

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
NAMESPACES = registry.find("", "v1", "namespaces")
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


class NamespaceController:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.pending: set[str] = set()

    def enqueue(self, name: str) -> None:
        if name not in self.pending:
            self.pending.add(name)
            self.queue.put_nowait(name)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._watch(), name="namespace-controller-watch")
            tg.create_task(self._work(), name="namespace-controller-worker")

    async def _watch(self) -> None:
        assert NAMESPACES is not None
        while True:  # level-triggered: re-list whenever the watch ends
            events = await self.resources.watch(NAMESPACES, None)
            async for _type, ns in events:
                if ns["metadata"].get("deletionTimestamp"):
                    self.enqueue(ns["metadata"]["name"])

    async def _work(self) -> None:
        while True:
            name = await self.queue.get()
            self.pending.discard(name)
            try:
                again = await self.reconcile(name)
            except errors.ApiError as e:
                log.warning("namespace/%s: %s", name, e.message)
                again = True
            if again:
                asyncio.get_running_loop().call_later(RETRY_SECONDS, self.enqueue, name)

    async def reconcile(self, name: str) -> bool:
        """Returns True to requeue."""
        assert NAMESPACES is not None
        try:
            ns = await self.resources.get(NAMESPACES, None, name)
        except errors.NotFound:
            return False
        deleting_since = meta.parse_time(ns["metadata"].get("deletionTimestamp"))
        if deleting_since is None:
            return False
        wait = PURGE_DELAY_SECONDS - (datetime.now(UTC) - deleting_since).total_seconds()
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self.enqueue, name)
            return False
        remaining = await self._delete_content(name)
        finalizers = list((ns.get("spec") or {}).get("finalizers") or [])
        action = plan_namespace_finalize(remaining, finalizers)
        if action == "wait":
            return True
        if action == "finalize":
            body: dict[str, Any] = {
                "metadata": {"name": name, "resourceVersion": ns["metadata"]["resourceVersion"]},
                "spec": {"finalizers": [f for f in finalizers if f != FINALIZER]},
            }
            await self.resources.update(NAMESPACES, None, name, body, subresource="finalize")
        return False

    async def _delete_content(self, namespace: str) -> int:
        remaining = 0
        for rt in registry.RESOURCES:
            if not rt.namespaced:
                continue
            items, _ = await self.resources.list(rt, namespace)
            for item in items:
                if item["metadata"].get("deletionTimestamp"):
                    remaining += 1
                    continue
                try:
                    _obj, gone = await self.resources.delete(rt, namespace, item["metadata"]["name"])
                except errors.NotFound:
                    continue
                remaining += 0 if gone else 1
        return remaining
