"""Decisions about backups, apart from any I/O: what a backup holds, whether a manifest is one we
can restore, whether a state folder may receive it, and which scheduled snapshots to keep.

The file is a gzip-compressed tar (`tar xzf` lists and extracts it) whose first member is
`manifest.json`: the cluster's name, the store's revision, and the size and sha256 of every other
member. A second, tiny gzip member ends the file: `boxk8s-sha256 <hex>` of every byte before it, as
etcd appends a sha256 to its snapshots (etcdutl's `snapshot restore` checks it). So every byte is
covered before a restore touches anything: a truncated or altered file does not match its trailer,
and each member must match its size and sha256 in the manifest.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

FORMAT = "boxk8s-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "state.db"
# The state folder's files that make the cluster what it is (config.py, instance.py, tls.py): its store,
# its name and placement, its kubeconfig, and everything in pki/ (the CA and its key, the API's
# certificate, the admin token, the ServiceAccount signing key, the Ingress certificate).
FILES = (DATABASE, "cluster-name", "cluster.json", "kubeconfig")
PKI = "pki"
REQUIRED = (DATABASE, "cluster-name", "pki/ca.crt", "pki/ca.key", "pki/token")
# Left in a state folder by a cluster and stale once its state is replaced (`restore --force`).
STALE = ("state.db-wal", "state.db-shm", "ready.json")
# Level 1: at 10,000 objects it compresses twice as fast as the default 6, into a file 6% larger.
GZIP_LEVEL = 1
GZIP_MAGIC = b"\x1f\x8b\x08"  # gzip, deflate (RFC 1952): what a backup begins with
GZIP_HEADER = GZIP_MAGIC + b"\x00\x00\x00\x00\x00\x00\xff"  # the trailer's: no flags, mtime 0, OS unknown
TRAILER_PREFIX = b"boxk8s-sha256 "
_TRAILER_TEXT = len(TRAILER_PREFIX) + 64 + 1
TRAILER_SIZE = len(GZIP_HEADER) + 5 + _TRAILER_TEXT + 8


def trailer(sha256_hex: str) -> bytes:
    """The gzip member that ends a backup: one stored (uncompressed) deflate block holding the sha256
    of the bytes before it (RFC 1951 §3.2.4, RFC 1952), so it has a fixed size and can be rebuilt."""
    text = TRAILER_PREFIX + sha256_hex.encode() + b"\n"
    block = b"\x01" + struct.pack("<HH", len(text), 0xFFFF ^ len(text)) + text
    return GZIP_HEADER + block + struct.pack("<II", zlib.crc32(text), len(text))


class BackupError(Exception):
    """A backup that cannot be written, read or restored; the message is one line for the user."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str
    mode: int = 0o600


@dataclass(frozen=True)
class Manifest:
    cluster: str
    revision: int  # the store's revision (the highest resourceVersion) in the copy
    objects: int  # live keys in the copy
    created: str  # RFC 3339, UTC
    members: tuple[Member, ...]
    boxk8s: str = ""

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "version": VERSION, "boxk8s": self.boxk8s, "created": self.created,
            "cluster": self.cluster, "revision": self.revision, "objects": self.objects,
            "members": [{"name": m.name, "size": m.size, "sha256": m.sha256, "mode": m.mode} for m in self.members],
        }, indent=2).encode() + b"\n"


def member_names(present: list[str]) -> list[str]:
    """What a backup takes of a state folder, given the relative paths present in it (pki/ flat)."""
    wanted = [n for n in FILES if n in present]
    return wanted + sorted(n for n in present if n.startswith(f"{PKI}/") and n.count("/") == 1)


def safe_name(name: str) -> bool:
    """A member restore may write: one of ours, relative, no way out of the state folder."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return False
    return name in FILES or (len(path.parts) == 2 and path.parts[0] == PKI and not path.parts[1].startswith("."))


def _field(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BackupError(f"its manifest has no valid {key!r}")
    return value


def parse_manifest(raw: bytes) -> Manifest:
    """The manifest of a backup, checked: our format and version, safe member names, what a cluster needs."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise BackupError("its manifest is not JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError("it is not a boxk8s backup (no boxk8s manifest)")
    if data.get("version") != VERSION:
        raise BackupError(f"it is a boxk8s backup of format version {data.get('version')!r}; "
                          f"this boxk8s reads version {VERSION}")
    members = []
    for m in _field(data, "members", list):
        if not isinstance(m, dict):
            raise BackupError("its manifest lists a member that is not an object")
        name, size, digest = _field(m, "name", str), _field(m, "size", int), _field(m, "sha256", str)
        mode = m.get("mode", 0o600)
        if not safe_name(name) or size < 0 or not re.fullmatch(r"[0-9a-f]{64}", digest) \
                or not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise BackupError(f"its manifest lists a member it may not hold: {name!r}")
        members.append(Member(name, size, digest, mode))
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise BackupError("its manifest lists a member twice")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise BackupError(f"it lacks {', '.join(missing)}")
    return Manifest(cluster=_field(data, "cluster", str), revision=_field(data, "revision", int),
                    objects=_field(data, "objects", int), created=_field(data, "created", str),
                    members=tuple(members), boxk8s=str(data.get("boxk8s", "")))


def check_target(state_dir: str, entries: list[str], running_pid: int | None, force: bool) -> None:
    """Whether a backup may be restored into a state folder holding `entries` (top-level names).
    A running cluster is never restored over; a folder with anything in it only with --force."""
    if running_pid:
        raise BackupError(f"the cluster in {state_dir} is running (pid {running_pid}): stop it with "
                          f"`boxk8s down --state-dir {state_dir}` before restoring into its folder")
    if entries and not force:
        raise BackupError(f"{state_dir} is not empty: restore into a new folder, or give --force to replace "
                          f"its cluster state ({', '.join((*FILES, PKI + '/'))})")


# --- scheduled snapshots ----------------------------------------------------------------------------

SNAPSHOT_PREFIX = "boxk8s-snapshot"
SNAPSHOT_SUFFIX = ".tar.gz"
_STAMP = "%Y%m%dT%H%M%S"
_SNAPSHOT = re.compile(rf"^{SNAPSHOT_PREFIX}-(?P<cluster>.+)-(?P<stamp>\d{{8}}T\d{{6}}\.\d{{3}}Z){re.escape(SNAPSHOT_SUFFIX)}$")


def snapshot_name(cluster: str, now: datetime) -> str:
    """k3s names its snapshots `etcd-snapshot-<node>-<unix time>`; ours carry the cluster and a UTC
    time to the millisecond, which sorts as it reads."""
    now = now.astimezone(UTC)
    return f"{SNAPSHOT_PREFIX}-{cluster}-{now.strftime(_STAMP)}.{now.microsecond // 1000:03d}Z{SNAPSHOT_SUFFIX}"


def plan_prune(names: list[str], cluster: str, keep: int) -> list[str]:
    """The snapshots to delete so that the newest `keep` of this cluster's remain (k3s's
    --etcd-snapshot-retention: it prunes only the snapshots its own name prefix made). Other files stay."""
    ours = []
    for name in names:
        found = _SNAPSHOT.match(name)
        if found and found["cluster"] == cluster:
            ours.append((found["stamp"], name))
    ours.sort(reverse=True)
    return [name for _, name in ours[max(keep, 0):]]
