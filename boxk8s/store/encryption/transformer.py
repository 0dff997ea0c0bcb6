"""The store's ValueTransformer for an EncryptionConfiguration: each key's resource gets the
providers configured for it (apiserver/pkg/server/options/encryptionconfig: one prefix
transformer per group-resource; a resource without providers is stored as plain JSON).

Storage keys read `/registry/<group>/<plural>/...` (resources/registry.py: `core` for the core
group); the additional authenticated data of aesgcm is the whole key, as the apiserver uses the
etcd key (etcd3/store.go authenticatedDataString).
"""

from __future__ import annotations

from pathlib import Path

from ..transform import PLAIN, TransformError
from .config import (
    EncryptionConfig,
    EncryptionConfigError,
    GroupResource,
    parse_encryption_config,
    providers_by_resource,
    resource_lookup_order,
)
from .providers import Identity, PrefixTransformers, provider_transformer


class EncryptionTransformer:
    def __init__(self, config: EncryptionConfig) -> None:
        self._overrides = {
            gr: PrefixTransformers([provider_transformer(p) for p in providers], "no matching prefix found")
            for gr, providers in providers_by_resource(config).items()
        }
        self._by_resource: dict[GroupResource, PrefixTransformers | None] = {}

    def _for_key(self, key: str) -> PrefixTransformers | None:
        parts = key.split("/", 4)  # "", "registry", group, plural, rest
        if len(parts) < 4:
            return None
        gr = ("" if parts[2] == "core" else parts[2], parts[3])
        try:
            return self._by_resource[gr]
        except KeyError:
            found = next((self._overrides[g] for g in resource_lookup_order(gr) if g in self._overrides), None)
            self._by_resource[gr] = found
            return found

    def encrypts(self, key: str) -> bool:
        """Whether writes of `key` are encrypted (its first provider is not identity)."""
        found = self._for_key(key)
        return found is not None and not isinstance(found.transformers[0][1], Identity)

    def to_storage(self, key: str, text: str) -> str | bytes:
        found = self._for_key(key)
        if found is None or isinstance(found.transformers[0][1], Identity):
            return text
        return found.to_storage(text.encode(), key.encode())

    def from_storage(self, key: str, stored: str | bytes) -> tuple[str, bool]:
        found = self._for_key(key)
        if found is None:
            return PLAIN.from_storage(key, stored)
        data = stored.encode() if isinstance(stored, str) else stored
        result, stale = found.from_storage(data, key.encode())
        if not result.startswith(b"{"):  # AES-CBC authenticates nothing: a wrong key may unpad garbage
            raise TransformError("the stored data does not decode to an object")
        try:
            return result.decode(), stale
        except UnicodeDecodeError:
            raise TransformError("the stored data does not decode to an object") from None


def load_encryption_config(path: Path) -> EncryptionTransformer:
    """The transformer of `--encryption-provider-config FILE`, or EncryptionConfigError saying why
    not, in the apiserver's words (GetTransformerOverrides)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise EncryptionConfigError(
            f'error opening encryption provider configuration file "{path}": {exc.strerror or exc}') from None
    try:
        config = parse_encryption_config(text)
        return EncryptionTransformer(config)
    except EncryptionConfigError as exc:
        raise EncryptionConfigError(
            f'error while parsing encryption provider configuration file "{path}": {exc}') from None
