"""The garbage collector with custom resources as owners and dependents: background and foreground
cascades (kubectl's --cascade), a custom resource owned by a built-in object, and the dependents of
the objects a deleted CRD takes with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client.custom_kinds import plan_custom_kinds
from boxk8s.controllers.crd import CRDController
from boxk8s.controllers.garbagecollector import GarbageCollector
from boxk8s.controllers.namespace import NamespaceController
from boxk8s.resources import registry
from tests.integration.crd_fixtures import (
    CRDS,
    DEADLINE,
    WIDGETS,
    CrdEnv,
    crd_env,
    install,
    widget,
    widget_crd,
)
from tests.integration.waiting import wait_for_condition

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[CrdEnv]:
    async with crd_env(tmp_path, [CRDController, NamespaceController, GarbageCollector]) as e:
        await install(e.api, widget_crd())
        yield e


def owned_configmap(name: str, owner: dict[str, Any], block: bool = True) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [{
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}]}, "data": {"k": "v"}}


async def gone(env: CrdEnv, path: str) -> None:
    async def absent() -> bool:
        code, _, _ = await env.api.get(path)
        return code == 404
    await wait_for_condition(absent, DEADLINE)


async def test_deleting_a_custom_resource_deletes_its_dependents(env: CrdEnv) -> None:
    w = await env.api.ok("POST", WIDGETS, body=widget("w1"))
    await env.api.ok("POST", CONFIGMAPS, body=owned_configmap("w1-config", w))
    await env.ok("delete", "widget", "w1")  # kubectl's default: background
    await gone(env, f"{CONFIGMAPS}/w1-config")


async def test_foreground_deletion_of_a_custom_resource_waits_for_its_dependents(env: CrdEnv) -> None:
    w = await env.api.ok("POST", WIDGETS, body=widget("w2"))
    await env.api.ok("POST", CONFIGMAPS, body=owned_configmap("w2-config", w))
    await env.ok("delete", "widget", "w2", "--cascade=foreground")  # waits until the widget is gone
    code, _, _ = await env.api.get(f"{CONFIGMAPS}/w2-config")
    assert code == 404  # deleted before its owner was


async def test_orphaning_keeps_the_dependents_of_a_custom_resource(env: CrdEnv) -> None:
    w = await env.api.ok("POST", WIDGETS, body=widget("w3"))
    await env.api.ok("POST", CONFIGMAPS, body=owned_configmap("w3-config", w))
    await env.ok("delete", "widget", "w3", "--cascade=orphan")

    async def unlinked() -> bool:
        cm = await env.api.ok("GET", f"{CONFIGMAPS}/w3-config")
        return not cm["metadata"].get("ownerReferences")
    await wait_for_condition(unlinked, DEADLINE)


async def test_a_custom_resource_owned_by_a_configmap_goes_with_it(env: CrdEnv) -> None:
    cm = await env.api.ok("POST", CONFIGMAPS, body={"metadata": {"name": "owner"}, "data": {}})
    dependent = widget("w4")
    dependent["metadata"]["ownerReferences"] = owned_configmap("x", cm)["metadata"]["ownerReferences"]
    await env.api.ok("POST", WIDGETS, body=dependent)
    await env.api.ok("DELETE", f"{CONFIGMAPS}/owner")
    await gone(env, f"{WIDGETS}/w4")


async def test_deleting_the_crd_takes_the_dependents_of_its_objects(env: CrdEnv) -> None:
    w = await env.api.ok("POST", WIDGETS, body=widget("w5"))
    await env.api.ok("POST", CONFIGMAPS, body=owned_configmap("w5-config", w))
    await env.api.ok("DELETE", f"{CRDS}/widgets.example.com")
    await gone(env, f"{CONFIGMAPS}/w5-config")


def test_plan_custom_kinds_starts_the_new_and_stops_the_unserved() -> None:
    cm = registry.find("", "v1", "configmaps")
    assert cm is not None
    a1, a2 = replace(cm, group="a.io", version="v1", plural="as"), replace(cm, group="a.io", version="v2", plural="as")
    b = replace(cm, group="b.io", version="v1", plural="bs")
    start, stop = plan_custom_kinds(["c.io/cs", "b.io/bs"], [a1, a2, b])
    assert start == {"a.io/as": a1} and stop == {"c.io/cs"}
