"""Scheduled snapshots of the running cluster, as k3s takes etcd snapshots on a schedule and keeps
the newest few (--etcd-snapshot-schedule-cron, --etcd-snapshot-retention, into
${data-dir}/db/snapshots): every `interval` seconds a backup file into STATE_DIR/snapshots, then
the oldest beyond `keep` are deleted. The copy, the compression and the files are a thread's work,
off the event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from boxk8s.backup import plan
from boxk8s.backup.archive import write_backup
from boxk8s.backup.plan import Manifest

log = logging.getLogger(__name__)

SNAPSHOT_DIR = "snapshots"


def take_snapshot(state_dir: Path, cluster: str, keep: int, now: datetime | None = None) -> tuple[Path, Manifest]:
    """One snapshot into STATE_DIR/snapshots, then pruning to the newest `keep`: (its path, its manifest)."""
    folder = state_dir / SNAPSHOT_DIR
    path = folder / plan.snapshot_name(cluster, now or datetime.now(UTC))
    manifest = write_backup(state_dir, path, cluster=cluster, now=now)
    for name in plan.plan_prune([p.name for p in folder.iterdir()], cluster, keep):
        (folder / name).unlink(missing_ok=True)
    return path, manifest


class SnapshotSchedule:
    """The supervisor's task: a snapshot every `interval` seconds (the first one interval after start)."""

    name = "snapshots"

    def __init__(self, state_dir: Path, cluster: str, interval: float, keep: int) -> None:
        self.state_dir = state_dir
        self.cluster = cluster
        self.interval = interval
        self.keep = keep
        self.taken = 0  # snapshots written since start (tests wait on it)
        self.last: Path | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            started = time.monotonic()
            try:
                path, manifest = await asyncio.to_thread(take_snapshot, self.state_dir, self.cluster, self.keep)
            except Exception as exc:  # a failed snapshot must not stop the cluster; the next may succeed
                log.error("snapshot failed: %s", exc)
                continue
            self.taken += 1
            self.last = path
            log.info("snapshot %s: revision %d, %d objects, %d bytes in %.2fs", path.name, manifest.revision,
                     manifest.objects, path.stat().st_size, time.monotonic() - started)
