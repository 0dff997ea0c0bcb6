"""`boxk8s backup` while a client keeps writing, `boxk8s restore` into a new folder, `boxk8s up` there:
every write acknowledged before the backup began is back with its resourceVersion, and a kubeconfig
made before the backup still works (real kubectl). Bad files and bad targets are refused untouched."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from boxk8s import instance
from boxk8s.backup.archive import verify_backup, write_backup
from boxk8s.backup.database import integrity_check
from boxk8s.nodes import cluster_name
from boxk8s.store import Store, StoreSettings
from boxk8s.tls import ensure_credentials, ensure_service_account_key
from tests.integration.backup_cluster import Writer, boxk8s, kubectl_json, start_cluster
from tests.integration.kubectl import needs_kubectl


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@needs_kubectl
def test_backup_while_writing_then_restore_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    a = tmp_path / "a" / ".boxk8s"
    a.parent.mkdir()
    cluster = start_cluster(a, "--snapshot-interval", "0.3s", "--snapshot-keep", "2")
    old_kubeconfig = tmp_path / "kubeconfig-before"
    shutil.copy(a / "kubeconfig", old_kubeconfig)
    writer = Writer(old_kubeconfig)
    try:
        writer.start()
        wait_until(lambda: len(writer.acked) >= 20 or writer.failures, what="the writer under way")
        before = list(writer.acked)  # acknowledged before the backup began
        backup = tmp_path / "cluster.tar.gz"
        result = boxk8s("backup", "--state-dir", str(a), str(backup), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"backup of cluster {cluster_name(a)} at revision ")
        during = len(writer.acked)
        # Over the running cluster itself, even with --force: refused, its folder left as it is.
        line = one_error_line(boxk8s("restore", str(backup), "--state-dir", str(a), "--force", cwd=tmp_path))
        assert line.startswith(f"Error: the cluster in {a} is running (pid {cluster.proc.pid}): stop it with ")
        # The scheduled snapshots (every 0.3 s, the newest 2 kept) go on beside the writer.
        wait_until(lambda: len(list((a / "snapshots").glob("boxk8s-snapshot-*.tar.gz"))) == 2,
                   what="two scheduled snapshots")
    finally:
        writer.halt.set()
        writer.join(10)
        assert cluster.stop() == 0, cluster.log.read_text()
    assert not writer.failures, writer.failures
    assert len(writer.acked) > len(before) and during > len(before), "the writer wrote while the backup ran"
    snapshots = sorted((a / "snapshots").iterdir())
    assert len(snapshots) == 2, snapshots  # pruned to the newest two, no temporary file left
    for snapshot in snapshots:
        assert verify_backup(snapshot).cluster == cluster_name(a)

    manifest = verify_backup(backup)
    restored = tmp_path / "b" / ".boxk8s"
    restored.parent.mkdir()
    result = boxk8s("restore", str(backup), "--state-dir", str(restored), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"restored cluster {manifest.cluster} at revision {manifest.revision}" in result.stdout
    assert integrity_check(restored / "state.db") == "ok"
    assert (restored / "cluster-name").read_text().strip() == cluster_name(a)
    assert (restored / "pki" / "token").read_bytes() == (a / "pki" / "token").read_bytes()

    again = start_cluster(restored)
    try:
        got = kubectl_json(old_kubeconfig, tmp_path / "kubectl-cache", "get", "configmaps", "-n", "default")
    finally:
        assert again.stop() == 0, again.log.read_text()
    versions = {cm["metadata"]["name"]: int(cm["metadata"]["resourceVersion"])
                for cm in got["items"] if cm["metadata"]["name"].startswith("w-")}
    for name, rv in before:
        assert versions.get(name) == rv, name
    # One consistent moment: exactly the writes acknowledged up to the backup's revision, no later one.
    assert versions == {name: rv for name, rv in writer.acked if rv <= manifest.revision}
    assert manifest.revision >= max(rv for _, rv in before)


# --- refusals -----------------------------------------------------------------------------------------

async def _offline_cluster(state_dir: Path, objects: int) -> None:
    ensure_credentials(state_dir)
    ensure_service_account_key(state_dir)
    cluster_name(state_dir)
    store = await Store.open_standalone(StoreSettings(path=state_dir / "state.db"))
    try:
        for i in range(objects):
            await store.create(f"/registry/configmaps/default/c{i}", {"metadata": {"name": f"c{i}"}, "data": {"i": "x" * 200}})
    finally:
        await store.close()


@pytest.fixture
def backup_file(tmp_path: Path) -> Path:
    source = tmp_path / "source" / ".boxk8s"
    asyncio.run(_offline_cluster(source, 40))
    path = tmp_path / "good.tar.gz"
    write_backup(source, path, cluster=cluster_name(source))
    return path


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "flipped last byte"])
def test_a_damaged_backup_is_refused_before_the_folder_is_touched(tmp_path: Path, backup_file: Path,
                                                                  damage: str) -> None:
    data = bytearray(backup_file.read_bytes())
    if damage == "truncated":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) // 2 if damage == "flipped byte" else -1] ^= 0x04
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(bytes(data))

    fresh = tmp_path / "fresh" / ".boxk8s"
    line = one_error_line(boxk8s("restore", str(bad), "--state-dir", str(fresh), cwd=tmp_path))
    assert line.startswith(f"Error: {bad} is refused: it is ")
    assert ("truncated" if damage == "truncated" else "corrupt") in line
    assert not fresh.exists()

    # Over an existing cluster's folder, even with --force: nothing changes.
    existing = tmp_path / "source" / ".boxk8s"
    before = snapshot_of(existing)
    one_error_line(boxk8s("restore", str(bad), "--state-dir", str(existing), "--force", cwd=tmp_path))
    assert snapshot_of(existing) == before


def test_restore_over_a_running_cluster_or_a_used_folder_is_refused(tmp_path: Path, backup_file: Path) -> None:
    target = tmp_path / "source" / ".boxk8s"
    before = snapshot_of(target)
    line = one_error_line(boxk8s("restore", str(backup_file), "--state-dir", str(target), cwd=tmp_path))
    assert line == (f"Error: {target} is not empty: restore into a new folder, or give --force to replace its "
                    "cluster state (state.db, cluster-name, cluster.json, kubeconfig, pki/)")
    # A process holding the folder's pid lock, with boxk8s in its command line, plays the running cluster.
    holder = ("import sys; from pathlib import Path; from boxk8s import instance; "
              f"instance.PidLock.claim(Path({str(target)!r})); print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", holder, "boxk8s"], env=instance.child_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        line = one_error_line(boxk8s("restore", str(backup_file), "--state-dir", str(target), "--force",
                                     cwd=tmp_path))
        assert line == (f"Error: the cluster in {target} is running (pid {proc.pid}): stop it with "
                        f"`boxk8s down --state-dir {target}` before restoring into its folder")
    finally:
        proc.communicate("", timeout=10)
    assert {k: v for k, v in snapshot_of(target).items() if k != "boxk8s.pid"} == before

    # Stopped, and with --force: the folder's cluster state is replaced, its other files (the log) stay.
    (target / "boxk8s.log").write_text("earlier runs\n")
    (target / "state.db-wal").write_bytes(b"a stale write-ahead log")
    result = boxk8s("restore", str(backup_file), "--state-dir", str(target), "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (target / "boxk8s.log").read_text() == "earlier runs\n"
    assert not (target / "state.db-wal").exists() and not (target / "boxk8s.pid").exists()
    assert integrity_check(target / "state.db") == "ok"
    assert sorted(p.name for p in target.iterdir()) == ["boxk8s.log", "cluster-name", "pki", "state.db"]
