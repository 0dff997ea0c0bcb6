"""Informers of the kinds CRDs serve, for the controllers that follow every kind (the garbage
collector, the quota controller): started when a kind is served and stopped when it no longer is,
as upstream's GraphBuilder and QuotaMonitor resync their monitors from discovery (syncMonitors);
here on each change of the served kinds rather than every 30 s. Shared like the built-in kinds'
informers (InformerFactory): one watch and one cache per custom kind, whatever the number of
controllers following it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from boxk8s.client.client import Client
from boxk8s.client.informer import Informer
from boxk8s.resources.registry import ResourceType

Started = Callable[[str, ResourceType, Informer], None]
Stopped = Callable[[str, Informer], None]


def plan_custom_kinds(running: Iterable[str], served: Iterable[ResourceType]
                      ) -> tuple[dict[str, ResourceType], set[str]]:
    """Which custom kinds to start watching ("group/plural" → the first served version's type) and
    which to stop, given those watched now and the custom kinds the cluster serves."""
    wanted: dict[str, ResourceType] = {}
    for rt in served:
        if "watch" in rt.verbs:
            wanted.setdefault(f"{rt.group}/{rt.plural}", rt)
    now = set(running)
    return {k: rt for k, rt in wanted.items() if k not in now}, now - set(wanted)


@dataclass
class Subscription:
    """One controller's part: `informers` by "group/plural" of the kinds it accepts; `started(key, rt,
    informer)` before an informer runs (add handlers there), `stopped(key, informer)` after it
    stopped (its cache still holds what it saw)."""

    started: Started
    stopped: Stopped
    accept: Callable[[ResourceType], bool]
    informers: dict[str, Informer] = field(default_factory=dict)

    def start(self, key: str, informer: Informer) -> None:
        if self.accept(informer.rt):
            self.informers[key] = informer
            self.started(key, informer.rt, informer)

    def stop(self, key: str) -> None:
        informer = self.informers.pop(key, None)
        if informer is not None:
            self.stopped(key, informer)


class CustomKindInformers:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.kinds = client.resources.kinds
        self.informers: dict[str, Informer] = {}
        self.subscriptions: list[Subscription] = []
        self._changed = asyncio.Event()
        self.kinds.on_change(self._changed.set)

    def subscribe(self, started: Started, stopped: Stopped = lambda key, informer: None,
                  accept: Callable[[ResourceType], bool] = lambda rt: True) -> Subscription:
        sub = Subscription(started, stopped, accept)
        self.subscriptions.append(sub)
        for key, informer in self.informers.items():
            sub.start(key, informer)
        return sub

    async def run(self) -> None:
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            async with asyncio.TaskGroup() as tg:
                while True:
                    self._changed.clear()
                    start, stop = plan_custom_kinds(self.informers, self.kinds.added())
                    for key, rt in start.items():
                        informer = self.informers[key] = Informer(self.client, rt)
                        for sub in self.subscriptions:
                            sub.start(key, informer)
                        tasks[key] = tg.create_task(informer.run(), name=f"informer-{key}")
                    for key in stop:
                        del self.informers[key]
                        task = tasks.pop(key)
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                        for sub in self.subscriptions:
                            sub.stop(key)
                    await self._changed.wait()
        finally:
            for task in tasks.values():
                task.cancel()
