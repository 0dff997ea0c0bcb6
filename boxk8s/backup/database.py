"""A consistent copy of the store while it runs: SQLite's online backup API, not a file copy.

The copy is one `sqlite3_backup_step(-1)`: it reads every page inside one read transaction, so it
is the database as of one commit. In WAL mode (store/schema.py) that read neither blocks the
cluster's writer nor is blocked by it; a write committed before the copy began is in it, one that
commits meanwhile is not (https://www.sqlite.org/backup.html). It works from another process
(`boxk8s backup`) as well as from a thread of the cluster (scheduled snapshots).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from boxk8s.backup.plan import BackupError

BUSY_MS = 10_000  # the store's busy_timeout: how long to wait for a lock (a checkpoint, a recovery)

# The kine table of store/schema.py: the newest row per key is its state, unless it is a tombstone.
_LIVE_KEYS = ("SELECT count(*) FROM kine k JOIN (SELECT max(id) AS id FROM kine GROUP BY name) m "
              "ON k.id = m.id WHERE k.deleted = 0")
_REVISION = "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'kine'), 0), " \
            "coalesce((SELECT max(id) FROM kine), 0))"


@dataclass(frozen=True)
class Copied:
    revision: int
    objects: int


def copy_database(source: Path, dest: Path) -> Copied:
    """Copy the store at `source` to the new file `dest` (self-contained: rollback journal, no -wal)."""
    if not source.is_file():
        raise BackupError(f"no store at {source}")
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_MS / 1000)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)  # pages=-1: every page in one step, i.e. one read transaction
            dst.execute("PRAGMA journal_mode=DELETE")
            revision, = dst.execute(_REVISION).fetchone()
            objects, = dst.execute(_LIVE_KEYS).fetchone()
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise BackupError(f"cannot copy the store at {source}: {exc}") from exc
    finally:
        src.close()
    return Copied(int(revision), int(objects))


def integrity_check(path: Path) -> str:
    """SQLite's `PRAGMA integrity_check`: "ok", or what is wrong (its first line)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return str(rows[0][0]) if rows else "no answer"
