"""The watch hub and watches.

Writers publish committed changes to the hub; the hub hands each watch the changes under its
prefix, without ever blocking: a watch whose bounded buffer is full is closed (its client re-lists,
as Kubernetes clients do). A watch from an old revision first replays rows from the table. It is
registered with the hub in the same synchronous step that reads the current revision, so the
backlog is exactly (since, start] and live changes are exactly (start, ...): no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

from .model import Change, WatchEvent

log = logging.getLogger(__name__)

# Reads one page of history: (after, upto) -> changes in revision order (at most a page).
BacklogReader = Callable[[int, int], Awaitable[list[Change]]]


class Hub:
    def __init__(self) -> None:
        self._watches: set[Watch] = set()

    def subscribe(self, watch: Watch) -> None:
        self._watches.add(watch)

    def unsubscribe(self, watch: Watch) -> None:
        self._watches.discard(watch)

    def publish(self, changes: Sequence[Change]) -> None:
        for watch in list(self._watches):
            watch.offer(changes)

    def close_all(self) -> None:
        for watch in list(self._watches):
            watch.close()

    def __len__(self) -> int:
        return len(self._watches)


class Watch:
    """Async iterator of WatchEvents with revision > since. Ends when closed or when it falls
    behind. Use as `async with store.watch(prefix, since) as w: async for event in w: ...`."""

    def __init__(
        self,
        hub: Hub,
        prefix: str,
        *,
        since: int,
        start: int,
        queue_size: int,
        read_backlog: BacklogReader,
        page_size: int,
        with_prev: bool = True,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self.prefix = prefix
        self._on_overflow = on_overflow
        self._with_prev = with_prev
        self._hub = hub
        self._queue_size = queue_size
        self._read_backlog = read_backlog
        self._page_size = page_size
        self._start = start  # newest revision committed when the watch registered
        self._last = since  # newest revision handed out (or skipped) so far
        self._backlog: deque[Change] = deque()
        self._backlog_done = since >= start
        self._live: deque[Change] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self.overflowed = False
        hub.subscribe(self)

    # -- hub side (synchronous, never blocks the writer) --

    def offer(self, changes: Sequence[Change]) -> None:
        if self._closed:
            return
        prefix = self.prefix
        for change in changes:
            if change.key.startswith(prefix):
                if len(self._live) >= self._queue_size:
                    # The apiserver's cacher does the same to a watcher whose buffer stays full
                    # (cacheWatcher.add: "Forcing ... watcher close due to unresponsiveness").
                    log.warning("watch on %r fell %d events behind; closing it", prefix, self._queue_size)
                    self.overflowed = True
                    self.close()
                    if self._on_overflow is not None:
                        self._on_overflow()
                    return
                self._live.append(change)
                self._wakeup.set()

    # -- consumer side --

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._live.clear()
            self._backlog.clear()
            self._hub.unsubscribe(self)
            self._wakeup.set()

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        return (await self.next_change()).event(self._with_prev)

    async def next_change(self) -> Change:
        """The next change undecoded (for a consumer that wants the JSON text, not a dict);
        raises StopAsyncIteration at the end, as __anext__."""
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._backlog:
                change = self._backlog.popleft()
                self._last = change.revision
                return change
            if not self._backlog_done:
                await self._fill_backlog()
                continue
            if self._live:
                change = self._live.popleft()
                if change.revision <= self._last:
                    continue  # defensive: already replayed
                self._last = change.revision
                return change
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _fill_backlog(self) -> None:
        try:
            page = await self._read_backlog(self._last, self._start)
        except BaseException:
            self.close()
            raise
        if self._closed:
            return
        self._backlog.extend(page)
        if len(page) < self._page_size:
            self._backlog_done = True
            if not page:
                self._last = max(self._last, self._start)

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
