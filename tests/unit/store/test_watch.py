from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boxk8s.store import Store, StoreError, StoreSettings, Watch, WatchEvent

from .conftest import pod

DEADLINE = 5.0


async def take(watch: Watch, n: int) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    async with asyncio.timeout(DEADLINE):
        async for event in watch:
            events.append(event)
            if len(events) == n:
                break
    return events


async def test_live_watch_sees_only_new_events_under_prefix(store: Store) -> None:
    await store.create("/pods/a", pod("a"))
    async with store.watch("/pods/") as watch:
        await store.create("/services/s", pod("s"))
        await store.update("/pods/a", pod("a", v=2))
        await store.create("/pods/b", pod("b"))
        await store.delete("/pods/a")
        events = await take(watch, 3)
    assert [(e.type, e.key) for e in events] == [
        ("MODIFIED", "/pods/a"),
        ("ADDED", "/pods/b"),
        ("DELETED", "/pods/a"),
    ]
    modified, added, deleted = events
    assert modified.value["spec"] == {"v": 2}
    assert modified.prev_value is not None and modified.prev_value["spec"] == {}
    assert modified.value["metadata"]["resourceVersion"] == str(modified.revision)
    assert added.prev_value is None
    assert deleted.value["spec"] == {"v": 2}
    assert deleted.value["metadata"]["resourceVersion"] == str(deleted.revision)
    assert deleted.prev_value is not None
    assert deleted.prev_value["metadata"]["resourceVersion"] == str(modified.revision)


async def test_replayed_events_equal_live_events(store: Store) -> None:
    live = store.watch("/")
    await store.create("/a", pod("a"))
    await store.update("/a", pod("a", v=1))
    await store.delete("/a")
    await store.create("/a", pod("a", v=3))
    replayed = store.watch("/", since=0)
    assert await take(replayed, 4) == await take(live, 4)


async def test_since_current_revision_yields_only_future_events(store: Store) -> None:
    await store.create("/a", pod("a"))
    watch = store.watch("/", since=store.current_revision)
    await store.create("/b", pod("b"))
    [event] = await take(watch, 1)
    assert event.key == "/b"


async def test_each_watcher_gets_its_own_dicts(store: Store) -> None:
    one, two = store.watch("/"), store.watch("/")
    await store.create("/a", pod("a"))
    [first] = await take(one, 1)
    first.value["spec"]["x"] = 1
    [second] = await take(two, 1)
    assert second.value["spec"] == {}


async def test_old_watch_has_no_gap_or_duplicate_under_concurrent_writes(store: Store) -> None:
    for i in range(300):
        if i < 40:
            await store.create(f"/k/{i}", pod("x", i=i))
        else:
            await store.update(f"/k/{i % 40}", pod("x", i=i))
    since = 17

    async def writer() -> None:
        for i in range(300):
            await store.update(f"/k/{i % 40}", pod("x", i=1000 + i))
        await store.create("/k/end", pod("end"))

    task = asyncio.create_task(writer())
    async with store.watch("/k/", since=since) as watch:
        revisions: list[int] = []
        async with asyncio.timeout(DEADLINE):
            async for event in watch:
                revisions.append(event.revision)
                if event.key == "/k/end":
                    break
    await task
    assert revisions == list(range(since + 1, store.current_revision + 1))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["create", "update", "delete"]), st.integers(0, 4)),
        min_size=1,
        max_size=60,
    ),
    split=st.integers(0, 60),
    since_back=st.integers(0, 30),
    concurrency=st.integers(1, 8),
)
def test_watch_from_any_revision_is_exact(
    ops: list[tuple[str, int]], split: int, since_back: int, concurrency: int
) -> None:
    asyncio.run(_watch_scenario(ops, split, since_back, concurrency))


async def _watch_scenario(
    ops: list[tuple[str, int]], split: int, since_back: int, concurrency: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open_standalone(StoreSettings(path=Path(tmp) / "db"))
        try:
            log: list[tuple[int, str, str]] = []  # (revision, type, key) of every applied write

            async def apply(op: str, k: int) -> None:
                key = f"/w/{k}" if k else "/other/0"
                kinds = {"create": "ADDED", "update": "MODIFIED", "delete": "DELETED"}
                try:
                    if op == "create":
                        value = await store.create(key, pod(key))
                    elif op == "update":
                        value = await store.update(key, pod(key, n=len(log)))
                    else:
                        value = await store.delete(key)
                except StoreError:
                    return
                log.append((int(value["metadata"]["resourceVersion"]), kinds[op], key))

            for op, k in ops[:split]:
                await apply(op, k)
            since = max(0, store.current_revision - since_back)
            watch = store.watch("/w/", since=since)

            async def rest(part: list[tuple[str, int]]) -> None:
                for op, k in part:
                    await apply(op, k)

            tail = ops[split:]
            await asyncio.gather(*(rest(tail[i::concurrency]) for i in range(concurrency)))
            expected = sorted(e for e in log if e[0] > since and e[2].startswith("/w/"))
            got = await take(watch, len(expected)) if expected else []
            assert [(e.revision, e.type, e.key) for e in got] == expected
            watch.close()
        finally:
            await store.close()


async def test_slow_watcher_is_closed_and_writers_keep_going(tmp_path: Path) -> None:
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db", watch_queue_size=10))
    try:
        called: list[int] = []
        slow = store.watch("/", on_overflow=lambda: called.append(store.current_revision))
        healthy = store.watch("/")
        received: list[int] = []

        async def consume() -> None:
            async for event in healthy:
                received.append(event.revision)
                if len(received) == 100:
                    return

        consumer = asyncio.create_task(consume())
        for i in range(100):  # each create waits for its commit; the slow watcher never reads
            await store.create(f"/k/{i}", pod(str(i)))
        assert slow.closed and slow.overflowed
        assert len(called) == 1  # told once, at once
        async with asyncio.timeout(DEADLINE):
            assert [e async for e in slow] == []
            await consumer
        assert received == list(range(1, 101))
        assert not healthy.overflowed
    finally:
        await store.close()


async def test_close_ends_watches(settings: StoreSettings) -> None:
    store = await Store.open_standalone(settings)
    watch = store.watch("/")
    waiter = asyncio.create_task(take(watch, 1))
    await store.close()
    assert await waiter == []


async def test_a_writer_resumes_before_watchers_see_its_change(store: Store) -> None:
    """So that a component holding the result of its own write recognises the echo of it."""
    created = await store.create("/order/a", pod("a"))
    order: list[str] = []
    async with store.watch("/order/", int(created["metadata"]["resourceVersion"])) as w:

        async def watcher() -> None:
            await w.__anext__()
            order.append("watcher")

        async def writer() -> None:
            await store.update("/order/a", pod("a", v=1))
            order.append("writer")

        await asyncio.gather(watcher(), writer())
    assert order == ["writer", "watcher"]
