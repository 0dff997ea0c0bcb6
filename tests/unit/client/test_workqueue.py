"""The workqueue's guarantees: de-duplication, one worker per key, backoff on failure, forget."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from boxk8s.client.workqueue import Backoff, WorkQueue


async def test_a_key_queued_twice_is_processed_once() -> None:
    q = WorkQueue("t")
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    assert await q.get() == "a"
    assert await q.get() == "b"
    q.done("a")
    q.done("b")
    assert len(q) == 0


async def test_a_key_added_while_processing_is_processed_again_after() -> None:
    q = WorkQueue("t")
    q.add("a")
    key = await q.get()
    q.add("a")  # dirty while processing: not handed to a second worker
    assert len(q) == 0
    q.done(key)
    assert len(q) == 1
    assert await q.get() == "a"


async def test_one_key_is_never_processed_concurrently() -> None:
    q = WorkQueue("t")
    running: set[str] = set()
    overlaps = 0
    calls = 0

    async def reconcile(key: str) -> None:
        nonlocal overlaps, calls
        calls += 1
        if key in running:
            overlaps += 1
        running.add(key)
        await asyncio.sleep(0.02)
        q.add(key) if calls < 5 else None  # re-added while processing
        running.discard(key)

    q.add("a")
    task = asyncio.create_task(q.run_workers(reconcile, workers=4))
    await asyncio.sleep(0.3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert overlaps == 0
    assert calls == 5


def test_backoff_doubles_up_to_a_cap() -> None:
    b = Backoff(base=0.01, cap=0.05)
    assert [b.delay(n) for n in range(1, 6)] == pytest.approx([0.01, 0.02, 0.04, 0.05, 0.05])


async def test_failures_requeue_with_growing_delays_and_forget_resets() -> None:
    q = WorkQueue("t", Backoff(base=0.01, cap=10))
    delays: list[float] = []
    q.add_after = lambda key, delay: delays.append(delay)  # type: ignore[method-assign]
    q.add_rate_limited("a")
    q.add_rate_limited("a")
    q.add_rate_limited("a")
    q.add_rate_limited("b")
    assert delays == pytest.approx([0.01, 0.02, 0.04, 0.01])
    q.forget("a")
    q.add_rate_limited("a")
    assert delays[-1] == pytest.approx(0.01)


async def test_a_failing_reconcile_is_retried_then_forgotten_on_success() -> None:
    q = WorkQueue("t", Backoff(base=0.01, cap=0.02))
    attempts = 0
    done = asyncio.Event()

    async def reconcile(key: str) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("not yet")
        done.set()

    q.add("a")
    task = asyncio.create_task(q.run_workers(reconcile))
    async with asyncio.timeout(2):
        await done.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert attempts == 3
    assert q._failures == {}


async def test_reconcile_asking_to_look_again_requeues_after_the_delay() -> None:
    q = WorkQueue("t")
    seen: list[float] = []
    loop = asyncio.get_running_loop()

    async def reconcile(key: str) -> float | None:
        seen.append(loop.time())
        return 0.05 if len(seen) < 2 else None

    q.add("a")
    task = asyncio.create_task(q.run_workers(reconcile))
    await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert len(seen) == 2 and seen[1] - seen[0] >= 0.045
