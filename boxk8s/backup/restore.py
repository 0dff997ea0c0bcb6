"""A backup back into a state folder: checked whole first, then written beside the folder's files
and moved into place, under the folder's pid lock (so no `boxk8s up` starts there meanwhile)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from boxk8s import instance
from boxk8s.backup import plan
from boxk8s.backup.archive import extract_backup, verify_backup
from boxk8s.backup.database import integrity_check
from boxk8s.backup.plan import BackupError, Manifest


def _entries(state_dir: Path) -> list[str]:
    try:
        return sorted(p.name for p in state_dir.iterdir())
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise BackupError(f"{state_dir} is not a folder") from None


def restore(path: Path, state_dir: Path, *, force: bool = False) -> Manifest:
    """Restore the backup at `path` into `state_dir`. Nothing in the folder is touched unless the
    whole file checks out, no cluster runs there, and the folder is new or `force` is given."""
    manifest = verify_backup(path)
    plan.check_target(str(state_dir), _entries(state_dir), instance.running_pid(state_dir), force)
    try:
        lock = instance.PidLock.claim(state_dir)
    except instance.AlreadyRunning as exc:  # an `up` that started since we looked
        plan.check_target(str(state_dir), [], exc.pid or -1, force)
        raise
    try:
        staging = state_dir / f".restore-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            extract_backup(path, staging)
            verdict = integrity_check(staging / plan.DATABASE)
            if verdict != "ok":
                raise BackupError(f"{path} is refused: its store fails SQLite's integrity check ({verdict})")
            _move_into_place(staging, state_dir, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()
    return manifest


def _move_into_place(staging: Path, state_dir: Path, manifest: Manifest) -> None:
    for name in plan.STALE:  # a -wal of another database next to ours would be replayed into it
        (state_dir / name).unlink(missing_ok=True)
    pki, old_pki = state_dir / plan.PKI, state_dir / f".{plan.PKI}-replaced"
    shutil.rmtree(old_pki, ignore_errors=True)
    if pki.exists():
        pki.rename(old_pki)
    (staging / plan.PKI).rename(pki)
    shutil.rmtree(old_pki, ignore_errors=True)
    names = {m.name for m in manifest.members}
    for name in plan.FILES:
        if name in names:
            (staging / name).replace(state_dir / name)
        elif name != plan.DATABASE:
            with contextlib.suppress(FileNotFoundError):
                (state_dir / name).unlink()  # not in the backup: not the restored cluster's
