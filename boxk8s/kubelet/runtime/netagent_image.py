"""The network agent's image, made without a registry from the host's own `nft` and `ip`.

The agent (netagent.py) needs two Linux tools inside the cluster network: `ip` to hold the
ClusterIPs and `nft` to steer connections to them. No image can be pulled and busybox has
neither, so the image is the host's binaries with the shared libraries `ldd` names for them, at
the same paths, plus the built-in pause program as its process (pause.py). Docker imports the
tar as an image (`docker import`); its digest label says when the host's tools changed.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from boxk8s.kubelet.runtime import pause

TOOLS = ("nft", "ip")
_SBIN = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")  # a normal user's PATH may lack the sbin folders
LIBRARY_PATH = "/lib:/lib64:/usr/lib:/usr/lib64"


class NetworkAgentUnavailable(RuntimeError):
    """The host lacks what the agent image is made of."""


def find_tool(name: str) -> Path:
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))
    if not found:
        raise NetworkAgentUnavailable(
            f"`{name}` was not found on this machine (Debian and Ubuntu: apt-get install nftables iproute2); "
            "pods cannot reach Services by ClusterIP or name without it")
    return Path(found)


def parse_ldd(text: str) -> list[str]:
    """The absolute paths of the libraries in `ldd`'s output, the program interpreter included
    (`linux-vdso.so.1 (0x…)` is the kernel's, with no file)."""
    paths: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if "=>" in line:
            target = line.split("=>", 1)[1].strip().split(" (", 1)[0].strip()
        else:
            target = line.split(" (", 1)[0].strip()
        if target.startswith("/") and target not in paths:
            paths.append(target)
    return paths


def _libraries(binary: Path) -> list[str]:
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    if out.returncode != 0 and "not a dynamic executable" not in (out.stdout + out.stderr):
        raise NetworkAgentUnavailable(f"cannot list the libraries of {binary}: {(out.stderr or out.stdout).strip()}")
    return parse_ldd(out.stdout)


def image_files(tools: Sequence[str] = TOOLS) -> dict[str, Path]:
    """Path in the image → file on the host: the tools (in /bin) and every library they load."""
    files: dict[str, Path] = {}
    for name in tools:
        binary = find_tool(name)
        files[f"/bin/{name}"] = binary.resolve()
        for lib in _libraries(binary):
            files.setdefault(lib, Path(lib).resolve())
    return files


def agent_tar(arch: str, tools: Sequence[str] = TOOLS) -> tuple[bytes, str]:
    """(the image's root filesystem as a tar, a content digest) — reproducible for the same host files.
    (scripts/bench_network.py makes its pod-side load generator, wrk, the same way.)"""
    entries: dict[str, bytes] = {"/pause": pause.pause_elf(arch)}
    for target, source in sorted(image_files(tools).items()):
        entries[target] = source.read_bytes()
    digest = hashlib.sha256()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        made: set[str] = set()
        for target, data in sorted(entries.items()):
            path = PurePosixPath(target.lstrip("/"))
            for parent in reversed(path.parents[:-1]):
                if str(parent) not in made:
                    made.add(str(parent))
                    d = tarfile.TarInfo(str(parent))
                    d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(d)
            info = tarfile.TarInfo(str(path))
            info.size, info.mode, info.mtime = len(data), 0o755, 0
            tar.addfile(info, io.BytesIO(data))
            digest.update(target.encode() + b"\0" + hashlib.sha256(data).digest())
    return buf.getvalue(), digest.hexdigest()[:16]
