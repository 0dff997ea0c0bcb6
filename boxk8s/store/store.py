"""Store: the etcd role of boxk8s, modelled on kine (the SQLite shim behind k3s).

Writes go through the single group-committing writer (writer.py); reads at the current revision
come from the in-memory heads, reads at past revisions and watch backlogs from SQLite through a
small pool of reader connections (WAL lets them run beside the writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import schema
from .cache import Heads
from .errors import Compacted, KeyNotFound, RequestTooLarge, StoreError, Unreadable
from .model import Change, Head, StoreSettings, decode, encode_located, prefix_end, render
from .transform import PLAIN, Plain, TransformError, ValueTransformer
from .watch import Hub, Watch
from .writer import Compaction, Write, Writer

log = logging.getLogger(__name__)

BACKLOG_PAGE = 500
READERS = 2
# etcd's default --max-request-bytes (embed.DefaultMaxRequestBytes, 1.5 MiB): the largest put it
# takes. Here it bounds the key and the stored JSON text, in UTF-8 bytes.
MAX_REQUEST_BYTES = 1536 * 1024


def _encode_checked(key: str, value: dict[str, Any]) -> tuple[str, int]:
    data, metadata_end = encode_located(value)
    size = len(key) + (len(data) if data.isascii() else len(data.encode()))
    if size > MAX_REQUEST_BYTES:
        raise RequestTooLarge(size, MAX_REQUEST_BYTES)
    return data, metadata_end


class Store:
    def __init__(
        self,
        settings: StoreSettings,
        engine: AsyncEngine,
        readers: AsyncEngine,
        conn: AsyncConnection,
        writer: Writer,
        heads: Heads,
        hub: Hub,
        transformer: ValueTransformer = PLAIN,
    ) -> None:
        self.settings = settings
        self._transformer = transformer
        self._engine = engine
        self._readers = readers
        self._conn = conn
        self._writer = writer
        self._heads = heads
        self._hub = hub
        self._standalone: asyncio.Task[None] | None = None  # run() of a store opened without a supervisor
        self._closed = False

    @classmethod
    async def open(cls, settings: StoreSettings, transformer: ValueTransformer = PLAIN) -> Store:
        """Open (creating if needed) the store file and load the head of every key.

        `transformer` turns values into rows and back (encryption at rest, store/encryption/);
        a row it cannot read back makes its key unreadable (Unreadable), not the store."""
        settings.path.parent.mkdir(parents=True, exist_ok=True)
        engine = schema.make_engine(settings.path, pool_size=1, secure_delete=not isinstance(transformer, Plain))
        conn = await engine.connect()
        try:
            await schema.create_schema(conn)
            await conn.commit()
            heads = Heads()
            unreadable: list[str] = []
            for row in (await conn.execute(schema.heads_query())).all():
                head = _head(transformer, row)
                if head.unreadable is not None:
                    unreadable.append(row.name)
                heads.put(row.name, head)
            if unreadable:
                log.error("%d stored objects cannot be decrypted with the configured providers (%s); the API "
                          "answers 500 for them until a provider that can is configured", len(unreadable),
                          ", ".join(unreadable[:5]) + (", …" if len(unreadable) > 5 else ""))
            revision = await schema.last_revision(conn)
            compacted = await schema.compact_revision(conn)
            await conn.commit()
        except BaseException:
            await conn.close()
            await engine.dispose()
            raise
        readers = schema.make_engine(settings.path, pool_size=READERS)
        hub = Hub()
        writer = Writer(conn, heads, hub, revision, compacted, transformer)
        log.info("store opened at %s, revision %d, compacted at %d", settings.path, revision, compacted)
        return cls(settings, engine, readers, conn, writer, heads, hub, transformer)

    @classmethod
    async def open_standalone(cls, settings: StoreSettings, transformer: ValueTransformer = PLAIN) -> Store:
        """A store that runs its own writer until close(): for tests and tools with no supervisor."""
        store = await cls.open(settings, transformer)
        store._standalone = asyncio.get_running_loop().create_task(store.run(), name="store")
        return store

    async def close(self) -> None:
        """Finish pending writes, end every watch, release the database (after run() has ended)."""
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        try:
            if self._standalone is not None:
                self._standalone.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._standalone
        finally:
            self._hub.close_all()
            await self._conn.close()
            await self._engine.dispose()
            await self._readers.dispose()

    async def run(self) -> None:
        """The writer and background compaction: the supervisor's first task, stopped last.

        Writes are accepted only while this runs. Cancelled, it still commits (and acknowledges)
        every write submitted before, then ends: a supervisor stopping in reverse order has stopped
        every writer above the store by then.
        """
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(self._writer.run(), name="store-writer")
            compaction = tg.create_task(self._compact_periodically(), name="store-compaction")
            try:
                await asyncio.shield(writer)  # ends early only if the writer failed or close() stopped it
            except asyncio.CancelledError:
                self._writer.stop()
                await writer
                raise
            finally:
                compaction.cancel()

    async def _compact_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.compaction_interval)
            try:
                await self.compact()
            except StoreError:
                return  # closed under us
            except Exception:
                log.exception("compaction failed; will retry")

    def problem(self) -> str | None:
        """Why the store cannot serve now, or None: the question the apiserver's `etcd` health
        check asks of etcd."""
        if self._closed:
            return "the store is closed"
        if not self._writer.running:
            return "the store's writer is not running"
        return None

    @property
    def current_revision(self) -> int:
        return self._writer.revision

    @property
    def compact_revision(self) -> int:
        return self._writer.compact_revision

    # -- reads --

    async def get(self, key: str) -> dict[str, Any]:
        head = self._heads.get(key)
        if head is None or head.value is None:
            raise KeyNotFound(key)
        if head.unreadable is not None:
            raise Unreadable(key, head.unreadable)
        return decode(head.value, head.revision)

    def is_stale(self, key: str) -> bool:
        """Whether the key's row was read with another provider than writes use now (as the
        apiserver's objState.stale): an update must write it even when nothing changed."""
        head = self._heads.get(key)
        return head is not None and head.stale

    def head_revision(self, key: str) -> int | None:
        """The revision of a live key's newest version (None if absent): a cheap way to learn
        that a key changed since it was last read, without decoding it."""
        head = self._heads.get(key)
        return None if head is None or head.value is None else head.revision

    async def list(
        self, prefix: str, revision: int | None = None, *, start_after: str = "", limit: int = 0,
        skip_unreadable: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """Live objects under a prefix, sorted by key, and the revision they reflect.

        `start_after` and `limit` page through them without decoding what is skipped. An object
        that cannot be decrypted fails the list (Unreadable), or with `skip_unreadable` is left out.
        """
        current = self._writer.revision
        if revision is None or revision >= current:
            heads = self._heads.live(prefix, start_after)
            if skip_unreadable:
                heads = ((k, h) for k, h in heads if h.unreadable is None)
            if limit > 0:
                heads = itertools.islice(heads, limit)
            items = [decode(h.value if h.unreadable is None else _readable(k, h), h.revision)
                     for k, h in heads if h.value is not None]
            return items, current
        self._check_compacted(revision)
        query = schema.list_query(prefix, prefix_end(prefix), revision, start_after, limit)
        async with self._readers.connect() as conn:
            rows = (await conn.execute(query)).all()
        self._check_compacted(revision)  # a compaction may have run under the read
        items = []
        for row in rows:
            try:
                items.append(decode(self._read(row.name, row.value), row.id))
            except Unreadable:
                if not skip_unreadable:
                    raise
        return items, revision

    async def list_rendered(
        self, prefix: str, *, start_after: str = "", limit: int = 0
    ) -> tuple[list[tuple[str, bytes]], int]:
        """(key, JSON as `render` makes it) of the live objects under a prefix at the current
        revision, sorted by key, and that revision. Each version is rendered once and kept with
        its head, so a client polling a list costs neither a decode nor an encode per object."""
        heads = self._heads.live(prefix, start_after)
        if limit > 0:
            heads = itertools.islice(heads, limit)
        out = []
        for key, head in heads:
            if head.value is None:
                continue
            if head.unreadable is not None:
                _readable(key, head)
            if head.rendered is None:
                head.rendered = render(head.value, head.revision, head.metadata_end)
            out.append((key, head.rendered))
        return out, self._writer.revision

    async def count(self, prefix: str) -> int:
        return self._heads.count(prefix)

    def count_live(self, prefix: str) -> int:
        """`count`, for a caller that cannot await (a metrics collector)."""
        return self._heads.count(prefix)

    # -- writes --

    async def create(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        data, metadata_end = _encode_checked(key, value)
        return await self._submit(Write("create", key, data, None, metadata_end=metadata_end))

    async def update(
        self, key: str, value: dict[str, Any], expected_revision: int | None = None
    ) -> dict[str, Any]:
        data, metadata_end = _encode_checked(key, value)
        return await self._submit(Write("update", key, data, expected_revision, metadata_end=metadata_end))

    async def put(self, key: str, value: dict[str, Any], expected_revision: int | None = None) -> int:
        """`update` for a caller that keeps its own value: returns the new revision, decodes nothing."""
        data, metadata_end = _encode_checked(key, value)
        write = Write("update", key, data, expected_revision, metadata_end=metadata_end)
        self._writer.submit(write)
        revision, _ = await write.future
        return revision

    async def delete(self, key: str, expected_revision: int | None = None) -> dict[str, Any]:
        """Write a tombstone; returns the last value stamped with the tombstone's revision."""
        return await self._submit(Write("delete", key, None, expected_revision))

    async def _submit(self, write: Write) -> dict[str, Any]:
        self._writer.submit(write)
        revision, data = await write.future
        return decode(data, revision)

    async def compact(self, revision: int | None = None) -> int:
        """Drop history at or below `revision` (default: keep compaction_keep revisions);
        returns the compaction point."""
        if revision is None:
            revision = self._writer.revision - self.settings.compaction_keep
        if revision <= self._writer.compact_revision:
            return self._writer.compact_revision
        op = Compaction(revision)
        self._writer.submit(op)
        return await op.future

    # -- watch --

    def watch(self, prefix: str, since: int | None = None, *, with_prev: bool = True,
              on_overflow: Callable[[], None] | None = None) -> Watch:
        """Events under a prefix with revision > since (None: from now on).

        `with_prev=False` leaves prev_value None, saving a decode per event for consumers that
        do not look at it. `on_overflow` is called (by the writer, synchronously) if the watch
        falls too far behind and is closed."""
        if self._closed:
            raise StoreError("store is closed")
        start = self._writer.revision
        if since is None:
            since = start
        self._check_compacted(since)
        return Watch(
            self._hub,
            prefix,
            since=since,
            start=start,
            queue_size=self.settings.watch_queue_size,
            read_backlog=lambda after, upto: self._history(prefix, after, upto),
            page_size=BACKLOG_PAGE,
            with_prev=with_prev,
            on_overflow=on_overflow,
        )

    async def _history(self, prefix: str, after: int, upto: int) -> list[Change]:
        self._check_compacted(after)
        query = schema.history_query(prefix, prefix_end(prefix), after, upto, BACKLOG_PAGE)
        async with self._readers.connect() as conn:
            rows = (await conn.execute(query)).all()
        self._check_compacted(after)
        changes = []
        for row in rows:
            if row.deleted:
                kind, prev = "DELETED", row.prev_value
            elif row.created:
                kind, prev = "ADDED", None
            else:
                kind, prev = "MODIFIED", row.prev_value
            value = self._read(row.name, row.value)
            prev = None if prev is None else self._read(row.name, prev)
            changes.append(Change(kind, row.name, row.id, value, row.prev_revision, prev))
        return changes

    def _read(self, key: str, stored: str | bytes) -> str:
        """A row's value as JSON text, or Unreadable as a list names it (etcd3/store.go GetList)."""
        try:
            return self._transformer.from_storage(key, stored)[0]
        except TransformError as exc:
            raise Unreadable(key, f'unable to transform key "{key}": {exc}') from None

    def _check_compacted(self, revision: int) -> None:
        floor = self._writer.compact_floor
        if revision < floor:
            raise Compacted(revision, floor)


def _head(transformer: ValueTransformer, row: Any) -> Head:
    """The head of a key from its newest row: decrypted, or marked unreadable with the reason."""
    if row.deleted:
        return Head(row.id, row.create_revision, None)
    try:
        value, stale = transformer.from_storage(row.name, row.value)
    except TransformError as exc:
        return Head(row.id, row.create_revision, "", unreadable=str(exc))
    return Head(row.id, row.create_revision, value, stale=stale)


def _readable(key: str, head: Head) -> str:
    """A live head's JSON text, or Unreadable as a list names it (etcd3/store.go GetList)."""
    if head.unreadable is not None:
        raise Unreadable(key, f'unable to transform key "{key}": {head.unreadable}')
    assert head.value is not None
    return head.value
