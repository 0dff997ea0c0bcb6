"""Object bookkeeping helpers: timestamps, generated names, spec comparison."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

# The alphabet apimachinery's SimpleNameGenerator uses (no vowels, no confusable digits).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_BOOKKEEPING_KEYS = ("metadata", "status", "kind", "apiVersion")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def new_uid() -> str:
    return str(uuid.uuid4())


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything whose change bumps metadata.generation: all but metadata, status, kind, apiVersion."""
    return {k: v for k, v in obj.items() if k not in _BOOKKEEPING_KEYS}


def metadata(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
        obj["metadata"] = md
    return md
