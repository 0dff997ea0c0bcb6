"""The single writer: group commit over one SQLite connection.

Callers enqueue writes and await a future. The writer task takes everything pending, checks each
write's condition in Python against the heads as updated by earlier writes of the same batch
(so one write's conflict fails only that write), appends all rows in one transaction, and only
after COMMIT updates the heads, publishes the changes and resolves the futures. Writes arriving
while a commit is in flight form the next batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .cache import Heads
from .errors import KeyExists, KeyNotFound, RevisionConflict, StoreError, Unreadable
from .model import Change, Head
from .schema import kine, meta
from .transform import PLAIN, ValueTransformer
from .watch import Hub

log = logging.getLogger(__name__)

MAX_BATCH = 1000


@dataclass(slots=True)
class Write:
    kind: str  # "create" | "update" | "delete"
    key: str
    data: str | None  # JSON text (None for delete)
    expected: int | None  # compare-and-swap revision
    future: asyncio.Future[tuple[int, str]] = field(default_factory=asyncio.Future)
    metadata_end: int = -1  # see model.encode_located


@dataclass(slots=True)
class Compaction:
    revision: int
    future: asyncio.Future[int] = field(default_factory=asyncio.Future)


Op = Write | Compaction


def plan(write: Write, head: Head | None, revision: int) -> tuple[dict[str, Any], Head, Change]:
    """The row, new head and change for one write at `revision`, or a StoreError."""
    live = head is not None and head.value is not None
    if write.kind == "create":
        if live:
            raise KeyExists(write.key)
        assert write.data is not None
        prev_revision = head.revision if head is not None else 0
        row = _row(revision, write.key, 1, 0, revision, prev_revision, write.data)
        return row, Head(revision, revision, write.data, metadata_end=write.metadata_end), Change(
            "ADDED", write.key, revision, write.data, prev_revision, None, write.metadata_end
        )
    if not live:
        raise KeyNotFound(write.key)
    assert head is not None and head.value is not None
    if head.unreadable is not None:  # what it holds is unknown: neither rewritten nor given as prev
        raise Unreadable(write.key, head.unreadable)
    if write.expected is not None and write.expected != head.revision:
        raise RevisionConflict(
            f"{write.key}: expected revision {write.expected}, current {head.revision}"
        )
    if write.kind == "update":
        assert write.data is not None
        row = _row(revision, write.key, 0, 0, head.create_revision, head.revision, write.data)
        return row, Head(revision, head.create_revision, write.data, metadata_end=write.metadata_end), Change(
            "MODIFIED", write.key, revision, write.data, head.revision, head.value, write.metadata_end
        )
    # delete: the tombstone carries the last value, so a replayed DELETED event has it
    row = _row(revision, write.key, 0, 1, head.create_revision, head.revision, head.value)
    return row, Head(revision, head.create_revision, None), Change(
        "DELETED", write.key, revision, head.value, head.revision, head.value, head.metadata_end
    )


def _row(
    id_: int, name: str, created: int, deleted: int, create_rev: int, prev_rev: int, value: str
) -> dict[str, Any]:
    return {
        "id": id_,
        "name": name,
        "created": created,
        "deleted": deleted,
        "create_revision": create_rev,
        "prev_revision": prev_rev,
        "value": value,
    }


class Writer:
    def __init__(
        self, conn: AsyncConnection, heads: Heads, hub: Hub, revision: int, compacted: int,
        transformer: ValueTransformer = PLAIN,
    ) -> None:
        self._conn = conn
        self._transformer = transformer  # rows only: heads and changes keep the JSON text
        self._heads = heads
        self._hub = hub
        self.revision = revision  # newest committed revision
        self.compact_revision = compacted  # committed compaction point
        self.compact_floor = compacted  # includes a compaction in flight: readers check this
        self._pending: deque[Op] = deque()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self.running = False  # run() is taking writes

    def submit(self, op: Op) -> None:
        if self._stopping:
            raise StoreError("store is closed")
        self._pending.append(op)
        self._wakeup.set()

    def stop(self) -> None:
        """Finish what is pending, then end run()."""
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        self.running = True
        try:
            await self._loop()
        finally:  # a crash (or cancellation) must not leave callers awaiting forever
            self.running = False
            self._stopping = True
            while self._pending:
                _fail(self._pending.popleft().future, StoreError("store writer stopped"))

    async def _loop(self) -> None:
        while True:
            if not self._pending:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            first = self._pending.popleft()
            if isinstance(first, Compaction):
                await self._compact(first)
                continue
            batch = [first]
            while self._pending and len(batch) < MAX_BATCH and isinstance(self._pending[0], Write):
                batch.append(self._pending.popleft())  # type: ignore[arg-type]
            await self._write(batch)

    async def _write(self, batch: list[Write]) -> None:
        try:
            await self._commit(batch)
        except Exception as exc:  # the transaction rolled back: retry one by one so that
            if len(batch) == 1:  # only the write at fault fails
                _fail(batch[0].future, _translate(exc))
                return
            log.warning("batch of %d writes failed (%s); retrying one by one", len(batch), exc)
            for write in batch:
                try:
                    await self._commit([write])
                except Exception as one:
                    _fail(write.future, _translate(one))

    async def _commit(self, batch: list[Write]) -> None:
        overlay: dict[str, Head] = {}
        rows: list[dict[str, Any]] = []
        changes: list[Change] = []
        outcomes: list[tuple[Write, StoreError | None]] = []
        revision = self.revision
        for write in batch:
            if write.future.done():  # the caller gave up before we started: not written
                continue
            head = overlay.get(write.key) or self._heads.get(write.key)
            try:
                row, new_head, change = plan(write, head, revision + 1)
            except StoreError as exc:
                outcomes.append((write, exc))
                continue
            revision += 1
            row["value"] = self._transformer.to_storage(write.key, row["value"])
            rows.append(row)
            overlay[write.key] = new_head
            changes.append(change)
            outcomes.append((write, None))
        if rows:
            async with self._conn.begin():
                await self._conn.execute(insert(kine), rows)
        # committed (fsynced): make it visible, acknowledge, publish. All in one synchronous
        # step, so no task sees one without the others; acknowledging first only means that
        # writers resume before watchers: a component holding the result of its own write
        # then recognises the echo of it (a kubelet's worker need not sync again for it).
        for key, head in overlay.items():
            self._heads.put(key, head)
        self.revision = revision
        applied = iter(changes)
        for write, error in outcomes:
            if error is not None:
                _fail(write.future, error)
            else:
                change = next(applied)
                if not write.future.done():
                    write.future.set_result((change.revision, change.value))
        self._hub.publish(changes)

    async def _compact(self, op: Compaction) -> None:
        target = min(op.revision, self.revision)
        if target <= self.compact_revision:
            _resolve(op.future, self.compact_revision)
            return
        self.compact_floor = target  # readers at older revisions fail from now on
        try:
            async with self._conn.begin():
                result = await self._conn.execute(schema.compaction_delete(target))
                await self._conn.execute(meta.delete().where(meta.c.name == schema.COMPACT_REVISION))
                await self._conn.execute(
                    insert(meta).values(name=schema.COMPACT_REVISION, value=target)
                )
        except Exception as exc:
            self.compact_floor = self.compact_revision
            _fail(op.future, exc)
            return
        self.compact_revision = target
        self._heads.drop_tombstones(target)
        log.info("compacted at revision %d, removed %d rows", target, result.rowcount)
        _resolve(op.future, target)


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, IntegrityError):  # the UNIQUE (name, prev_revision) guard fired
        conflict = RevisionConflict(str(exc.orig))
        conflict.__cause__ = exc
        return conflict
    return exc


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
