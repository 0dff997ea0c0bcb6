"""etcd's request size limit: a write whose key and value pass 1.5 MiB is refused, nothing stored."""

from __future__ import annotations

import pytest

from boxk8s.store import RequestTooLarge, Store
from boxk8s.store.store import MAX_REQUEST_BYTES
from tests.unit.store.conftest import pod


async def test_a_write_over_the_limit_is_refused_and_leaves_nothing(store: Store) -> None:
    before = store.current_revision
    with pytest.raises(RequestTooLarge, match="etcdserver: request is too large"):
        await store.create("/k/big", pod("big", blob="x" * MAX_REQUEST_BYTES))
    small = await store.create("/k/big", pod("big", blob="x"))
    with pytest.raises(RequestTooLarge):
        await store.update("/k/big", pod("big", blob="x" * MAX_REQUEST_BYTES))
    with pytest.raises(RequestTooLarge):
        await store.put("/k/big", pod("big", blob="x" * MAX_REQUEST_BYTES))
    assert await store.get("/k/big") == small
    assert store.current_revision == before + 1


async def test_a_write_just_under_the_limit_is_stored(store: Store) -> None:
    value = pod("edge")
    overhead = len('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"edge"},"spec":{"blob":""}}') + len("/k/edge")
    value["spec"] = {"blob": "x" * (MAX_REQUEST_BYTES - overhead)}
    got = await store.create("/k/edge", value)
    assert len(got["spec"]["blob"]) == MAX_REQUEST_BYTES - overhead
