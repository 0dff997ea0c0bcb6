"""The store with a transformer: rows of configured resources are encrypted, everything above the
rows (heads, gets, lists, watch events, history) is JSON text; rotation marks rows stale; a row no
provider can read makes that key unreadable, not the store."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from boxk8s.store import Store, StoreSettings, Unreadable
from boxk8s.store.encryption import EncryptionTransformer
from boxk8s.store.encryption.config import EncryptionConfig, Key, Provider, ResourceConfig

SECRET = "/registry/core/secrets/default/db"
CONFIGMAP = "/registry/core/configmaps/default/db"
PASSWORD = "aHVudGVyMi1wYXNzd29yZA=="  # the base64 a Secret's data holds


def transformer(*providers: Provider, resources: tuple[str, ...] = ("secrets",)) -> EncryptionTransformer:
    return EncryptionTransformer(EncryptionConfig((ResourceConfig(resources, providers),)))


def gcm(*names: str) -> Provider:
    return Provider("aesgcm", tuple(Key(n, n.encode().ljust(32, b"#")) for n in names))


def secret(name: str = "db", password: str = PASSWORD) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": {"password": password}}


def rows(path: Path) -> list[tuple[str, str | bytes]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT name, value FROM kine ORDER BY id").fetchall()


def file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


@pytest.fixture
def settings(tmp_path: Path) -> StoreSettings:
    return StoreSettings(path=tmp_path / "state.db")


@pytest.fixture
async def store(settings: StoreSettings) -> AsyncIterator[Store]:
    opened = await Store.open_standalone(settings, transformer(gcm("key1")))
    try:
        yield opened
    finally:
        await opened.close()


async def test_only_configured_resources_are_encrypted(store: Store, settings: StoreSettings) -> None:
    await store.create(SECRET, secret())
    await store.create(CONFIGMAP, {"metadata": {"name": "db"}, "data": {"password": PASSWORD}})
    stored = dict(rows(settings.path))
    assert isinstance(stored[SECRET], bytes) and stored[SECRET].startswith(b"k8s:enc:aesgcm:v1:key1:")
    assert PASSWORD.encode() not in stored[SECRET]
    assert isinstance(stored[CONFIGMAP], str) and PASSWORD in stored[CONFIGMAP]
    assert (await store.get(SECRET))["data"] == {"password": PASSWORD}


async def test_every_row_of_a_secret_is_encrypted_tombstone_included(store: Store, settings: StoreSettings) -> None:
    created = await store.create(SECRET, secret())
    await store.update(SECRET, {**secret(password="bmV3"), "metadata": created["metadata"]})
    await store.delete(SECRET)
    values = [v for k, v in rows(settings.path) if k == SECRET]
    assert len(values) == 3 and all(isinstance(v, bytes) and v.startswith(b"k8s:enc:") for v in values)
    await store.close()
    assert PASSWORD.encode() not in file_bytes(settings.path) and b"bmV3" not in file_bytes(settings.path)


async def test_watchers_and_history_see_json(store: Store) -> None:
    start = store.current_revision
    async with store.watch("/registry/core/secrets/") as live:
        created = await store.create(SECRET, secret())
        await store.update(SECRET, {**secret(password="bmV3"), "metadata": created["metadata"]})
        first, second = await anext(live), await anext(live)
    assert first.value["data"] == {"password": PASSWORD}
    assert second.prev_value is not None and second.prev_value["data"] == {"password": PASSWORD}
    async with store.watch("/registry/core/secrets/", since=start) as replay:  # rows read back from SQLite
        again = [await anext(replay), await anext(replay)]
    assert [e.value for e in again] == [first.value, second.value]
    assert again[1].prev_value == second.prev_value
    old, _ = await store.list("/registry/core/secrets/", revision=first.revision)
    assert old == [first.value]


async def test_a_restart_with_a_new_first_key_reads_old_rows_stale(settings: StoreSettings) -> None:
    store = await Store.open_standalone(settings, transformer(gcm("key1")))
    await store.create(SECRET, secret())
    await store.close()

    store = await Store.open_standalone(settings, transformer(gcm("key2", "key1")))
    try:
        current = await store.get(SECRET)
        assert current["data"] == {"password": PASSWORD} and store.is_stale(SECRET)
        await store.update(SECRET, current)  # the same content, written again
        assert not store.is_stale(SECRET)
    finally:
        await store.close()
    assert rows(settings.path)[-1][1][:23] == b"k8s:enc:aesgcm:v1:key2:"

    store = await Store.open_standalone(settings, transformer(gcm("key2")))  # the old key dropped
    try:
        assert (await store.get(SECRET))["data"] == {"password": PASSWORD} and not store.is_stale(SECRET)
    finally:
        await store.close()


async def test_plain_rows_read_through_identity_are_stale(settings: StoreSettings) -> None:
    """Turning encryption on over existing Secrets: identity as a later provider reads them."""
    store = await Store.open_standalone(settings)
    await store.create(SECRET, secret())
    await store.close()
    store = await Store.open_standalone(settings, transformer(gcm("key1"), Provider("identity")))
    try:
        assert (await store.get(SECRET))["data"] == {"password": PASSWORD} and store.is_stale(SECRET)
    finally:
        await store.close()


async def test_an_unreadable_row_fails_its_key_only(settings: StoreSettings) -> None:
    store = await Store.open_standalone(settings, transformer(gcm("key1")))
    await store.create(SECRET, secret())
    await store.create(SECRET + "-2", secret("db-2"))
    await store.create(CONFIGMAP, {"metadata": {"name": "db"}})
    await store.close()

    store = await Store.open_standalone(settings, transformer(gcm("other")))
    try:
        with pytest.raises(Unreadable) as info:
            await store.get(SECRET)
        assert info.value.reason == "no matching key was found for the provided AES transformer"
        with pytest.raises(Unreadable, match=f'^unable to transform key "{SECRET}": no matching key was found'):
            await store.list("/registry/core/secrets/")
        with pytest.raises(Unreadable):
            await store.list_rendered("/registry/core/secrets/")
        with pytest.raises(Unreadable):
            await store.update(SECRET, secret())
        with pytest.raises(Unreadable):
            await store.delete(SECRET)
        assert await store.get(CONFIGMAP)
        assert await store.count("/registry/core/secrets/") == 2
        new = await store.create(SECRET + "-new", secret("db-new"))  # the configured key writes on
        await store.create(CONFIGMAP + "-later", {"metadata": {"name": "db-later"}})
        for revision in (None, int(new["metadata"]["resourceVersion"])):  # the heads, and rows read back
            items, _ = await store.list("/registry/core/secrets/", revision, skip_unreadable=True)
            assert items == [new]
    finally:
        await store.close()

    store = await Store.open_standalone(settings)  # no configuration at all
    try:
        with pytest.raises(Unreadable, match="^identity transformer tried to read encrypted data$"):
            await store.get(SECRET)
    finally:
        await store.close()
