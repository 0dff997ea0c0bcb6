"""Plain values shared by the store's modules: settings, events, the cached head of a key."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boxk8s import jsontext


@dataclass(frozen=True)
class StoreSettings:
    path: Path  # the SQLite file
    compaction_interval: float = 300.0  # seconds between background compactions
    compaction_keep: int = 10_000  # keep at least this many revisions of history
    watch_queue_size: int = 1000  # per-watcher bounded queue


@dataclass(frozen=True)
class WatchEvent:
    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    key: str
    revision: int
    value: dict[str, Any]  # for DELETED: the last value; resourceVersion = str(revision)
    prev_value: dict[str, Any] | None  # the value before this event (None for ADDED)


@dataclass(slots=True)
class Change:
    """A committed row as the hub carries it: JSON text, decoded per consumer so that no two
    consumers ever share a dict. `metadata_end` locates the value's metadata (see
    `encode_located`; -1 when unknown, as for rows read back from the table); `rendered` caches
    `rendered_json()` for every HTTP watcher that wants it."""

    type: str
    key: str
    revision: int
    value: str
    prev_revision: int
    prev_value: str | None
    metadata_end: int = -1
    rendered: bytes | None = field(default=None, compare=False, repr=False)

    def event(self, with_prev: bool = True) -> WatchEvent:
        """Decode for one consumer; without `with_prev` the previous value is not decoded (None)."""
        prev = None if self.prev_value is None or not with_prev else decode(self.prev_value, self.prev_revision)
        return WatchEvent(self.type, self.key, self.revision, decode(self.value, self.revision), prev)

    def rendered_json(self) -> bytes:
        """The value as API responses carry it (`render`), computed once for all who ask."""
        if self.rendered is None:
            self.rendered = render(self.value, self.revision, self.metadata_end)
        return self.rendered


@dataclass(slots=True)
class Head:
    """The newest row of a key. `value is None` marks a delete tombstone.

    `rendered` caches `render(value, revision)` once a list asked for it (a new write makes a
    new head, so it never goes stale); `metadata_end` as in Change. `value` is always the JSON
    text, decrypted when its row is encrypted."""

    revision: int
    create_revision: int
    value: str | None
    rendered: bytes | None = field(default=None, compare=False, repr=False)
    metadata_end: int = field(default=-1, compare=False)
    # Read back with another provider than writes use now: a rewrite writes it even unchanged.
    stale: bool = field(default=False, compare=False)
    # Why the row could not be read back (store/transform.py); the value is then "" and unusable.
    unreadable: str | None = field(default=None, compare=False)




def encode(value: dict[str, Any]) -> str:
    """JSON text of an object as stored: resourceVersion is not stored, the row id is."""
    return encode_located(value)[0]


def encode_located(value: dict[str, Any]) -> tuple[str, int]:
    """`encode`'s text, and the index in it of the closing brace of the top-level metadata
    (-1 if there is none): where `render` inserts the resourceVersion without parsing the text.

    The text is jsontext.dumps' own: the object is encoded with a placeholder for its metadata
    (a string no client can know), which is then replaced by the metadata's own encoding. Rows
    written before jsontext are the standard library's ASCII text: both decode alike."""
    metadata = value.get("metadata")
    if isinstance(metadata, dict) and "resourceVersion" in metadata:
        metadata = {k: v for k, v in metadata.items() if k != "resourceVersion"}
    if not isinstance(metadata, dict):
        return jsontext.dumps(value), -1
    text = jsontext.dumps({**value, "metadata": _PLACEHOLDER})
    at = text.find(_PLACEHOLDER_JSON)
    if text.find(_PLACEHOLDER_JSON, at + 1) >= 0:  # the value holds the placeholder: not by chance
        return jsontext.dumps({**value, "metadata": metadata}), -1
    md = jsontext.dumps(metadata)
    return text[:at] + md + text[at + len(_PLACEHOLDER_JSON):], at + len(md) - 1


_PLACEHOLDER = "\x00metadata-" + os.urandom(16).hex()
_PLACEHOLDER_JSON = jsontext.dumps(_PLACEHOLDER)


def decode(data: str, revision: int) -> dict[str, Any]:
    """A fresh dict from stored JSON, stamped with the revision of the row it came from."""
    value: dict[str, Any] = jsontext.loads(data)
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        metadata = value["metadata"] = {}
    metadata["resourceVersion"] = str(revision)
    return value


def render(data: str, revision: int, metadata_end: int = -1) -> bytes:
    """An object as API responses carry it: compact UTF-8 JSON, resourceVersion stamped.

    With `metadata_end` (from `encode_located`) the resourceVersion is spliced into the stored
    text, which then is already that JSON, unless it escapes characters (rows stored before
    jsontext are ASCII; the API writes UTF-8): decoding and encoding again gives the same bytes."""
    if metadata_end > 0 and "\\u" not in data:
        stamp = f'"resourceVersion":"{revision}"' if data[metadata_end - 1] == "{" else \
            f',"resourceVersion":"{revision}"'
        return (data[:metadata_end] + stamp + data[metadata_end:]).encode()
    return jsontext.dumps_bytes(decode(data, revision))


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be encoded; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None
