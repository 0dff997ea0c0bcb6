"""Object bookkeeping helpers: timestamps, generated names, spec comparison."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from typing import Any

# The alphabet apimachinery's SimpleNameGenerator uses (no vowels, no confusable digits).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_BOOKKEEPING_KEYS = ("metadata", "status", "kind", "apiVersion")


_last_second: tuple[int, str] = (-1, "")


def now_rfc3339() -> str:
    """The current time to the second, as metadata timestamps carry it (formatted once a second:
    every write stamps one or more)."""
    global _last_second
    now = time.time()
    second = int(now)
    if _last_second[0] != second:
        _last_second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _last_second[1]


def now_rfc3339_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time(value: datetime) -> str:
    """metav1.Time as JSON: RFC 3339 to the second, in UTC (a naive datetime is taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_timestamp(seconds: float) -> str:
    """metav1.Time of a Unix time (seconds since the epoch)."""
    return format_time(datetime.fromtimestamp(seconds, UTC))


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def generate_name(prefix: str) -> str:
    # apimachinery truncates the prefix so that the result fits in 63 characters.
    return prefix[: 63 - 5] + "".join(random.choices(_NAME_ALPHABET, k=5))


_VARIANT = "89ab"


def new_uid() -> str:
    """A random (version 4) UUID as text, as str(uuid.uuid4()) but without building a UUID."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything whose change bumps metadata.generation: all but metadata, status, kind, apiVersion."""
    return {k: v for k, v in obj.items() if k not in _BOOKKEEPING_KEYS}


def metadata(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
        obj["metadata"] = md
    return md
