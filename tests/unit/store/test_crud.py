from __future__ import annotations

import pytest

from boxk8s.store import KeyExists, KeyNotFound, RevisionConflict, Store

from .conftest import pod


async def test_create_get_sets_resource_version(store: Store) -> None:
    created = await store.create("/pods/default/a", pod("a", image="x"))
    rv = int(created["metadata"]["resourceVersion"])
    assert rv == store.current_revision
    got = await store.get("/pods/default/a")
    assert got == created
    assert got is not created


async def test_create_ignores_and_does_not_mutate_input_resource_version(store: Store) -> None:
    value = pod("a")
    value["metadata"]["resourceVersion"] = "999"  # type: ignore[index]
    created = await store.create("/pods/default/a", value)
    assert created["metadata"]["resourceVersion"] == str(store.current_revision)
    assert value["metadata"]["resourceVersion"] == "999"  # type: ignore[index]


async def test_returned_dicts_are_never_shared(store: Store) -> None:
    await store.create("/k", pod("a"))
    first = await store.get("/k")
    first["metadata"]["name"] = "mutated"
    assert (await store.get("/k"))["metadata"]["name"] == "a"
    items, _ = await store.list("/")
    items[0]["spec"]["x"] = 1
    assert (await store.get("/k"))["spec"] == {}


async def test_create_existing_key_raises(store: Store) -> None:
    await store.create("/pods/default/a", pod("a"))
    with pytest.raises(KeyExists):
        await store.create("/pods/default/a", pod("a"))


async def test_missing_key_raises(store: Store) -> None:
    with pytest.raises(KeyNotFound):
        await store.get("/nope")
    with pytest.raises(KeyNotFound):
        await store.update("/nope", pod("x"))
    with pytest.raises(KeyNotFound):
        await store.delete("/nope")


async def test_update_and_cas(store: Store) -> None:
    created = await store.create("/k", pod("a", v=1))
    rv = int(created["metadata"]["resourceVersion"])
    updated = await store.update("/k", pod("a", v=2), expected_revision=rv)
    assert int(updated["metadata"]["resourceVersion"]) > rv
    with pytest.raises(RevisionConflict):
        await store.update("/k", pod("a", v=3), expected_revision=rv)
    with pytest.raises(RevisionConflict):
        await store.delete("/k", expected_revision=rv)
    assert (await store.get("/k"))["spec"] == {"v": 2}
    unconditional = await store.update("/k", pod("a", v=4))
    assert unconditional["spec"] == {"v": 4}


async def test_delete_returns_last_value_at_tombstone_revision(store: Store) -> None:
    await store.create("/k", pod("a", v=1))
    deleted = await store.delete("/k")
    assert deleted["spec"] == {"v": 1}
    assert deleted["metadata"]["resourceVersion"] == str(store.current_revision)
    with pytest.raises(KeyNotFound):
        await store.get("/k")
    again = await store.create("/k", pod("a", v=2))  # re-create after delete
    assert (await store.get("/k")) == again


async def test_list_sorted_prefix_and_count(store: Store) -> None:
    for name in ["c", "a", "b"]:
        await store.create(f"/pods/ns1/{name}", pod(name))
    await store.create("/pods/ns2/z", pod("z"))
    await store.create("/pods/ns10/q", pod("q"))
    await store.create("/services/ns1/s", pod("s"))
    items, rev = await store.list("/pods/ns1/")
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"]
    assert rev == store.current_revision
    assert await store.count("/pods/") == 5
    assert await store.count("/pods/ns1/") == 3
    assert await store.count("/") == 6
    await store.delete("/pods/ns1/b")
    assert await store.count("/pods/ns1/") == 2


async def test_list_at_past_revision(store: Store) -> None:
    await store.create("/p/a", pod("a", v=1))
    await store.create("/p/b", pod("b", v=1))
    _, rev = await store.list("/p/")
    await store.update("/p/a", pod("a", v=2))
    await store.delete("/p/b")
    await store.create("/p/c", pod("c", v=1))
    past, at = await store.list("/p/", revision=rev)
    assert at == rev
    assert [(i["metadata"]["name"], i["spec"]["v"]) for i in past] == [("a", 1), ("b", 1)]
    now, _ = await store.list("/p/")
    assert [(i["metadata"]["name"], i["spec"]["v"]) for i in now] == [("a", 2), ("c", 1)]
    # the past list from SQLite and the current list from memory agree at the current revision
    from_db, _ = await store.list("/p/", revision=store.current_revision - 1)
    assert [i["metadata"]["name"] for i in from_db] == ["a"]


async def test_failed_write_in_batch_fails_alone(store: Store) -> None:
    import asyncio

    await store.create("/dup", pod("dup"))
    results = await asyncio.gather(
        store.create("/a", pod("a")),
        store.create("/dup", pod("dup")),
        store.create("/b", pod("b")),
        store.update("/missing", pod("m")),
        store.create("/c", pod("c")),
        return_exceptions=True,
    )
    assert isinstance(results[1], KeyExists)
    assert isinstance(results[3], KeyNotFound)
    assert [r["metadata"]["name"] for r in results if isinstance(r, dict)] == ["a", "b", "c"]
    assert await store.count("/") == 4


async def test_list_rendered_is_the_list_encoded_and_follows_writes(store: Store) -> None:
    import json

    await store.create("/pods/default/a", pod("a", image="é"))
    await store.create("/pods/default/b", pod("b"))
    await store.create("/other/c", pod("c"))
    rendered, rev = await store.list_rendered("/pods/")
    items, list_rev = await store.list("/pods/")
    assert rev == list_rev
    assert [k for k, _ in rendered] == ["/pods/default/a", "/pods/default/b"]
    assert [json.loads(r) for _, r in rendered] == items
    assert rendered[0][1] == json.dumps(items[0], separators=(",", ":"), ensure_ascii=False).encode()
    again, _ = await store.list_rendered("/pods/")
    assert again[0][1] is rendered[0][1]  # kept with the head, not rendered again
    updated = await store.update("/pods/default/a", {**items[0], "spec": {"image": "new"}})
    await store.delete("/pods/default/b")
    after, rev = await store.list_rendered("/pods/")
    assert [json.loads(r) for _, r in after] == [updated]
    assert rev == store.current_revision
    paged, _ = await store.list_rendered("/", start_after="/other/c", limit=1)
    assert [k for k, _ in paged] == ["/pods/default/a"]


async def test_put_returns_the_revision_and_watchers_see_it(store: Store) -> None:
    created = await store.create("/k", pod("a", v=1))
    rv = int(created["metadata"]["resourceVersion"])
    async with store.watch("/k", rv) as w:
        value = pod("a", v=2)
        value["metadata"]["resourceVersion"] = str(rv)  # not stored, as with update
        revision = await store.put("/k", value, expected_revision=rv)
        assert revision > rv and store.head_revision("/k") == revision
        ev = await w.__anext__()
        assert ev.type == "MODIFIED" and ev.revision == revision
        assert ev.value == {**value, "metadata": {"name": "a", "resourceVersion": str(revision)}}
    with pytest.raises(RevisionConflict):
        await store.put("/k", pod("a", v=3), expected_revision=rv)
    assert (await store.get("/k"))["spec"] == {"v": 2}
    assert store.head_revision("/missing") is None
