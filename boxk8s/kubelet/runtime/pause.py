"""The pod sandbox image, made without a registry: a hand-assembled static ELF that sleeps forever.

A sandbox only has to hold the pod's network namespace open. Kubernetes uses `pause`, a small C
program; we cannot pull it, and building one would need a compiler. So we emit the machine code
ourselves — about 200 bytes — put it in a tar as `/pause` and let the Docker daemon import that
tar as an image (`POST /images/create?fromSrc=-`, the API behind `docker import`).

The program, for x86_64 and aarch64:

    rt_sigaction(SIGTERM, {handler=exit0}, NULL, 8)   also SIGINT
    loop:  pause()          x86_64: syscall 34
           ppoll(0,0,0,0)   aarch64 has no pause(); a ppoll with no fds and no timeout blocks forever
           goto loop
    exit0: exit_group(0)

As PID 1 of its container the kernel ignores signals with no handler, which is why SIGTERM
gets one: `docker stop` then ends the sandbox at once with exit code 0 instead of waiting out
the grace period for SIGKILL. The handler never returns, so the signal frame's return address
is never used (x86_64 still insists on SA_RESTORER being set; we point it at the handler).

This module is pure (no Docker): docker.py does the import.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tarfile

BASE = 0x400000  # load address of the single segment
_EHDR = 64
_PHDR = 56
CODE_OFFSET = _EHDR + _PHDR

SIGINT = 2
SIGTERM = 15
SA_RESTORER = 0x04000000

# Docker's architecture names (daemon `Arch` / image `Architecture`) and uname's.
_ARCH_ALIASES = {
    "x86_64": "amd64", "amd64": "amd64",
    "aarch64": "arm64", "arm64": "arm64", "arm64/v8": "arm64",
}
EM_X86_64 = 62
EM_AARCH64 = 183


class UnsupportedArchitecture(RuntimeError):
    pass


def normalize_arch(arch: str) -> str:
    try:
        return _ARCH_ALIASES[arch.lower()]
    except KeyError:
        raise UnsupportedArchitecture(
            f"no built-in pause program for architecture {arch!r} (have amd64, arm64); "
            "set the sandbox image to one that exists locally"
        ) from None


def _elf(machine: int, code: bytes, align: int) -> bytes:
    size = CODE_OFFSET + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, version 1, SysV
    ehdr = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        2,  # ET_EXEC
        machine,
        1,  # EV_CURRENT
        BASE + CODE_OFFSET,  # entry: the first instruction
        _EHDR,  # program headers right after this header
        0,  # no section headers
        0,
        _EHDR,
        _PHDR,
        1,
        0,
        0,
        0,
    )
    phdr = struct.pack(
        "<IIQQQQQQ",
        1,  # PT_LOAD
        5,  # PF_R | PF_X
        0,  # the whole file...
        BASE,  # ...mapped at BASE
        BASE,
        size,
        size,
        align,
    )
    return ehdr + phdr + code


def _x86_64() -> bytes:
    def rel32(target: int, after: int) -> bytes:
        return struct.pack("<i", target - after)

    # Assemble twice: the first pass only measures offsets.
    act = handler = 0
    for _ in range(2):
        code = bytearray()
        for sig in (SIGTERM, SIGINT):
            code += b"\xbf" + struct.pack("<I", sig)  # mov edi, sig
            code += b"\x48\x8d\x35"  # lea rsi, [rip + act]
            code += rel32(act, len(code) + 4)
            code += b"\x31\xd2"  # xor edx, edx        (no old action)
            code += b"\x41\xba\x08\x00\x00\x00"  # mov r10d, 8  (sizeof sigset)
            code += b"\xb8\x0d\x00\x00\x00"  # mov eax, 13 (rt_sigaction)
            code += b"\x0f\x05"  # syscall
        loop = len(code)
        code += b"\xb8\x22\x00\x00\x00"  # mov eax, 34 (pause)
        code += b"\x0f\x05"  # syscall
        code += b"\xeb" + struct.pack("<b", loop - (len(code) + 2))  # jmp loop
        handler = len(code)
        code += b"\xb8\xe7\x00\x00\x00"  # mov eax, 231 (exit_group)
        code += b"\x31\xff"  # xor edi, edi
        code += b"\x0f\x05"  # syscall
        code += bytes(-len(code) % 8)
        act = len(code)
        addr = BASE + CODE_OFFSET + handler
        # struct kernel_sigaction: handler, flags, restorer, mask
        code += struct.pack("<QQQQ", addr, SA_RESTORER, addr, 0)
    return _elf(EM_X86_64, bytes(code), 0x1000)


def _aarch64() -> bytes:
    def movz(rd: int, imm: int) -> bytes:  # movz xD, #imm
        return struct.pack("<I", 0xD2800000 | (imm << 5) | rd)

    svc = struct.pack("<I", 0xD4000001)  # svc #0

    def adr(rd: int, offset: int) -> bytes:  # adr xD, pc+offset
        imm = offset & 0x1FFFFF
        return struct.pack("<I", 0x10000000 | ((imm & 3) << 29) | ((imm >> 2) << 5) | rd)

    def b(offset: int) -> bytes:  # b pc+offset
        return struct.pack("<I", 0x14000000 | ((offset >> 2) & 0x3FFFFFF))

    act = handler = 0
    for _ in range(2):
        code = bytearray()
        for sig in (SIGTERM, SIGINT):
            code += movz(0, sig)
            code += adr(1, act - len(code))
            code += movz(2, 0)
            code += movz(3, 8)
            code += movz(8, 134)  # rt_sigaction
            code += svc
        loop = len(code)
        for reg in range(4):
            code += movz(reg, 0)
        code += movz(8, 73)  # ppoll(NULL, 0, NULL, NULL)
        code += svc
        code += b(loop - len(code))
        handler = len(code)
        code += movz(0, 0)
        code += movz(8, 94)  # exit_group
        code += svc
        code += bytes(-len(code) % 8)
        act = len(code)
        # struct sigaction (arm64 defines SA_RESTORER, so the field exists; 0 = the vDSO trampoline)
        code += struct.pack("<QQQQ", BASE + CODE_OFFSET + handler, 0, 0, 0)
    return _elf(EM_AARCH64, bytes(code), 0x10000)


def pause_elf(arch: str) -> bytes:
    """The pause program for a Docker or uname architecture name."""
    return {"amd64": _x86_64, "arm64": _aarch64}[normalize_arch(arch)]()


def pause_tar(arch: str) -> bytes:
    """A root filesystem holding only `/pause` (mode 0755), as `docker import` wants it."""
    binary = pause_elf(arch)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("pause")
        info.size = len(binary)
        info.mode = 0o755
        info.mtime = 0  # reproducible
        tar.addfile(info, io.BytesIO(binary))
    return buf.getvalue()


def pause_digest(arch: str) -> str:
    """A short content hash, stored as an image label so a changed program gets re-imported."""
    return hashlib.sha256(pause_elf(arch)).hexdigest()[:16]
