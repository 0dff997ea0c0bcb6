"""CustomResourceDefinitions over the real API: serving, discovery, OpenAPI, validation, defaulting,
pruning, subresources, tables, versions, scopes, names, deletion and a restart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.controllers.namespace import NamespaceController
from tests.integration.conftest import assert_status, watch_lines
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

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
MERGE = "application/merge-patch+json"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[CrdEnv]:
    async with crd_env(tmp_path) as e:
        yield e


@pytest.fixture
async def widgets(env: CrdEnv) -> CrdEnv:
    await install(env.api, widget_crd(categories=["all"]))
    return env


def conditions(crd: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in crd["status"].get("conditions") or []}


async def test_a_new_crd_is_named_established_and_served(env: CrdEnv) -> None:
    api = env.api
    code, _, _ = await api.get("/apis/example.com/v1")
    assert code == 404
    await install(api, widget_crd())
    crd = await api.ok("GET", f"{CRDS}/widgets.example.com")
    assert conditions(crd)["NamesAccepted"] == ("True", "NoConflicts", "no conflicts found")
    assert conditions(crd)["Established"] == ("True", "InitialNamesAccepted", "the initial names have been accepted")
    assert crd["status"]["acceptedNames"]["kind"] == "Widget"
    assert crd["status"]["storedVersions"] == ["v1"]
    assert crd["spec"]["names"]["listKind"] == "WidgetList"  # defaulted
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    groups = {g["name"]: g for g in (await api.ok("GET", "/apis"))["groups"]}
    assert groups["example.com"]["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}
    resources = {r["name"]: r for r in (await api.ok("GET", "/apis/example.com/v1"))["resources"]}
    assert resources["widgets"]["kind"] == "Widget" and resources["widgets"]["namespaced"] is True
    assert resources["widgets"]["shortNames"] == ["wd"]
    assert resources["widgets"]["verbs"] == ["delete", "deletecollection", "get", "list", "patch", "create",
                                             "update", "watch"]
    assert resources["widgets/status"]["verbs"] == ["get", "patch", "update"]
    assert (resources["widgets/scale"]["group"], resources["widgets/scale"]["kind"]) == ("autoscaling", "Scale")


async def test_openapi_v3_lets_kubectl_trust_server_side_validation(widgets: CrdEnv) -> None:
    api = widgets.api
    index = await api.ok("GET", "/openapi/v3")
    url = index["paths"]["apis/example.com/v1"]["serverRelativeURL"]
    doc = await api.ok("GET", url)
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    schema = doc["components"]["schemas"]["com.example.v1.Widget"]
    assert schema["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert schema["properties"]["spec"]["properties"]["image"]["description"] == "The image to run."
    assert schema["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert "com.example.v1.WidgetList" in doc["components"]["schemas"]


async def test_invalid_objects_are_refused_naming_the_field(widgets: CrdEnv) -> None:
    api = widgets.api
    code, body, _ = await api.post(WIDGETS, widget("bad", image="UPPER", replicas="three", size="huge"))
    assert_status(code, body, 422, "Invalid")
    assert body["message"].startswith('Widget.example.com "bad" is invalid: ')
    causes = {c["field"]: c["message"] for c in body["details"]["causes"]}
    assert causes["spec.image"] == "Invalid value: \"UPPER\": spec.image in body should match '^[a-z0-9.:/-]+$'"
    assert causes["spec.replicas"] == ('Invalid value: "string": spec.replicas in body must be of type integer: '
                                       '"string"')
    assert causes["spec.size"] == 'Unsupported value: "huge": supported values: "small", "large"'
    code, body, _ = await api.post(WIDGETS, {**widget("noimage"), "spec": {}})
    assert_status(code, body, 422, "Invalid")
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.image"]


async def test_defaults_are_filled_and_unknown_fields_pruned_with_a_warning(widgets: CrdEnv) -> None:
    api = widgets.api
    obj = widget("a", port="http", extra={"anything": {"goes": 1}}, typo=1)
    obj["stray"] = True
    code, created, resp = await api.post(WIDGETS, obj)
    assert code == 201, created
    assert created["spec"] == {"image": "nginx", "replicas": 1, "size": "small", "port": "http",
                               "extra": {"anything": {"goes": 1}}}
    assert "stray" not in created
    assert resp.headers.getall("Warning") == ['299 - "unknown field \\"spec.typo\\""', '299 - "unknown field \\"stray\\""']
    assert created["metadata"]["generation"] == 1


async def test_strict_field_validation_refuses_unknown_fields(widgets: CrdEnv) -> None:
    code, body, _ = await widgets.api.post(WIDGETS, widget("a", typo=1), params={"fieldValidation": "Strict"})
    assert_status(code, body, 400, "BadRequest")
    assert body["message"] == ('Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
                               'unknown field "spec.typo"')


async def test_the_status_subresource(widgets: CrdEnv) -> None:
    api = widgets.api
    created = await api.ok("POST", WIDGETS, body={**widget("a"), "status": {"phase": "Made up"}})
    assert "status" not in created  # create cannot set status
    updated = await api.ok("PUT", f"{WIDGETS}/a", body={**created, "spec": {"image": "nginx", "replicas": 2},
                                                          "status": {"phase": "Ignored"}})
    assert "status" not in updated and updated["metadata"]["generation"] == 2
    status = await api.ok("PATCH", f"{WIDGETS}/a/status", data=json.dumps({"status": {"phase": "Ready", "replicas": 2}}),
                          content_type=MERGE)
    assert status["status"] == {"phase": "Ready", "replicas": 2}
    assert status["spec"]["replicas"] == 2 and status["metadata"]["generation"] == 2
    code, body, _ = await api.patch(f"{WIDGETS}/a/status", {"status": {"replicas": "two"}}, MERGE)
    assert_status(code, body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "status.replicas"


async def test_the_scale_subresource(widgets: CrdEnv) -> None:
    api = widgets.api
    await api.ok("POST", WIDGETS, body=widget("a", replicas=2))
    await api.patch(f"{WIDGETS}/a/status", {"status": {"replicas": 2, "selector": "app=a"}}, MERGE)
    scale = await api.ok("GET", f"{WIDGETS}/a/scale")
    assert (scale["apiVersion"], scale["kind"]) == ("autoscaling/v1", "Scale")
    assert scale["spec"] == {"replicas": 2} and scale["status"] == {"replicas": 2, "selector": "app=a"}
    scaled = await api.ok("PATCH", f"{WIDGETS}/a/scale", data=json.dumps({"spec": {"replicas": 5}}), content_type=MERGE)
    assert scaled["spec"]["replicas"] == 5
    assert (await api.ok("GET", f"{WIDGETS}/a"))["spec"]["replicas"] == 5
    code, body, _ = await api.put(f"{WIDGETS}/a/scale", {**scaled, "spec": {"replicas": 11}})
    assert_status(code, body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "spec.replicas"


async def test_printer_columns_in_tables(widgets: CrdEnv) -> None:
    api = widgets.api
    await api.ok("POST", WIDGETS, body=widget("a", replicas=3))
    table = await api.ok("GET", WIDGETS, headers=TABLE)
    assert [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", 0), ("Image", "string", 0), ("Replicas", "integer", 0), ("Phase", "string", 0),
        ("Size", "string", 1), ("Age", "date", 0)]
    cells = table["rows"][0]["cells"]
    assert cells[:5] == ["a", "nginx", 3, None, "small"] and cells[5].endswith("s")


async def test_without_printer_columns_name_and_age(env: CrdEnv) -> None:
    await install(env.api, widget_crd(columns=False))
    await env.api.ok("POST", WIDGETS, body=widget("a"))
    table = await env.api.ok("GET", WIDGETS, headers=TABLE)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]


async def test_patches_and_server_side_apply(widgets: CrdEnv) -> None:
    api = widgets.api
    await api.ok("POST", WIDGETS, body=widget("a"))
    merged = await api.ok("PATCH", f"{WIDGETS}/a", data=json.dumps({"spec": {"replicas": 4}}), content_type=MERGE)
    assert merged["spec"]["replicas"] == 4
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 6}]
    patched = await api.ok("PATCH", f"{WIDGETS}/a", data=json.dumps(ops), content_type="application/json-patch+json")
    assert patched["spec"]["replicas"] == 6
    code, body, _ = await api.patch(f"{WIDGETS}/a", {"spec": {"replicas": 1}}, "application/strategic-merge-patch+json")
    assert_status(code, body, 415, "UnsupportedMediaType")
    assert body["message"] == ("the body of the request was in an unknown format - accepted media types include: "
                               "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    applied = await api.ok("PATCH", f"{WIDGETS}/b", params={"fieldManager": "me"},
                           data=json.dumps(widget("b", replicas=2)), content_type="application/apply-patch+yaml")
    assert applied["spec"] == {"image": "nginx", "replicas": 2, "size": "small"}
    assert [m["manager"] for m in applied["metadata"]["managedFields"]] == ["me"]


async def test_several_versions_stored_as_one(env: CrdEnv) -> None:
    crd = widget_crd()
    v1 = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [{**v1, "name": "v1beta1", "storage": False}, v1]
    await install(env.api, crd)
    group = await env.api.ok("GET", "/apis/example.com")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    old = "/apis/example.com/v1beta1/namespaces/default/widgets"
    created = await env.api.ok("POST", old, body={**widget("a"), "apiVersion": "example.com/v1beta1"})
    assert created["apiVersion"] == "example.com/v1beta1"
    as_v1 = await env.api.ok("GET", f"{WIDGETS}/a")
    assert as_v1["apiVersion"] == "example.com/v1" and as_v1["spec"] == created["spec"]
    listed = await env.api.ok("GET", old)
    assert listed["apiVersion"] == "example.com/v1beta1"
    assert [i["apiVersion"] for i in listed["items"]] == ["example.com/v1beta1"]
    code, body, _ = await env.api.post(old, widget("b"))  # the body's apiVersion is v1: not this endpoint's
    assert_status(code, body, 400, "BadRequest")


async def test_a_cluster_scoped_kind(env: CrdEnv) -> None:
    await install(env.api, widget_crd(scope="Cluster"))
    created = await env.api.ok("POST", "/apis/example.com/v1/widgets", body=widget("a"))
    assert "namespace" not in created["metadata"]
    code, _, _ = await env.api.get(WIDGETS)
    assert code == 404


async def test_a_name_another_crd_has_is_refused(widgets: CrdEnv) -> None:
    api = widgets.api
    other = widget_crd()
    other["metadata"]["name"] = "gadgets.example.com"
    other["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["wd"]}
    await api.ok("POST", CRDS, body=other)

    async def refused() -> dict[str, Any]:
        crd = await api.ok("GET", f"{CRDS}/gadgets.example.com")
        assert conditions(crd)["NamesAccepted"] == ("False", "ShortNamesConflict", '"wd" is already in use')
        return crd
    crd = await wait_for_condition(refused, DEADLINE)
    assert conditions(crd)["Established"][0] == "False"
    resources = [r["name"] for r in (await api.ok("GET", "/apis/example.com/v1"))["resources"]]
    assert "gadgets" not in resources


async def test_an_invalid_crd_is_refused(env: CrdEnv) -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "widget.example.com"
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["bad"] = {}
    code, body, _ = await env.api.post(CRDS, crd)
    assert_status(code, body, 422, "Invalid")
    fields = [c["field"] for c in body["details"]["causes"]]
    assert "metadata.name" in fields
    assert "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[bad].type" in fields


async def test_watching_custom_resources(widgets: CrdEnv) -> None:
    api = widgets.api
    listed = await api.ok("GET", WIDGETS)
    await api.ok("POST", WIDGETS, body=widget("a"))
    await api.patch(f"{WIDGETS}/a", {"spec": {"replicas": 3}}, MERGE)
    code, events = await watch_lines(api, WIDGETS, {"resourceVersion": listed["metadata"]["resourceVersion"]}, until=2)
    assert code == 200
    assert [(e["type"], e["object"]["spec"]["replicas"]) for e in events] == [("ADDED", 1), ("MODIFIED", 3)]


async def test_deleting_the_crd_deletes_its_objects_first(widgets: CrdEnv) -> None:
    api = widgets.api
    await api.ok("POST", WIDGETS, body=widget("a"))
    await api.ok("POST", WIDGETS, body={**widget("held"), "metadata": {"name": "held", "finalizers": ["test/hold"]}})
    deleted = await api.ok("DELETE", f"{CRDS}/widgets.example.com")
    assert "customresourcecleanup.apiextensions.k8s.io" in deleted["metadata"]["finalizers"]

    async def only_held_left() -> bool:
        items = (await api.ok("GET", WIDGETS))["items"]
        assert [i["metadata"]["name"] for i in items] == ["held"]
        assert items[0]["metadata"].get("deletionTimestamp")
        return True
    await wait_for_condition(only_held_left, DEADLINE)

    async def in_progress() -> bool:  # the controller writes the condition after its deletes
        crd = await api.ok("GET", f"{CRDS}/widgets.example.com")
        return conditions(crd)["Terminating"][:2] == ("True", "InstanceDeletionInProgress")
    await wait_for_condition(in_progress, DEADLINE)
    code, body, _ = await api.post(WIDGETS, widget("late"))
    assert_status(code, body, 405, "MethodNotAllowed")
    assert body["message"] == "create not allowed while custom resource definition is terminating"
    await api.patch(f"{WIDGETS}/held", {"metadata": {"finalizers": None}}, MERGE)

    async def gone() -> bool:
        code, _, _ = await api.get(f"{CRDS}/widgets.example.com")
        served, _, _ = await api.get("/apis/example.com/v1")
        return code == 404 and served == 404
    await wait_for_condition(gone, DEADLINE)
    await install(api, widget_crd())  # created again: empty
    assert (await api.ok("GET", WIDGETS))["items"] == []


async def test_deleting_a_namespace_deletes_its_custom_resources(widgets: CrdEnv) -> None:
    api = widgets.api
    await api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "team"}})
    team = "/apis/example.com/v1/namespaces/team/widgets"
    await api.ok("POST", team, body=widget("a"))
    await api.ok("DELETE", "/api/v1/namespaces/team")

    async def gone() -> bool:
        code, _, _ = await api.get("/api/v1/namespaces/team")
        return code == 404
    await wait_for_condition(gone, 20)
    assert (await api.ok("GET", "/apis/example.com/v1/widgets"))["items"] == []


async def test_a_restart_serves_custom_resources_before_any_controller(tmp_path: Path) -> None:
    async with crd_env(tmp_path) as first:
        await install(first.api, widget_crd())
        await first.api.ok("POST", WIDGETS, body=widget("a", replicas=2))
    # No CRD controller now: only the start-up (bootstrap) can serve what the store holds.
    async with crd_env(tmp_path, controllers=[NamespaceController]) as second:
        again = await second.api.ok("GET", f"{WIDGETS}/a")
        assert again["spec"]["replicas"] == 2
        resources = [r["name"] for r in (await second.api.ok("GET", "/apis/example.com/v1"))["resources"]]
        assert "widgets" in resources
