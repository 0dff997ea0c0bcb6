"""The contract between the API server and the kubelets for pods/log and pods/exec (the kubelet implements it).

It sits in `client` because both sides use it and neither may import the other: the API serves
the streams, each kubelet produces them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str | None = None  # RFC3339
    timestamps: bool = False
    limit_bytes: int | None = None


class ExecStream(Protocol):
    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...  # (1 stdout | 2 stderr, data)
    async def resize(self, width: int, height: int) -> None: ...
    async def wait(self) -> int: ...  # exit code
    async def close(self) -> None: ...


class PodStreams(Protocol):
    """Raises boxk8s.errors.ApiError subclasses (BadRequest for a wrong container or a pod not running)."""

    def logs(self, pod: dict[str, Any], options: LogOptions) -> AsyncIterator[bytes]: ...

    async def exec(self, pod: dict[str, Any], container: str, command: list[str], *,
                   stdin: bool, tty: bool) -> ExecStream: ...

    async def attach(self, pod: dict[str, Any], container: str, *, stdin: bool, tty: bool) -> ExecStream: ...

    async def port_forward(self, pod: dict[str, Any], port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to `port` of the running pod (BadRequest when it does not run; OSError when
        nothing listens there)."""
        ...
