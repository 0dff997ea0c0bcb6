"""Values at the store's boundary with SQLite: the JSON text the store works with in memory, and
what a row holds, which may be encrypted (store/encryption/).

The store transforms a value on its way into a row and back, and nowhere else: its heads, watch
events and every answer carry the JSON text, so nothing above the store sees ciphertext and no
plaintext of an encrypted resource reaches the file. As the apiserver's value.Transformer
(apiserver/pkg/storage/value/transformer.go), a read also says whether the row is *stale*: read
with another provider than the one writes use now, so that rewriting it unchanged still writes it.
"""

from __future__ import annotations

from typing import Protocol

ENCRYPTED_PREFIX = b"k8s:enc:"  # reserved for encrypted data on disk (identity.go)


class TransformError(Exception):
    """A stored value that cannot be read back (no provider for its prefix, a wrong key, tampering)."""


class ValueTransformer(Protocol):
    def to_storage(self, key: str, text: str) -> str | bytes:
        """What the row of `key` holds for the JSON `text`."""
        ...

    def from_storage(self, key: str, stored: str | bytes) -> tuple[str, bool]:
        """The JSON text of a row's value and whether it is stale; TransformError if unreadable."""
        ...


class Plain:
    """No encryption: rows hold the JSON text. A row that holds encrypted data cannot be read (the
    apiserver's default for a resource without providers, identity.NewEncryptCheckTransformer)."""

    def to_storage(self, key: str, text: str) -> str | bytes:
        return text

    def from_storage(self, key: str, stored: str | bytes) -> tuple[str, bool]:
        if isinstance(stored, str):
            return stored, False
        if stored.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        try:
            return stored.decode(), False
        except UnicodeDecodeError as exc:
            raise TransformError(f"the stored data is not text: {exc}") from None


PLAIN = Plain()
