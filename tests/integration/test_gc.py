"""The garbage collector against the real resource layer: Background, Foreground, Orphan, orphan sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Kind
from boxk8s.controllers.garbagecollector import GarbageCollector
from tests.integration.controllers_harness import Harness, eventually, harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [GarbageCollector]) as env:
        yield env


def ref(owner: dict[str, Any], block: bool = True) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}


def deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def replicaset(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    body = deployment(name)
    body["kind"] = "ReplicaSet"
    body["metadata"]["ownerReferences"] = [ref(owner)]
    return body


def pod(name: str, owner: dict[str, Any] | None = None, finalizers: list[str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "labels": {"app": "x"}}
    if owner is not None:
        md["ownerReferences"] = [ref(owner)]
    if finalizers:
        md["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def chain(h: Harness) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A Deployment owning a ReplicaSet owning two pods (created directly, no controllers)."""
    d = await h.client.create(Kind.DEPLOYMENT, "default", deployment("web"))
    rs = await h.client.create(Kind.REPLICASET, "default", replicaset("web-1", d))
    pods = [await h.client.create(Kind.POD, "default", pod(f"web-1-{i}", rs)) for i in range(2)]
    return d, rs, pods


async def names(h: Harness) -> dict[str, list[str]]:
    out = {}
    for label, kind in (("deploy", Kind.DEPLOYMENT), ("rs", Kind.REPLICASET), ("pods", Kind.POD)):
        out[label] = sorted(o["metadata"]["name"] for o in await h.client.list(kind, "default"))
    return out


async def test_background_deletes_the_whole_chain_after_the_owner(h: Harness) -> None:
    await chain(h)
    _, gone = await h.client.delete(Kind.DEPLOYMENT, "default", "web", {"propagationPolicy": "Background"})
    assert gone  # the owner goes at once

    async def empty() -> bool:
        return await names(h) == {"deploy": [], "rs": [], "pods": []}

    await eventually(empty)


async def test_default_policy_for_a_deployment_is_background(h: Harness) -> None:
    await chain(h)
    _, gone = await h.client.delete(Kind.DEPLOYMENT, "default", "web")
    assert gone

    async def empty() -> bool:
        return await names(h) == {"deploy": [], "rs": [], "pods": []}

    await eventually(empty)


async def test_foreground_deletes_dependents_first(h: Harness) -> None:
    d, rs, _ = await chain(h)
    # A finalizer of someone else's keeps one pod around: the owners must wait for it.
    await h.client.create(Kind.POD, "default", pod("held", rs, finalizers=["example.com/hold"]))
    obj, gone = await h.client.delete(Kind.DEPLOYMENT, "default", "web", {"propagationPolicy": "Foreground"})
    assert not gone
    assert obj["metadata"]["deletionTimestamp"] and obj["metadata"]["finalizers"] == ["foregroundDeletion"]

    async def only_held_left() -> bool:
        return await names(h) == {"deploy": ["web"], "rs": ["web-1"], "pods": ["held"]}

    await eventually(only_held_left)
    rs_now = await h.client.get(Kind.REPLICASET, "default", "web-1")
    assert rs_now["metadata"]["finalizers"] == ["foregroundDeletion"]
    held = await h.client.get(Kind.POD, "default", "held")
    assert held["metadata"]["deletionTimestamp"]
    await asyncio.sleep(0.3)
    assert await names(h) == {"deploy": ["web"], "rs": ["web-1"], "pods": ["held"]}
    # a patch, not get-then-update: a kubelet may write this pod's status meanwhile
    await h.client.patch(Kind.POD, "default", "held", {"metadata": {"finalizers": []}})

    async def empty() -> bool:
        return await names(h) == {"deploy": [], "rs": [], "pods": []}

    await eventually(empty)


async def test_orphan_keeps_dependents_without_the_reference(h: Harness) -> None:
    d, rs, pods = await chain(h)
    obj, gone = await h.client.delete(Kind.DEPLOYMENT, "default", "web", {"propagationPolicy": "Orphan"})
    assert not gone and obj["metadata"]["finalizers"] == ["orphan"]

    async def orphaned() -> bool:
        return (await names(h))["deploy"] == []

    await eventually(orphaned)
    assert await names(h) == {"deploy": [], "rs": ["web-1"], "pods": ["web-1-0", "web-1-1"]}
    rs_now = await h.client.get(Kind.REPLICASET, "default", "web-1")
    assert "ownerReferences" not in rs_now["metadata"]
    for p in pods:  # the pods still belong to the ReplicaSet
        got = await h.client.get(Kind.POD, "default", p["metadata"]["name"])
        assert [r["uid"] for r in got["metadata"]["ownerReferences"]] == [rs["metadata"]["uid"]]


async def test_a_job_orphans_its_pods_by_default(h: Harness) -> None:
    job = await h.client.create(Kind.JOB, "default", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "c", "image": "busybox"}]}}}})
    await h.client.create(Kind.POD, "default", pod("j-1", job))
    obj, gone = await h.client.delete(Kind.JOB, "default", "j")
    assert not gone and obj["metadata"]["finalizers"] == ["orphan"]

    async def job_gone() -> bool:
        try:
            await h.client.get(Kind.JOB, "default", "j")
        except errors.NotFound:
            return True
        return False

    await eventually(job_gone)
    left = await h.client.get(Kind.POD, "default", "j-1")
    assert "ownerReferences" not in left["metadata"]


async def test_dependents_of_missing_or_replaced_owners_are_deleted(h: Harness) -> None:
    cm = await h.client.create(Kind.CONFIGMAP, "default", {"metadata": {"name": "owner"}, "data": {}})
    ghost = {**cm, "metadata": {**cm["metadata"], "uid": "00000000-0000-0000-0000-000000000000"}}
    cm["apiVersion"], cm["kind"] = "v1", "ConfigMap"
    ghost["apiVersion"], ghost["kind"] = "v1", "ConfigMap"
    await h.client.create(Kind.POD, "default", pod("of-ghost", ghost))
    await h.client.create(Kind.POD, "default", pod("of-live", cm))
    two = pod("two-owners", cm)
    two["metadata"]["ownerReferences"].append({**ref(ghost), "controller": False})
    await h.client.create(Kind.POD, "default", two)

    async def swept() -> bool:
        return (await names(h))["pods"] == ["of-live", "two-owners"]

    await eventually(swept)

    async def unlinked() -> bool:
        left = await h.client.get(Kind.POD, "default", "two-owners")
        return [r["uid"] for r in left["metadata"]["ownerReferences"]] == [cm["metadata"]["uid"]]

    await eventually(unlinked)
    await asyncio.sleep(0.3)
    assert (await names(h))["pods"] == ["of-live", "two-owners"]
