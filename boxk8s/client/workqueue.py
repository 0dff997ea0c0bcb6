"""A workqueue with client-go's guarantees.

A key queued many times before it is processed is processed once; one key is never processed
by two workers at once (a key added while it is processed is processed again afterwards);
failures are requeued with per-key exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    base: float = 0.005
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * (2 ** max(failures - 1, 0)))


class WorkQueue:
    def __init__(self, name: str, backoff: Backoff | None = None) -> None:
        self.name = name
        self.backoff = backoff or Backoff()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.adds = 0  # keys added that were not queued already (client-go's workqueue_adds_total)

    def add(self, key: str) -> None:
        if key in self._dirty:
            return
        self.adds += 1
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.put_nowait(key)

    def add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> None:
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        self.add_after(key, self.backoff.delay(failures))

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return self._queue.qsize()

    async def get(self) -> str:
        key = await self._queue.get()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.put_nowait(key)

    async def run_workers(self, reconcile: Callable[[str], Awaitable[float | None]], workers: int = 1) -> None:
        """reconcile(key) returns None when done, or seconds after which to look again; raising requeues."""
        async with asyncio.TaskGroup() as tg:
            for i in range(workers):
                tg.create_task(self._worker(reconcile), name=f"{self.name}-worker-{i}")

    async def _worker(self, reconcile: Callable[[str], Awaitable[float | None]]) -> None:
        while True:
            key = await self.get()
            try:
                after = await reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # level-triggered: the next attempt re-reads everything
                log.warning("%s: reconcile %s failed: %s", self.name, key, e, exc_info=log.isEnabledFor(logging.DEBUG))
                self.add_rate_limited(key)
            else:
                self.forget(key)
                if after is not None:
                    self.add_after(key, after)
            finally:
                self.done(key)
