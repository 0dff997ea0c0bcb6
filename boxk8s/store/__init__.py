"""The store: an append-only revision log on SQLite (kine's model), with watch and compaction."""

from .errors import (
    Compacted,
    KeyExists,
    KeyNotFound,
    RequestTooLarge,
    RevisionConflict,
    StoreError,
    Unreadable,
)
from .model import StoreSettings, WatchEvent
from .store import Store
from .watch import Watch

__all__ = [
    "Compacted",
    "KeyExists",
    "KeyNotFound",
    "RequestTooLarge",
    "RevisionConflict",
    "Store",
    "StoreError",
    "StoreSettings",
    "Unreadable",
    "Watch",
    "WatchEvent",
]
