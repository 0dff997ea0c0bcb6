from __future__ import annotations

import pytest

from boxk8s.store import Compacted, Store, StoreSettings

from .conftest import pod


async def _history(store: Store) -> None:
    for i in range(10):
        await store.create(f"/k/{i}", pod(str(i), v=0))
    for round_ in range(1, 4):
        for i in range(10):
            await store.update(f"/k/{i}", pod(str(i), v=round_))
    for i in range(5):
        await store.delete(f"/k/{i}")


async def test_compaction_keeps_state_and_rejects_older_revisions(store: Store) -> None:
    await _history(store)  # revisions 1..45
    snapshots = {rev: await store.list("/k/", revision=rev) for rev in (30, 40, 45)}
    point = await store.compact(30)
    assert point == 30 == store.compact_revision
    for rev, snapshot in snapshots.items():  # state at and after the point is intact
        assert await store.list("/k/", revision=rev) == snapshot
    with pytest.raises(Compacted) as info:
        await store.list("/k/", revision=29)
    assert info.value.compact_revision == 30
    with pytest.raises(Compacted):
        store.watch("/k/", since=29)
    events = [e async for e in _drain(store, since=30)]
    assert [e.revision for e in events] == list(range(31, 46))
    for i in range(5, 10):  # live keys keep their current row
        assert (await store.get(f"/k/{i}"))["spec"] == {"v": 3}
    await store.create("/k/0", pod("0", v=9))  # re-create after its tombstone was compacted
    assert await store.count("/k/") == 6


async def _drain(store: Store, since: int):  # type: ignore[no-untyped-def]
    async with store.watch("/k/", since=since) as watch:
        async for event in watch:
            yield event
            if event.revision == store.current_revision:
                return


async def test_compaction_removes_rows_and_survives_restart(settings: StoreSettings) -> None:
    import sqlite3

    store = await Store.open_standalone(settings)
    await _history(store)
    await store.compact(45)
    await store.close()
    db = sqlite3.connect(settings.path)
    try:
        (rows,) = db.execute("SELECT count(*) FROM kine").fetchone()
    finally:
        db.close()
    assert rows == 5  # one row per live key
    store = await Store.open_standalone(settings)
    try:
        assert store.compact_revision == 45 and store.current_revision == 45
        with pytest.raises(Compacted):
            await store.list("/k/", revision=44)
        with pytest.raises(Compacted):
            store.watch("/", since=10)
        created = await store.create("/k/new", pod("new"))
        assert created["metadata"]["resourceVersion"] == "46"
    finally:
        await store.close()


async def test_default_compaction_keeps_window(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db", compaction_keep=10))
    try:
        await _history(store)
        assert await store.compact() == 35
        assert await store.compact() == 35  # nothing new to compact
        assert await store.compact(20) == 35  # never moves backwards
    finally:
        await store.close()
