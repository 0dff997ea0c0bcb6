"""The providers' ciphers on bytes, with the apiserver's storage formats, byte for byte.

- aesgcm (apiserver/pkg/storage/value/encrypt/aes/aes.go, NewGCMTransformer): a random 12-byte
  nonce, then AES-GCM's ciphertext and tag; the additional authenticated data is the storage key.
- aescbc (same file, NewCBCTransformer): a random 16-byte IV, then AES-CBC of the PKCS#7-padded
  value (no authentication, no additional data).
- secretbox (encrypt/secretbox/secretbox.go): a random 24-byte nonce, then NaCl's secretbox
  (XSalsa20-Poly1305) of the value.
- identity (encrypt/identity/identity.go): the value as it is; refuses to read encrypted data.

Each key's transformer sits behind its `NAME:` prefix and each provider behind its
`k8s:enc:<provider>:v1:` prefix (PrefixTransformers, as value.NewPrefixTransformers), so a stored
value reads `k8s:enc:aesgcm:v1:key1:<nonce><ciphertext>`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..transform import ENCRYPTED_PREFIX, TransformError
from .config import Provider

GCM_NONCE = 12
CBC_BLOCK = 16
SECRETBOX_NONCE = 24
SECRETBOX_OVERHEAD = 16  # Poly1305's tag

PROVIDER_PREFIXES = {
    "aesgcm": b"k8s:enc:aesgcm:v1:",
    "aescbc": b"k8s:enc:aescbc:v1:",
    "secretbox": b"k8s:enc:secretbox:v1:",
}
KEY_ERRORS = {
    "aesgcm": "no matching key was found for the provided AES transformer",
    "aescbc": "no matching key was found for the provided AES transformer",
    "secretbox": "no matching key was found for the provided Secretbox transformer",
}


class Transformer(Protocol):
    def from_storage(self, data: bytes, aad: bytes) -> tuple[bytes, bool]: ...

    def to_storage(self, data: bytes, aad: bytes) -> bytes: ...


class AesGcm:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def from_storage(self, data: bytes, aad: bytes) -> tuple[bytes, bool]:
        if len(data) < GCM_NONCE:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._aead.decrypt(data[:GCM_NONCE], data[GCM_NONCE:], aad), False
        except InvalidTag:
            raise TransformError("cipher: message authentication failed") from None

    def to_storage(self, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(GCM_NONCE)
        return nonce + self._aead.encrypt(nonce, data, aad)


class AesCbc:
    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.AES(key)

    def from_storage(self, data: bytes, aad: bytes) -> tuple[bytes, bool]:
        if len(data) < CBC_BLOCK:
            raise TransformError("the stored data was shorter than the required size")
        iv, body = data[:CBC_BLOCK], data[CBC_BLOCK:]
        if len(body) % CBC_BLOCK:
            raise TransformError("the stored data is not a multiple of the block size")
        decryptor = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        result = decryptor.update(body) + decryptor.finalize()
        pad = result[-1] if result else 0
        if pad == 0 or pad > len(result):
            raise TransformError("invalid PKCS7 data (empty or not padded)")
        if result[-pad:] != bytes([pad]) * pad:
            raise TransformError("invalid padding on input")
        return result[:-pad], False

    def to_storage(self, data: bytes, aad: bytes) -> bytes:
        pad = CBC_BLOCK - len(data) % CBC_BLOCK
        iv = os.urandom(CBC_BLOCK)
        encryptor = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


class Secretbox:
    def __init__(self, key: bytes) -> None:
        from nacl.secret import SecretBox  # PyNaCl (libsodium): only a secretbox configuration loads it

        self._box = SecretBox(key)

    def from_storage(self, data: bytes, aad: bytes) -> tuple[bytes, bool]:
        from nacl.exceptions import CryptoError

        if len(data) < SECRETBOX_NONCE + SECRETBOX_OVERHEAD:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._box.decrypt(data[SECRETBOX_NONCE:], data[:SECRETBOX_NONCE]), False
        except CryptoError:
            raise TransformError("output array was not large enough for encryption") from None  # upstream's words

    def to_storage(self, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(SECRETBOX_NONCE)
        return nonce + self._box.encrypt(data, nonce).ciphertext


class Identity:
    def from_storage(self, data: bytes, aad: bytes) -> tuple[bytes, bool]:
        if data.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        return data, False

    def to_storage(self, data: bytes, aad: bytes) -> bytes:
        return data


class PrefixTransformers:
    """value.NewPrefixTransformers: writes with the first; reads with the first whose prefix the
    data has (an error there moves on to the next match; identity's empty prefix matches all), and
    a read by any but the first is stale."""

    def __init__(self, transformers: Sequence[tuple[bytes, Transformer]], error: str) -> None:
        self.transformers = list(transformers)
        self._error = error

    def from_storage(self, data: bytes, aad: bytes) -> tuple[bytes, bool]:
        errors: list[str] = []
        for i, (prefix, transformer) in enumerate(self.transformers):
            if not data.startswith(prefix):
                continue
            try:
                result, stale = transformer.from_storage(data[len(prefix):], aad)
            except TransformError as exc:
                if prefix:  # identity failing (on encrypted data) is no error: try the next one
                    errors.append(str(exc))
                continue
            return result, stale or i != 0
        if errors:
            raise TransformError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
        raise TransformError(self._error)

    def to_storage(self, data: bytes, aad: bytes) -> bytes:
        prefix, transformer = self.transformers[0]
        return prefix + transformer.to_storage(data, aad)


_CIPHERS: dict[str, type[AesGcm] | type[AesCbc] | type[Secretbox]] = {
    "aesgcm": AesGcm, "aescbc": AesCbc, "secretbox": Secretbox,
}


def provider_transformer(provider: Provider) -> tuple[bytes, Transformer]:
    """The prefix and transformer of one configured provider (encryptionconfig's
    aesPrefixTransformer / secretboxPrefixTransformer / identity)."""
    if provider.kind == "identity":
        return b"", Identity()
    cipher = _CIPHERS[provider.kind]
    keys = PrefixTransformers([(key.name.encode() + b":", cipher(key.secret)) for key in provider.keys],
                              KEY_ERRORS[provider.kind])
    return PROVIDER_PREFIXES[provider.kind], keys
