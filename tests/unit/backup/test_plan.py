"""The pure decisions of backups: manifests, restore targets, snapshot names and pruning."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.backup import plan
from boxk8s.backup.plan import BackupError

DIGEST = "ab" * 32


def manifest(**over: Any) -> dict[str, Any]:
    members = [{"name": n, "size": 1, "sha256": DIGEST, "mode": 0o600} for n in plan.REQUIRED]
    return {"format": plan.FORMAT, "version": plan.VERSION, "created": "2026-12-03T19:00:00Z", "cluster": "c",
            "revision": 7, "objects": 3, "members": members, **over}


def test_a_manifest_round_trips() -> None:
    m = plan.parse_manifest(json.dumps(manifest()).encode())
    assert plan.parse_manifest(m.to_json()) == m
    assert (m.cluster, m.revision, m.objects) == ("c", 7, 3)
    assert [x.name for x in m.members] == list(plan.REQUIRED)


@pytest.mark.parametrize("raw, reason", [
    (b"not json", "its manifest is not JSON"),
    (json.dumps([]).encode(), "it is not a boxk8s backup (no boxk8s manifest)"),
    (json.dumps(manifest(format="etcd")).encode(), "it is not a boxk8s backup (no boxk8s manifest)"),
    (json.dumps(manifest(version=2)).encode(), "it is a boxk8s backup of format version 2; this boxk8s reads version 1"),
    (json.dumps(manifest(revision="7")).encode(), "its manifest has no valid 'revision'"),
    (json.dumps(manifest(revision=True)).encode(), "its manifest has no valid 'revision'"),
    (json.dumps(manifest(members=[])).encode(), "it lacks state.db, cluster-name, pki/ca.crt, pki/ca.key, pki/token"),
])
def test_a_bad_manifest_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BackupError) as e:
        plan.parse_manifest(raw)
    assert str(e.value) == reason


@pytest.mark.parametrize("name", ["../state.db", "/etc/passwd", "pki/../../x", "pki/sub/key", "boxk8s.pid",
                                  "pki/.hidden", "snapshots/x", ""])
def test_members_that_could_write_elsewhere_are_refused(name: str) -> None:
    m = manifest()
    m["members"].append({"name": name, "size": 1, "sha256": DIGEST})
    with pytest.raises(BackupError, match="lists a member it may not hold"):
        plan.parse_manifest(json.dumps(m).encode())


def test_a_member_listed_twice_or_with_a_bad_digest_is_refused() -> None:
    m = manifest()
    m["members"].append(dict(m["members"][0]))
    with pytest.raises(BackupError, match="twice"):
        plan.parse_manifest(json.dumps(m).encode())
    m = manifest()
    m["members"][0]["sha256"] = "xyz"
    with pytest.raises(BackupError, match="may not hold"):
        plan.parse_manifest(json.dumps(m).encode())


def test_what_a_backup_takes_of_a_state_folder() -> None:
    present = ["state.db", "state.db-wal", "boxk8s.log", "boxk8s.pid", "cluster-name", "cluster.json", "kubeconfig",
               "pki/token", "pki/ca.crt", "ready.json"]
    assert plan.member_names(present) == ["state.db", "cluster-name", "cluster.json", "kubeconfig",
                                          "pki/ca.crt", "pki/token"]


@pytest.mark.parametrize("entries, pid, force, refused", [
    ([], None, False, ""),
    ([], 42, True, "is running (pid 42)"),
    (["state.db"], None, False, "is not empty"),
    (["state.db"], None, True, ""),
    (["state.db"], 42, True, "is running (pid 42)"),
])
def test_the_restore_target(entries: list[str], pid: int | None, force: bool, refused: str) -> None:
    if not refused:
        plan.check_target("d", entries, pid, force)
        return
    with pytest.raises(BackupError, match=refused.replace("(", r"\(").replace(")", r"\)")):
        plan.check_target("d", entries, pid, force)


def test_the_trailer_is_a_gzip_member_holding_the_digest() -> None:
    t = plan.trailer(DIGEST)
    assert len(t) == plan.TRAILER_SIZE
    assert gzip.decompress(t) == b"boxk8s-sha256 " + DIGEST.encode() + b"\n"
    assert zlib.decompress(t, 31)  # a complete member with its CRC and length


def test_snapshot_names_sort_by_time_and_pruning_keeps_the_newest_of_this_cluster() -> None:
    t0 = datetime(2026, 12, 3, 19, 0, 0, 5000, tzinfo=UTC)
    names = [plan.snapshot_name("web-1a2b3c", t0 + timedelta(minutes=m)) for m in (0, 30, 60, 90)]
    assert names[0] == "boxk8s-snapshot-web-1a2b3c-20261203T190000.005Z.tar.gz"
    other = plan.snapshot_name("web", t0)  # another cluster's (a prefix of ours): never ours to prune
    folder = [names[2], "notes.txt", names[0], other, names[3], names[1], ".tmp-x"]
    assert plan.plan_prune(folder, "web-1a2b3c", 2) == [names[1], names[0]]
    assert plan.plan_prune(folder, "web-1a2b3c", 10) == []
    assert plan.plan_prune(folder, "web", 0) == [other]
