"""The clock the kubelet reads and sleeps on: injected, so tests do not wait for real time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

from boxk8s.resources.meta import format_timestamp


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (comparable with container timestamps)."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def rfc3339(ts: float) -> str:
    """A kubelet timestamp (seconds) as the API writes times."""
    return format_timestamp(ts)


def parse_rfc3339(text: str | None) -> float | None:
    """Seconds since the epoch, or None; accepts Docker's nanosecond timestamps."""
    if not text or text.startswith("0001-01-01"):
        return None
    s = text.strip().replace("Z", "+00:00")
    if "." in s:  # Python parses at most microseconds
        head, _, rest = s.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits):]
        s = f"{head}.{digits[:6]}{tz}"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
