"""The OpenAPI documents kubectl fetches (v3 index, v3 per group-version, v2)."""

from __future__ import annotations

import json
import time
from typing import Any

from boxk8s.resources.openapi import (
    document_hash,
    openapi_v2_document,
    openapi_v3_document,
    openapi_v3_index,
    openapi_v3_path,
)
from boxk8s.resources.registry import RESOURCES, group_versions


def v3(group: str, version: str) -> dict[str, Any]:
    doc = openapi_v3_document(group, version)
    assert doc is not None
    return json.loads(doc)


def refs(node: Any) -> set[str]:
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if isinstance(n.get("$ref"), str):
                out.add(n["$ref"])
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return out


def test_index_lists_every_group_version_with_hash() -> None:
    paths = openapi_v3_index()["paths"]
    expected = {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in group_versions()}
    assert set(paths) == expected
    doc = openapi_v3_document("apps", "v1")
    assert doc is not None
    assert paths["apis/apps/v1"]["serverRelativeURL"] == f"/openapi/v3/apis/apps/v1?hash={document_hash(doc)}"
    assert openapi_v3_path("apis/apps/v1") == doc
    assert openapi_v3_path("api/v1") == openapi_v3_document("", "v1")


def test_unknown_group_version_is_none() -> None:
    assert openapi_v3_document("nope.example.com", "v1") is None
    assert openapi_v3_path("apis/nope") is None


def test_apps_v1_patch_carries_gvk_and_field_validation() -> None:
    doc = v3("apps", "v1")
    assert doc["openapi"] == "3.0.0"
    assert doc["info"]["title"]
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert patch["x-kubernetes-action"] == "patch"
    assert "fieldValidation" in [p["name"] for p in patch["parameters"] if p["in"] == "query"]
    assert set(patch["requestBody"]["content"]) >= {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml",
    }


def test_every_resource_has_its_operations() -> None:
    """The operations of the verbs each kind serves, and none of the others (upstream's installer
    registers a route per verb the storage implements)."""
    methods = {"list": ("", "get"), "create": ("", "post"), "deletecollection": ("", "delete"),
               "get": ("/{name}", "get"), "update": ("/{name}", "put"), "patch": ("/{name}", "patch"),
               "delete": ("/{name}", "delete")}
    for rt in RESOURCES:
        doc = v3(rt.group, rt.version)
        base = f"/apis/{rt.group}/{rt.version}" if rt.group else "/api/v1"
        scope = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
        for verb, (suffix, method) in methods.items():
            served = method in doc["paths"].get(scope + suffix, {})
            assert served == (verb in rt.verbs), (rt.plural, verb)
        if "patch" in rt.verbs:
            assert doc["paths"][scope + "/{name}"]["patch"]["x-kubernetes-group-version-kind"]["kind"] == rt.kind
        if "watch" in rt.verbs:
            watch = (f"{base}/watch/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced
                     else f"{base}/watch/{rt.plural}")
            assert doc["paths"][watch]["get"]["x-kubernetes-action"] == "watchlist"
        schema = doc["components"]["schemas"][rt.definition]
        assert schema["x-kubernetes-group-version-kind"][0]["kind"] == rt.kind


def test_refs_all_resolve_inside_components() -> None:
    for group, version in group_versions():
        doc = v3(group, version)
        schemas = doc["components"]["schemas"]
        for ref in refs(doc):
            assert ref.startswith("#/components/schemas/"), ref
            assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_schemas_are_openapi3_style() -> None:
    schemas = v3("apps", "v1")["components"]["schemas"]
    spec = schemas["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["type"] == "object"
    assert spec["properties"]["replicas"] == {
        "description": spec["properties"]["replicas"]["description"], "format": "int32", "type": "integer"}
    assert spec["properties"]["template"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}]
    assert spec["required"] == ["selector", "template"]
    deploy = schemas["io.k8s.api.apps.v1.Deployment"]
    assert "enum" not in deploy["properties"]["kind"]
    assert deploy["properties"]["kind"]["type"] == "string"
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    ios = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert ios["format"] == "int-or-string"
    text = json.dumps(schemas)
    assert '"null"' not in text and "$defs" not in text


def test_v2_document() -> None:
    doc = json.loads(openapi_v2_document())
    assert doc["swagger"] == "2.0"
    definitions = doc["definitions"]
    for ref in refs(doc):
        assert ref.startswith("#/definitions/") and ref.removeprefix("#/definitions/") in definitions, ref
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"


def test_documents_are_cached() -> None:
    openapi_v3_index()
    openapi_v2_document()
    start = time.perf_counter()
    for _ in range(100):
        openapi_v3_index()
        for g, v in group_versions():
            openapi_v3_document(g, v)
        openapi_v2_document()
    assert time.perf_counter() - start < 0.5
    assert openapi_v3_document("apps", "v1") is openapi_v3_document("apps", "v1")
