"""The backup file: written whole or not at all, verified to the last byte before a restore
touches anything (the checks are plan.py's), extracted with each member checked again."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from boxk8s.backup import plan
from boxk8s.backup.database import copy_database
from boxk8s.backup.plan import BackupError, Manifest, Member

CHUNK = 1 << 20
VERSION = "0.1.0"  # boxk8s's, recorded in the manifest (cli.py `version` says the same)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _present(state_dir: Path) -> list[str]:
    names = [p.name for p in state_dir.iterdir() if p.is_file()]
    pki = state_dir / plan.PKI
    if pki.is_dir():
        names += [f"{plan.PKI}/{p.name}" for p in pki.iterdir() if p.is_file()]
    return names


def _read_small(state_dir: Path, names: list[str]) -> dict[str, tuple[bytes, int]]:
    """The small files, each read once (the running cluster may replace one meanwhile, e.g. cluster.json:
    what is hashed is what is written), with their modes."""
    out = {}
    for name in names:
        path = state_dir / name
        try:
            out[name] = (path.read_bytes(), path.stat().st_mode & 0o777)
        except FileNotFoundError:
            continue  # replaced or removed between the listing and now; the required ones are checked below
    missing = [n for n in plan.REQUIRED if n != plan.DATABASE and n not in out]
    if missing:
        raise BackupError(f"{state_dir} lacks {', '.join(missing)}: not a cluster's state folder")
    return out


def _tarinfo(name: str, size: int, mode: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, int(mtime)
    return info


def write_backup(state_dir: Path, dest: Path, *, cluster: str, now: datetime | None = None) -> Manifest:
    """Snapshot the cluster in `state_dir` into the backup file `dest` (replaced atomically: a
    reader never sees half a file, a failure leaves none)."""
    now = now or datetime.now(UTC)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=dest.parent) as tmp:
        db = Path(tmp) / plan.DATABASE
        copied = copy_database(state_dir / plan.DATABASE, db)
        small = _read_small(state_dir, [n for n in plan.member_names(_present(state_dir)) if n != plan.DATABASE])
        members = (Member(plan.DATABASE, db.stat().st_size, _sha256(db), 0o600),
                   *(Member(n, len(data), hashlib.sha256(data).hexdigest(), mode) for n, (data, mode) in small.items()))
        manifest = Manifest(cluster=cluster, revision=copied.revision, objects=copied.objects,
                            created=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
                            members=members, boxk8s=VERSION)
        body = manifest.to_json()
        out = Path(tmp) / "backup"
        with open(out, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0, compresslevel=plan.GZIP_LEVEL) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            stamp = now.timestamp()
            tar.addfile(_tarinfo(plan.MANIFEST, len(body), 0o600, stamp), io.BytesIO(body))
            with open(db, "rb") as f:
                tar.addfile(_tarinfo(plan.DATABASE, members[0].size, 0o600, stamp), f)
            for m in members[1:]:
                tar.addfile(_tarinfo(m.name, m.size, m.mode, stamp), io.BytesIO(small[m.name][0]))
        digest = _sha256(out)
        with open(out, "ab") as f:
            f.write(plan.trailer(digest))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(out, 0o600)  # it holds the CA's key and the admin token
        out.replace(dest)
    return manifest


# --- reading ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tuple[tarfile.TarFile, gzip.GzipFile]]:
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    with raw:
        _check_header(raw)
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            yield tar, gz


def _check_header(f: IO[bytes]) -> None:
    if f.read(len(plan.GZIP_MAGIC)) != plan.GZIP_MAGIC:
        raise BackupError("it is not a boxk8s backup (its header is not ours)")


def _check_trailer(path: Path) -> None:
    """The sha256 at the end against every byte before it: a truncated or altered file stops here."""
    size = path.stat().st_size
    if size <= plan.TRAILER_SIZE:
        raise BackupError("it is truncated (too short to be a backup)")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        left = size - plan.TRAILER_SIZE
        while left:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise BackupError("it is truncated")
            digest.update(chunk)
            left -= len(chunk)
        end = f.read()
    if end != plan.trailer(digest.hexdigest()):
        if plan.TRAILER_PREFIX not in end:
            raise BackupError("it is truncated or corrupt (it does not end with its checksum)")
        raise BackupError("it is corrupt (its checksum does not match its content)")


def _members(path: Path) -> Iterator[tuple[Manifest | None, Member | None, IO[bytes] | None]]:
    """Walk the file: first (manifest, None, None), then (None, member, its reader) for each member
    in the manifest's order; at the end the whole gzip stream has been read, its CRC checked."""
    with _opened(path) as (tar, gz):
        first = tar.next()
        if first is None or first.name != plan.MANIFEST or not first.isfile() or first.size > CHUNK:
            raise BackupError("it is not a boxk8s backup (it does not begin with a manifest)")
        reader = tar.extractfile(first)
        assert reader is not None
        manifest = plan.parse_manifest(reader.read())
        yield manifest, None, None
        for m in manifest.members:
            info = tar.next()
            if info is None:
                raise BackupError(f"it is truncated or corrupt: {m.name} is missing")
            if info.name != m.name or not info.isfile() or info.size != m.size:
                raise BackupError(f"it holds {info.name!r} ({info.size} bytes) where the manifest says "
                                  f"{m.name!r} ({m.size} bytes)")
            reader = tar.extractfile(info)
            assert reader is not None
            yield None, m, reader
        if tar.next() is not None:
            raise BackupError("it holds members its manifest does not list")
        while gz.read(CHUNK):  # to the end: gzip checks its CRC-32 and length there
            pass


def _copy_checked(m: Member, reader: IO[bytes], out: IO[bytes] | None) -> None:
    digest, size = hashlib.sha256(), 0
    while chunk := reader.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    if size != m.size or digest.hexdigest() != m.sha256:
        raise BackupError(f"it is corrupt: {m.name} does not match its checksum")


_UNREADABLE = (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, OSError, ValueError)


def _explain(path: Path, exc: BaseException) -> BackupError:
    if isinstance(exc, BackupError):
        return BackupError(f"{path} is refused: {exc}")
    if isinstance(exc, EOFError):
        return BackupError(f"{path} is refused: it is truncated")
    return BackupError(f"{path} is refused: it is corrupt ({exc})")


def verify_backup(path: Path) -> Manifest:
    """Read the whole file and check every byte of it; write nothing. The manifest if all is well."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    manifest: Manifest | None = None
    try:
        with open(path, "rb") as f:
            _check_header(f)
        _check_trailer(path)
        for found, member, reader in _members(path):
            if found is not None:
                manifest = found
            elif member is not None and reader is not None:
                _copy_checked(member, reader, None)
    except (BackupError, *_UNREADABLE) as exc:
        raise _explain(path, exc) from None
    assert manifest is not None
    return manifest


def extract_backup(path: Path, target: Path) -> Manifest:
    """Write the members of a (verified) backup under `target`, checking each again on the way."""
    manifest: Manifest | None = None
    try:
        for found, member, reader in _members(path):
            if found is not None:
                manifest = found
            elif member is not None and reader is not None:
                dest = target / member.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as out:
                    _copy_checked(member, reader, out)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(dest, member.mode)
    except (BackupError, *_UNREADABLE) as exc:
        raise _explain(path, exc) from None
    assert manifest is not None
    return manifest
