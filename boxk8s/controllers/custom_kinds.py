"""Informers of the kinds CRDs serve, for the controllers that follow every kind (the garbage
collector, the quota controller): started when a kind is served and stopped when it no longer is,
as upstream's GraphBuilder and QuotaMonitor resync their monitors from discovery (syncMonitors);
here on each change of the served kinds rather than every 30 s."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from boxk8s.client import Client
from boxk8s.client.informer import Informer
from boxk8s.resources.registry import ResourceType


def plan_custom_kinds(running: Iterable[str], served: Iterable[ResourceType],
                      accept: Callable[[ResourceType], bool] = lambda rt: True
                      ) -> tuple[dict[str, ResourceType], set[str]]:
    """Which custom kinds to start watching ("group/plural" → the first served version's type) and
    which to stop, given those watched now and the custom kinds the cluster serves."""
    wanted: dict[str, ResourceType] = {}
    for rt in served:
        if "watch" in rt.verbs and accept(rt):
            wanted.setdefault(f"{rt.group}/{rt.plural}", rt)
    now = set(running)
    return {k: rt for k, rt in wanted.items() if k not in now}, now - set(wanted)


class CustomKindInformers:
    """`informers` by "group/plural"; `started(key, rt, informer)` before an informer runs (add its
    handlers there), `stopped(key, informer)` after it stopped (its cache still holds what it saw)."""

    def __init__(self, client: Client, started: Callable[[str, ResourceType, Informer], None],
                 stopped: Callable[[str, Informer], None] = lambda key, informer: None,
                 accept: Callable[[ResourceType], bool] = lambda rt: True) -> None:
        self.client = client
        self.kinds = client.resources.kinds
        self.informers: dict[str, Informer] = {}
        self._started, self._stopped, self._accept = started, stopped, accept
        self._changed = asyncio.Event()
        self.kinds.on_change(self._changed.set)

    async def run(self) -> None:
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            async with asyncio.TaskGroup() as tg:
                while True:
                    self._changed.clear()
                    start, stop = plan_custom_kinds(self.informers, self.kinds.added(), self._accept)
                    for key, rt in start.items():
                        informer = self.informers[key] = Informer(self.client, rt)
                        self._started(key, rt, informer)
                        tasks[key] = tg.create_task(informer.run(), name=f"informer-{key}")
                    for key in stop:
                        informer, task = self.informers.pop(key), tasks.pop(key)
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                        self._stopped(key, informer)
                    await self._changed.wait()
        finally:
            for task in tasks.values():
                task.cancel()
