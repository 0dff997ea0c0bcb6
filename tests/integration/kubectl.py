"""The real `kubectl` against an in-process API server: its own cache dir, no kubeconfig, default flags."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


async def run_kubectl(server: str, cache: Path, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """`kubectl --server URL --cache-dir CACHE ARGS…`: (exit code, stdout, stderr). KUBECONFIG points at
    nothing, so no user's config leaks in; plain HTTP, so kubectl sends no credentials."""
    env = {**os.environ, "KUBECONFIG": str(cache.parent / "no-kubeconfig")}
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "--server", server, "--cache-dir", str(cache), *args,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
