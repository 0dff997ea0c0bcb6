"""Store errors. The API layer maps them to Kubernetes Status reasons (AlreadyExists, NotFound,
Conflict, Expired); the store itself knows nothing about HTTP."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class KeyExists(StoreError):
    """Create of a key that already has a live value."""


class KeyNotFound(StoreError):
    """Get, update or delete of a key with no live value."""


class RevisionConflict(StoreError):
    """Compare-and-swap failed: the expected revision is not the key's current revision."""


class Compacted(StoreError):
    """The requested revision is older than the compaction point; its history is gone."""

    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(
            f"revision {requested} is older than the compaction point {compact_revision}"
        )
        self.requested = requested
        self.compact_revision = compact_revision


class RequestTooLarge(StoreError):
    """A write whose key and value exceed MAX_REQUEST_BYTES: what etcd refuses with
    `etcdserver: request is too large` (its --max-request-bytes, 1.5 MiB by default)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("etcdserver: request is too large")
        self.size = size
        self.limit = limit


class Unreadable(StoreError):
    """A stored value that cannot be decrypted with the configured providers (the apiserver's
    storage.NewInternalError of a failed TransformFromStorage)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason
