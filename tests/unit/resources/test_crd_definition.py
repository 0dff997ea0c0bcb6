"""The CustomResourceDefinition kind's own defaults and validation (ValidateCustomResourceDefinition
essentials and the structural schema rules), with the apiserver's messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.crd_definition import crd_defaults, validate_crd


def crd(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "replicas": {"type": "integer", "default": 1}}}}}}}],
                 "conversion": {"strategy": "None"}},
        "status": {"storedVersions": ["v1"]},
    }
    for path, value in changes.items():
        target = obj
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        target[keys[-1]] = value
    return obj


def messages(obj: dict[str, Any]) -> list[str]:
    return [str(e) for e in validate_crd(obj)]


def test_a_valid_crd() -> None:
    assert messages(crd()) == []


SCHEMA = "spec.versions[0].schema.openAPIV3Schema"


@pytest.mark.parametrize("changes, message", [
    ({"metadata__name": "widget.example.com"},
     'metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group'),
    ({"spec__group": "example", "metadata__name": "widgets.example"},
     'spec.group: Invalid value: "example": should be a domain with at least one dot'),
    ({"spec__scope": "Global"}, 'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
    ({"spec__names__kind": "Wid get"}, 'spec.names.kind: Invalid value: "Wid get": may have mixed case, but should '
                                       "otherwise match: a DNS-1035 label must consist of lower case alphanumeric"),
    ({"spec__names__listKind": "Widget"}, 'spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same'),
    ({"spec__versions__0__storage": False}, "spec.versions: Invalid value:"),
    ({"spec__versions__0__schema": {}}, f"{SCHEMA}: Required value: schemas are required"),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {}}}}},
     f"{SCHEMA}.properties[spec].type: Required value: must not be empty for specified object fields"),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "string"}}},
     f'{SCHEMA}.type: Invalid value: "string": must be object at the root'),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "properties": {"l": {"type": "array"}}}}},
     f"{SCHEMA}.properties[l].items: Required value: must be specified"),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "properties": {"x": {"type": "thing"}}}}},
     f'{SCHEMA}.properties[x].type: Unsupported value: "thing": supported values: "array", "boolean", "integer", '
     '"number", "object", "string"'),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "properties": {"metadata": {
        "type": "object", "properties": {"labels": {"type": "object"}}}}}}},
     f"{SCHEMA}.properties[metadata]: Forbidden: must not specify anything other than name and generateName"),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "properties": {"l": {
        "type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {
            "k": {"type": "string"}}}}}}}},
     f"{SCHEMA}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "properties": {"n": {
        "type": "integer", "default": "three"}}}}},
     f'{SCHEMA}.properties[n].default: Invalid value: "string": {SCHEMA}.properties[n].default in body must be of '
     'type integer: "string"'),
    ({"spec__versions__0__schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.a >"}]}}}, f"{SCHEMA}.x-kubernetes-validations[0].rule: Invalid value:"),
    ({"spec__versions__0__subresources": {"scale": {"specReplicasPath": ".replicas", "statusReplicasPath": ".status.r"}}},
     'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".replicas": should be a json path under .spec'),
    ({"spec__versions__0__additionalPrinterColumns": [{"name": "X", "type": "money", "jsonPath": ".spec.x"}]},
     'spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "money": must be one of '
     "boolean,date,integer,number,string"),
    ({"spec__group": "things.k8s.io", "metadata__name": "widgets.things.k8s.io"},
     "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval "
     'annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'),
    ({"status__storedVersions": ["v0"]}, "status.storedVersions[0]: Invalid value: \"v0\": must appear in spec.versions"),
])
def test_messages(changes: dict[str, Any], message: str) -> None:
    found = messages(crd(**changes))
    assert any(m.startswith(message) for m in found), found


def test_int_or_string_any_of_is_structural() -> None:
    schema = {"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": True,
                                                        "anyOf": [{"type": "integer"}, {"type": "string"}]}}}
    assert messages(crd(spec__versions__0__schema={"openAPIV3Schema": schema})) == []


def test_defaults() -> None:
    obj = crd()
    del obj["spec"]["names"]["singular"], obj["spec"]["names"]["listKind"], obj["spec"]["conversion"]
    obj["status"] = {}
    crd_defaults(obj)
    assert obj["spec"]["names"]["singular"] == "widget"
    assert obj["spec"]["names"]["listKind"] == "WidgetList"
    assert obj["spec"]["conversion"] == {"strategy": "None"}
    assert obj["status"] == {"acceptedNames": {"kind": "", "plural": ""}, "storedVersions": ["v1"]}


def test_a_new_storage_version_joins_the_stored_ones() -> None:
    obj = crd()
    obj["spec"]["versions"] = [{**obj["spec"]["versions"][0], "storage": False},
                               {**copy.deepcopy(obj["spec"]["versions"][0]), "name": "v2"}]
    crd_defaults(obj)
    assert obj["status"]["storedVersions"] == ["v1", "v2"]
    assert messages(obj) == []
