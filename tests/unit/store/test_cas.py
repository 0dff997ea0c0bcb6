from __future__ import annotations

import asyncio
import sqlite3

import pytest

from boxk8s.store import RevisionConflict, Store, StoreSettings

from .conftest import pod


async def test_concurrent_cas_has_exactly_one_winner(store: Store) -> None:
    created = await store.create("/k", pod("a", n=0))
    rv = int(created["metadata"]["resourceVersion"])
    results = await asyncio.gather(
        *(store.update("/k", pod("a", n=i), expected_revision=rv) for i in range(20)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, RevisionConflict)]
    assert len(winners) == 1 and len(losers) == 19
    assert await store.get("/k") == winners[0]


async def test_concurrent_creates_same_key_one_winner(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create("/k", pod("a", n=i)) for i in range(20)), return_exceptions=True
    )
    assert sum(isinstance(r, dict) for r in results) == 1


async def test_unique_index_rejects_second_successor(store: Store, settings: StoreSettings) -> None:
    """The database itself refuses two rows appended after the same head."""
    await store.create("/k", pod("a"))
    await store.update("/k", pod("a", v=1))
    db = sqlite3.connect(settings.path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO kine (name, created, deleted, create_revision, prev_revision, value)"
                " VALUES ('/k', 0, 0, 1, 1, '{}')"
            )
    finally:
        db.close()


async def test_database_conflict_fails_only_the_conflicting_write(
    store: Store, settings: StoreSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """If the UNIQUE guard fires inside a group commit (another process appended behind our
    back), the batch is retried write by write and only the conflicting write fails."""
    await store.create("/k", pod("a"))
    db = sqlite3.connect(settings.path, timeout=10)
    try:
        with db:
            db.execute(
                "INSERT INTO kine (id, name, created, deleted, create_revision, prev_revision, value)"
                " VALUES (100, '/k', 0, 0, 1, 1, '{}')"
            )
    finally:
        db.close()
    results = await asyncio.gather(
        store.create("/a", pod("a")),
        store.update("/k", pod("a", v=2)),
        store.create("/b", pod("b")),
        return_exceptions=True,
    )
    assert isinstance(results[1], RevisionConflict)
    assert [r["metadata"]["name"] for r in results if isinstance(r, dict)] == ["a", "b"]
    assert await store.count("/") == 3
    assert "retrying one by one" in caplog.text  # the three writes were one group commit
