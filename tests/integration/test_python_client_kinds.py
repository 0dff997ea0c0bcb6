"""The official Python client's typed models read every kind boxk8s serves: create, read and replace
of a sample of each kind deserialize into the client's model class (which raises on a required
field the server left out, e.g. a DaemonSet's status counters) and round-trip."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes import client

from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType
from tests.integration.conftest import TOKEN, Api
from tests.integration.samples import NAMES, SAMPLES, sample

WRITABLE = [rt for rt in registry.RESOURCES if {"create", "get", "update"} <= set(rt.verbs)]


def model_name(rt: ResourceType) -> str:
    """The client's class for a kind: V1Pod, V2HorizontalPodAutoscaler, V1APIService, … (the two Events
    are CoreV1Event and EventsV1Event)."""
    if rt.kind == "Event":
        return "CoreV1Event" if not rt.group else "EventsV1Event"
    return f"{rt.version.capitalize()}{rt.kind}"


def path_of(rt: ResourceType, name: str | None = None) -> str:
    base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    scope = f"{base}/namespaces/default/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    return f"{scope}/{name}" if name else scope


def typed_client(api: Api) -> client.ApiClient:
    cfg = client.Configuration()
    cfg.host = str(api.client.make_url("")).rstrip("/")
    return client.ApiClient(cfg)


def call(c: client.ApiClient, method: str, path: str, model: str, body: Any = None) -> Any:
    """One request whose answer the client's deserializer turns into `model`, as its typed methods do."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json", "Content-Type": "application/json"}
    resp = c.call_api(method, c.configuration.host + path, header_params=headers, body=body)
    resp.read()
    assert resp.status in (200, 201), resp.data
    return c.deserialize(resp.data.decode(), model, "application/json")


def test_every_writable_kind_has_a_sample() -> None:
    assert {rt.kind for rt in WRITABLE} <= SAMPLES.keys()


@pytest.mark.parametrize("rt", WRITABLE, ids=[f"{rt.group_version}/{rt.kind}" for rt in WRITABLE])
async def test_typed_create_read_replace(api: Api, rt: ResourceType) -> None:
    name = NAMES.get(rt.kind, f"typed-{rt.version}")
    model = model_name(rt)
    assert hasattr(client, model), f"the client has no model {model}"
    with typed_client(api) as c:
        created = await asyncio.to_thread(call, c, "POST", path_of(rt), model, sample(rt.kind, rt.api_version, name))
        assert created.metadata.name == name and created.metadata.resource_version
        read = await asyncio.to_thread(call, c, "GET", path_of(rt, name), model)
        assert read.metadata.uid == created.metadata.uid
        read.metadata.labels = {**(read.metadata.labels or {}), "typed": "yes"}
        replaced = await asyncio.to_thread(call, c, "PUT", path_of(rt, name), model, c.sanitize_for_serialization(read))
        assert replaced.metadata.labels["typed"] == "yes"
        assert int(replaced.metadata.resource_version) > int(read.metadata.resource_version)
