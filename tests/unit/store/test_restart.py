from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from boxk8s.store import Store, StoreSettings

from .conftest import pod

REPO = Path(__file__).resolve().parents[3]


async def test_restart_keeps_objects_and_revisions(settings: StoreSettings) -> None:
    store = await Store.open_standalone(settings)
    for i in range(20):
        await store.create(f"/k/{i}", pod(str(i)))
    for i in range(0, 20, 3):
        await store.update(f"/k/{i}", pod(str(i), v=1))
    await store.delete("/k/1")
    before, rev = await store.list("/")
    await store.close()

    store = await Store.open_standalone(settings)
    try:
        assert store.current_revision == rev
        after, rev_after = await store.list("/")
        assert (after, rev_after) == (before, rev)
        assert await store.list("/", revision=rev - 1) != (before, rev)  # history kept too
        created = await store.create("/k/1", pod("1"))  # the counter continues
        assert int(created["metadata"]["resourceVersion"]) == rev + 1
    finally:
        await store.close()


async def test_revisions_never_reused_after_deleting_newest_rows(settings: StoreSettings) -> None:
    store = await Store.open_standalone(settings)
    await store.create("/a", pod("a"))
    await store.delete("/a")
    await store.compact(store.current_revision)  # removes every row
    await store.close()
    store = await Store.open_standalone(settings)
    try:
        assert store.current_revision == 2
        assert (await store.create("/b", pod("b")))["metadata"]["resourceVersion"] == "3"
    finally:
        await store.close()


async def test_kill_9_loses_no_acknowledged_write(settings: StoreSettings) -> None:
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.unit.store.writer_proc",
        str(settings.path),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    acked: dict[str, str] = {}
    try:
        async with asyncio.timeout(15):
            while len(acked) < 500:
                line = await proc.stdout.readline()
                assert line, "writer exited early"
                key, rv = line.decode().split()
                acked[key] = rv
    finally:
        proc.send_signal(signal.SIGKILL)
    rest = await proc.stdout.read()  # lines written before the kill were acknowledged too
    for line in rest.decode().splitlines():
        if line.count(" ") == 1:  # the last line may be cut short
            key, rv = line.split()
            acked[key] = rv
    await proc.wait()

    db = sqlite3.connect(settings.path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()
    store = await Store.open_standalone(settings)
    try:
        for key, rv in acked.items():
            assert (await store.get(key))["metadata"]["resourceVersion"] == rv
        assert store.current_revision >= max(int(rv) for rv in acked.values())
    finally:
        await store.close()
