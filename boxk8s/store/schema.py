"""The kine schema and the queries over it (SQLAlchemy Core).

One append-only table: the autoincrement id is the revision. A key's state is its newest row,
unless that row is a delete tombstone. UNIQUE (name, prev_revision) means two writers that read
the same head cannot both append after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    event,
    exists,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

metadata = MetaData()

kine = Table(
    "kine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
    Column("create_revision", Integer, nullable=False),
    Column("prev_revision", Integer, nullable=False),
    Column("value", Text, nullable=False),
    Index("kine_name_prev_revision_uindex", "name", "prev_revision", unique=True),
    Index("kine_name_id_index", "name", "id"),
    sqlite_autoincrement=True,
)

meta = Table(
    "kine_meta",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Integer, nullable=False),
)

COMPACT_REVISION = "compact_revision"


def make_engine(path: Path, *, pool_size: int, secure_delete: bool = False) -> AsyncEngine:
    """An engine whose connections run WAL with synchronous=FULL: a commit is on disk (the WAL
    is fsynced) before it returns, so an acknowledged write survives kill -9 and power loss.
    `secure_delete`: what compaction deletes is overwritten with zeros, not left in free pages
    (with encryption at rest: no plaintext of before, no ciphertext of a retired key, stays)."""
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}", pool_size=pool_size, max_overflow=0
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        if secure_delete:
            cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return engine


async def create_schema(conn: AsyncConnection) -> None:
    await conn.run_sync(metadata.create_all)


async def last_revision(conn: AsyncConnection) -> int:
    """The highest id ever allocated: sqlite_sequence remembers it even when compaction has
    deleted that row, so revisions are never reused."""
    seq = (
        await conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'kine'")
    ).scalar()
    top = (await conn.execute(select(func.max(kine.c.id)))).scalar()
    return max(seq or 0, top or 0)


async def compact_revision(conn: AsyncConnection) -> int:
    found = (
        await conn.execute(select(meta.c.value).where(meta.c.name == COMPACT_REVISION))
    ).scalar()
    return int(found or 0)


def _in_prefix(prefix: str, end: str | None) -> list[Any]:
    conditions: list[Any] = []
    if prefix:
        conditions.append(kine.c.name >= prefix)
    if end is not None:
        conditions.append(kine.c.name < end)
    return conditions


def heads_query() -> Select[Any]:
    """The newest row of every key, tombstones included (they seed prev_revision of a re-create)."""
    newest = select(func.max(kine.c.id).label("id")).group_by(kine.c.name).subquery()
    return select(
        kine.c.id, kine.c.name, kine.c.deleted, kine.c.create_revision, kine.c.value
    ).join(newest, kine.c.id == newest.c.id)


def list_query(prefix: str, end: str | None, revision: int, start_after: str = "",
               limit: int = 0) -> Select[Any]:
    """Live keys under a prefix as of `revision` (after `start_after`), sorted by key."""
    after = [kine.c.name > start_after] if start_after else []
    newest = (
        select(func.max(kine.c.id).label("id"))
        .where(kine.c.id <= revision, *_in_prefix(prefix, end), *after)
        .group_by(kine.c.name)
        .subquery()
    )
    return (
        select(kine.c.id, kine.c.name, kine.c.value)
        .join(newest, kine.c.id == newest.c.id)
        .where(kine.c.deleted == 0)
        .order_by(kine.c.name)
        .limit(limit if limit > 0 else -1)
    )


def history_query(prefix: str, end: str | None, after: int, upto: int, limit: int) -> Select[Any]:
    """Rows under a prefix with after < id <= upto, in revision order, with their previous row's
    value (for prev_value)."""
    prev = kine.alias("prev")
    return (
        select(
            kine.c.id,
            kine.c.name,
            kine.c.created,
            kine.c.deleted,
            kine.c.value,
            kine.c.prev_revision,
            prev.c.value.label("prev_value"),
        )
        .outerjoin(prev, prev.c.id == kine.c.prev_revision)
        .where(kine.c.id > after, kine.c.id <= upto, *_in_prefix(prefix, end))
        .order_by(kine.c.id)
        .limit(limit)
    )


def compaction_delete(revision: int) -> Any:
    """Rows made obsolete by compacting at `revision`: superseded by a newer row that is itself
    at or below the point (so the state at every revision >= the point stays intact), and
    tombstones at or below the point. The current row of a live key is never matched."""
    newer = kine.alias("newer")
    superseded = exists().where(
        and_(newer.c.name == kine.c.name, newer.c.id > kine.c.id, newer.c.id <= revision)
    )
    return kine.delete().where(kine.c.id <= revision, (kine.c.deleted == 1) | superseded)
