"""Scheduled snapshots: every interval one backup file into STATE_DIR/snapshots, the newest `keep` kept,
while the store takes writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from boxk8s.backup import plan
from boxk8s.backup.archive import verify_backup
from boxk8s.backup.schedule import SnapshotSchedule
from boxk8s.nodes import cluster_name
from boxk8s.store import Store, StoreSettings
from boxk8s.tls import ensure_credentials


async def test_snapshots_are_taken_and_pruned_to_the_newest_two(tmp_path: Path) -> None:
    state = tmp_path / ".boxk8s"
    ensure_credentials(state)
    name = cluster_name(state)
    store = await Store.open_standalone(StoreSettings(path=state / "state.db"))
    schedule = SnapshotSchedule(state, name, interval=0.05, keep=2)
    task = asyncio.create_task(schedule.run())
    try:
        i = 0
        async with asyncio.timeout(30):
            while schedule.taken < 4:
                await store.create(f"/registry/configmaps/default/c{i}", {"metadata": {"name": f"c{i}"}})
                i += 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()
    files = sorted(p.name for p in (state / "snapshots").iterdir())
    assert len(files) == 2 and schedule.last is not None and schedule.last.name == files[-1]
    assert plan.plan_prune(files, name, 2) == []
    revisions = [verify_backup(state / "snapshots" / f).revision for f in files]
    assert revisions == sorted(revisions) and revisions[-1] <= i
