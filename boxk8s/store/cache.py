"""The in-memory head of every key: its newest row (revision, create revision, JSON value).

The single writer checks compare-and-swap conditions against it and keeps it exact; reads at the
current revision are served from it without touching SQLite. Tombstones stay (their revision
is the prev_revision of a re-create) until compaction removes them from the table.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator

from .model import Head, prefix_end


class Heads:
    def __init__(self) -> None:
        self._heads: dict[str, Head] = {}
        self._live: list[str] = []  # sorted keys whose head is not a tombstone

    def get(self, key: str) -> Head | None:
        return self._heads.get(key)

    def put(self, key: str, head: Head) -> None:
        old = self._heads.get(key)
        was_live = old is not None and old.value is not None
        self._heads[key] = head
        if head.value is not None and not was_live:
            insort(self._live, key)
        elif head.value is None and was_live:
            del self._live[bisect_left(self._live, key)]

    def drop_tombstones(self, upto: int) -> None:
        """Forget tombstones at or below a compaction point (their rows are gone)."""
        dead = [k for k, h in self._heads.items() if h.value is None and h.revision <= upto]
        for key in dead:
            del self._heads[key]

    def live(self, prefix: str, start_after: str = "") -> Iterator[tuple[str, Head]]:
        """Live keys under a prefix (and after `start_after`, for paging), in key order."""
        start = bisect_left(self._live, prefix)
        if start_after:
            start = max(start, bisect_right(self._live, start_after))
        end_key = prefix_end(prefix)
        stop = len(self._live) if end_key is None else bisect_left(self._live, end_key, lo=start)
        for key in self._live[start:stop]:
            yield key, self._heads[key]

    def count(self, prefix: str) -> int:
        start = bisect_left(self._live, prefix)
        end_key = prefix_end(prefix)
        stop = len(self._live) if end_key is None else bisect_left(self._live, end_key, lo=start)
        return stop - start
