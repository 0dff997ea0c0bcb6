"""The providers' storage formats, checked against the ciphers directly (cryptography, PyNaCl):
what kube-apiserver writes, byte for byte, so that each can read the other's values."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl.secret import SecretBox

from boxk8s.store.encryption.config import Key, Provider
from boxk8s.store.encryption.providers import Identity, PrefixTransformers, provider_transformer
from boxk8s.store.transform import TransformError

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
AAD = b"/registry/core/secrets/default/db"
DATA = b'{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}'


def provider(kind: str, *keys: tuple[str, bytes]) -> PrefixTransformers:
    prefix, keyed = provider_transformer(Provider(kind, tuple(Key(n, s) for n, s in keys or [("key1", KEY)])))
    return PrefixTransformers([(prefix, keyed)], "no matching prefix found")


def test_aesgcm_is_a_12_byte_nonce_then_gcm_with_the_key_as_additional_data() -> None:
    stored = provider("aesgcm").to_storage(DATA, AAD)
    head = b"k8s:enc:aesgcm:v1:key1:"
    assert stored.startswith(head)
    body = stored[len(head):]
    assert len(body) == 12 + len(DATA) + 16
    assert AESGCM(KEY).decrypt(body[:12], body[12:], AAD) == DATA


def test_aesgcm_values_differ_each_write_and_read_back() -> None:
    gcm = provider("aesgcm")
    one, two = gcm.to_storage(DATA, AAD), gcm.to_storage(DATA, AAD)
    assert one != two  # a random nonce each time
    assert gcm.from_storage(one, AAD) == (DATA, False)


def test_aesgcm_refuses_a_value_moved_to_another_key() -> None:
    """The storage key is authenticated: a ciphertext copied under another name does not decrypt."""
    gcm = provider("aesgcm")
    stored = gcm.to_storage(DATA, AAD)
    with pytest.raises(TransformError, match="cipher: message authentication failed"):
        gcm.from_storage(stored, b"/registry/core/secrets/default/other")


def test_aescbc_is_an_iv_then_cbc_of_the_pkcs7_padded_value() -> None:
    stored = provider("aescbc").to_storage(DATA, AAD)
    head = b"k8s:enc:aescbc:v1:key1:"
    body = stored[len(head):]
    assert stored.startswith(head) and len(body) % 16 == 0
    decryptor = Cipher(algorithms.AES(KEY), modes.CBC(body[:16])).decryptor()
    padded = decryptor.update(body[16:]) + decryptor.finalize()
    assert padded[:-padded[-1]] == DATA and padded[-padded[-1]:] == bytes([padded[-1]]) * padded[-1]


def test_aescbc_reads_what_another_writer_wrote() -> None:
    iv = os.urandom(16)
    pad = 16 - len(DATA) % 16
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    stored = b"k8s:enc:aescbc:v1:key1:" + iv + encryptor.update(DATA + bytes([pad]) * pad) + encryptor.finalize()
    assert provider("aescbc").from_storage(stored, AAD) == (DATA, False)


def test_secretbox_is_a_24_byte_nonce_then_naCl_secretbox() -> None:
    stored = provider("secretbox").to_storage(DATA, AAD)
    head = b"k8s:enc:secretbox:v1:key1:"
    body = stored[len(head):]
    assert stored.startswith(head) and len(body) == 24 + 16 + len(DATA)
    assert SecretBox(KEY).decrypt(body[24:], body[:24]) == DATA
    assert provider("secretbox").from_storage(stored, AAD) == (DATA, False)


@pytest.mark.parametrize("kind, message", [
    ("aesgcm", "cipher: message authentication failed"),
    ("secretbox", "output array was not large enough for encryption"),
])
def test_a_wrong_key_of_the_same_name_is_an_error(kind: str, message: str) -> None:
    stored = provider(kind, ("key1", KEY)).to_storage(DATA, AAD)
    with pytest.raises(TransformError, match=message):
        provider(kind, ("key1", OTHER)).from_storage(stored, AAD)


def test_a_key_name_not_configured_is_an_error() -> None:
    stored = provider("aesgcm", ("old", KEY)).to_storage(DATA, AAD)
    with pytest.raises(TransformError, match="^no matching key was found for the provided AES transformer$"):
        provider("aesgcm", ("new", KEY)).from_storage(stored, AAD)


def test_the_first_key_writes_and_every_key_reads_the_later_ones_stale() -> None:
    old = provider("aesgcm", ("old", OTHER))
    both = provider("aesgcm", ("new", KEY), ("old", OTHER))
    assert both.to_storage(DATA, AAD).startswith(b"k8s:enc:aesgcm:v1:new:")
    assert both.from_storage(old.to_storage(DATA, AAD), AAD) == (DATA, True)
    assert both.from_storage(both.to_storage(DATA, AAD), AAD) == (DATA, False)


def chain(*kinds: str) -> PrefixTransformers:
    return PrefixTransformers([provider_transformer(Provider(k, () if k == "identity" else (Key("k", KEY),)))
                               for k in kinds], "no matching prefix found")


def test_providers_are_tried_by_prefix_and_any_but_the_first_is_stale() -> None:
    encrypted = chain("aesgcm").to_storage(DATA, AAD)
    assert chain("aesgcm", "identity").from_storage(DATA, AAD) == (DATA, True)  # plain JSON, read by identity
    assert chain("identity", "aesgcm").from_storage(encrypted, AAD) == (DATA, True)  # identity skips it
    assert chain("identity", "aesgcm").from_storage(DATA, AAD) == (DATA, False)
    assert chain("identity", "aesgcm").to_storage(DATA, AAD) == DATA
    assert chain("secretbox", "aescbc", "aesgcm").from_storage(encrypted, AAD) == (DATA, True)


def test_no_matching_provider() -> None:
    with pytest.raises(TransformError, match="^no matching prefix found$"):
        chain("aesgcm").from_storage(DATA, AAD)
    with pytest.raises(TransformError, match="^no matching prefix found$"):
        chain("identity").from_storage(chain("aesgcm").to_storage(DATA, AAD), AAD)


def test_identity_refuses_encrypted_data() -> None:
    with pytest.raises(TransformError, match="identity transformer tried to read encrypted data"):
        Identity().from_storage(b"k8s:enc:aesgcm:v1:k:xyz", AAD)
