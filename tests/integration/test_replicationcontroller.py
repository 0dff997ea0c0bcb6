"""The ReplicationController controller through the API: pods with the RC as controller, status,
the scale subresource, adoption and release, and deletion (Orphan by default, as upstream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.controllers.garbagecollector import GarbageCollector
from boxk8s.controllers.replicationcontroller import ReplicationManager
from tests.integration.conftest import Api, running_api
from tests.integration.waiting import wait_for_condition

RCS = "/api/v1/namespaces/default/replicationcontrollers"
PODS = "/api/v1/namespaces/default/pods"
DEADLINE = 15.0


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path, controllers=[ReplicationManager, GarbageCollector], nodes=1) as a:
        yield a


def rc(name: str = "web", replicas: int = 3) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"app": name},
                     "template": {"metadata": {"labels": {"app": name, "tier": "front"}},
                                  "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}}


async def pods(api: Api, selector: str = "app=web") -> list[dict[str, Any]]:
    body = await api.ok("GET", PODS, params={"labelSelector": selector})
    return [p for p in body["items"] if not p["metadata"].get("deletionTimestamp")]


async def status_is(api: Api, name: str, **want: int) -> dict[str, Any] | None:
    obj = await api.ok("GET", f"{RCS}/{name}")
    status = obj.get("status") or {}
    return obj if all(status.get(k, 0) == v for k, v in want.items()) else None


async def test_pods_owned_status_and_scale(api: Api) -> None:
    created = await api.ok("POST", RCS, body=rc())
    obj = await wait_for_condition(lambda: status_is(api, "web", replicas=3, fullyLabeledReplicas=3,
                                                    readyReplicas=3, availableReplicas=3), DEADLINE)
    assert obj["status"]["observedGeneration"] == 1
    owned = await pods(api)
    assert len(owned) == 3
    for p in owned:
        assert p["metadata"]["name"].startswith("web-")
        assert p["metadata"]["ownerReferences"] == [{
            "apiVersion": "v1", "kind": "ReplicationController", "name": "web",
            "uid": created["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]

    scale = await api.ok("GET", f"{RCS}/web/scale")
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 3, "selector": "app=web"}
    await api.ok("PATCH", f"{RCS}/web/scale", data='{"spec":{"replicas":1}}',
                 content_type="application/merge-patch+json")
    obj = await wait_for_condition(lambda: status_is(api, "web", replicas=1, readyReplicas=1), DEADLINE)
    assert obj["status"]["observedGeneration"] == 2
    assert len(await pods(api)) == 1


async def test_adopts_matching_orphans_and_releases_what_stops_matching(api: Api) -> None:
    orphan = {"metadata": {"name": "stray", "labels": {"app": "web"}},
              "spec": {"containers": [{"name": "main", "image": "busybox"}]}}
    await api.ok("POST", PODS, body=orphan)
    await api.ok("POST", RCS, body=rc(replicas=2))
    await wait_for_condition(lambda: status_is(api, "web", replicas=2), DEADLINE)

    async def adopted() -> bool:
        p = await api.ok("GET", f"{PODS}/stray")
        return [r["kind"] for r in p["metadata"].get("ownerReferences") or []] == ["ReplicationController"]
    await wait_for_condition(adopted, DEADLINE)
    assert len(await pods(api)) == 2  # the orphan counts: only one pod was created

    await api.ok("PATCH", f"{PODS}/stray", data='{"metadata":{"labels":{"app":"other"}}}',
                 content_type="application/merge-patch+json")

    async def released() -> bool:
        p = await api.ok("GET", f"{PODS}/stray")
        return not p["metadata"].get("ownerReferences") and len(await pods(api)) == 2
    await wait_for_condition(released, DEADLINE)


async def test_delete_orphans_pods_by_default_and_background_deletes_them(api: Api) -> None:
    await api.ok("POST", RCS, body=rc("keep", 2))
    await wait_for_condition(lambda: status_is(api, "keep", replicas=2), DEADLINE)
    await api.ok("DELETE", f"{RCS}/keep")  # no policy: the RC strategy's default, Orphan

    async def orphaned() -> list[dict[str, Any]] | None:
        left = await pods(api, "app=keep")
        gone = (await api.get(f"{RCS}/keep"))[0] == 404
        return left if gone and len(left) == 2 and all(not p["metadata"].get("ownerReferences")
                                                           for p in left) else None
    await wait_for_condition(orphaned, DEADLINE)

    await api.ok("POST", RCS, body=rc("drop", 2))
    await wait_for_condition(lambda: status_is(api, "drop", replicas=2), DEADLINE)
    await api.ok("DELETE", f"{RCS}/drop", params={"propagationPolicy": "Background"})  # what kubectl sends

    async def collected() -> bool:
        return not await pods(api, "app=drop")
    await wait_for_condition(collected, DEADLINE)
    assert len(await pods(api, "app=keep")) == 2
