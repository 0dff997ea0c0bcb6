"""Custom resources validated against their CRD version, with the apiserver's messages (kube-openapi's
SchemaValidator through kubeOpenAPIResultToFieldErrors, listtype, objectmeta, CEL)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.resources.crd_structural import compile_schema
from boxk8s.resources.crd_validation import go_float, validate
from boxk8s.resources.custom import CustomVersion, ScaleSpec

SPEC: dict[str, Any] = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 10, "minLength": 2},
        "replicas": {"type": "integer", "minimum": 0, "maximum": 10},
        "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1.5, "multipleOf": 0.25},
        "size": {"type": "string", "enum": ["small", "large"]},
        "port": {"x-kubernetes-int-or-string": True},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "maxItems": 3},
        "env": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "minItems": 1,
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
                                                                                  "value": {"type": "string"}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 2},
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "x-kubernetes-preserve-unknown-fields": True},
        "limits": {"type": "object", "x-kubernetes-validations": [
            {"rule": "self.min <= self.max", "message": "min must not exceed max"},
            {"rule": "self.min >= 0", "reason": "FieldValueForbidden"},
            {"rule": "self.max < 100", "fieldPath": ".max"}],
            "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
    },
}
SCHEMA = {"type": "object", "properties": {"spec": SPEC, "status": {"type": "object", "properties": {
    "replicas": {"type": "integer"}}}}, "x-kubernetes-validations": [{"rule": "self.metadata.name != 'forbidden'"}]}


def _cv(schema: dict[str, Any] = SCHEMA, scale: ScaleSpec | None = None) -> CustomVersion:
    return CustomVersion("widgets.example.com", "uid", "example.com", "v1", "Widget", "WidgetList", "widgets",
                         "widget", True, schema, compile_schema(schema), "v1", scale=scale)


def _errors(spec: dict[str, Any], **extra: Any) -> list[str]:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
           "spec": spec, **extra}
    return [str(e) for e in validate(obj, _cv())]


OK = {"image": "nginx"}


@pytest.mark.parametrize("spec, message", [
    ({"image": 5}, 'spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer"'),
    ({"image": "NGINX"}, "spec.image: Invalid value: \"NGINX\": spec.image in body should match '^[a-z]+$'"),
    ({"image": "abcdefghijkl"}, "spec.image: Too long: must have at most 10 bytes"),
    ({"image": "a"}, 'spec.image: Invalid value: "a": spec.image in body should be at least 2 chars long'),
    ({}, "spec.image: Required value"),
    ({**OK, "replicas": 11}, "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
    ({**OK, "replicas": -1}, "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"),
    ({**OK, "replicas": 1.5}, 'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"'),
    ({**OK, "ratio": 1.5}, "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5"),
    ({**OK, "ratio": 0.3}, "spec.ratio: Invalid value: 0.3: spec.ratio in body should be a multiple of 0.25"),
    ({**OK, "size": "huge"}, 'spec.size: Unsupported value: "huge": supported values: "small", "large"'),
    ({**OK, "port": True}, 'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"'),
    ({**OK, "email": "nope"}, 'spec.email: Invalid value: "nope": spec.email in body must be of type email: "nope"'),
    ({**OK, "tags": ["a", "b", "a"]}, 'spec.tags[2]: Duplicate value: "a"'),
    ({**OK, "tags": ["a", "b", "c", "d"]}, "spec.tags: Too many: 4: must have at most 3 items"),
    ({**OK, "env": [{"name": "A"}, {"name": "A", "value": "x"}]},
     'spec.env[1]: Duplicate value: map[string]interface {}{"name":"A"}'),
    ({**OK, "env": []}, "spec.env: Invalid value: 0: spec.env in body should have at least 1 items"),
    ({**OK, "env": [{"value": "x"}]}, "spec.env[0].name: Required value"),
    ({**OK, "labels": {"a": "x"}}, 'spec.labels.a: Invalid value: "string": spec.labels.a in body must be of type integer: "string"'),
    ({**OK, "labels": {"a": 1, "b": 2, "c": 3}}, "spec.labels: Too many: 3: must have at most 2 items"),
    ({**OK, "template": {"kind": "Pod", "metadata": {"name": "a/b"}}}, "spec.template.apiVersion: Required value"),
    ({**OK, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a/b"}}},
     "spec.template.metadata.name: Invalid value: \"a/b\": may not contain '/'"),
    ({**OK, "limits": {"min": 5, "max": 3}}, 'spec.limits: Invalid value: "object": min must not exceed max'),
    ({**OK, "limits": {"min": -1, "max": 3}}, "spec.limits: Forbidden: failed rule: self.min >= 0"),
    ({**OK, "limits": {"min": 1, "max": 300}}, 'spec.limits.max: Invalid value: "object": failed rule: self.max < 100'),
    ({**OK, "limits": {"max": 3}}, 'spec.limits: Invalid value: "object": no such key: min '
                                   "evaluating rule: min must not exceed max"),
])
def test_messages(spec: dict[str, Any], message: str) -> None:
    assert message in _errors(spec)


def test_a_valid_object_has_no_errors() -> None:
    spec = {"image": "nginx", "replicas": 3, "ratio": 0.5, "size": "small", "port": "http", "email": "a@b.io",
            "tags": ["a", "b"], "env": [{"name": "A"}, {"name": "B"}], "labels": {"a": 1},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}},
            "limits": {"min": 1, "max": 2}}
    assert _errors(spec) == []
    assert _errors({"image": "nginx", "port": 8080, "replicas": 2.0}) == []  # 2.0 is an integer to JSON schema


def test_a_rule_at_the_root_sees_the_name_and_reports_at_nil() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "forbidden", "namespace": "d"},
           "spec": OK}
    assert [str(e) for e in validate(obj, _cv())] == [
        "<nil>: Invalid value: \"object\": failed rule: self.metadata.name != 'forbidden'"]


def test_metadata_is_validated_as_every_object_s() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "Bad_Name"}, "spec": OK}
    errors = [str(e) for e in validate(obj, _cv())]
    assert any(e.startswith('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain') for e in errors)


def test_scale_paths_must_hold_non_negative_integers() -> None:
    cv = _cv(scale=ScaleSpec(".spec.replicas", ".status.replicas"))
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
           "spec": {"image": "nginx", "replicas": "three"}, "status": {"replicas": -2}}
    errors = [str(e) for e in validate(obj, cv)]
    assert ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: three is of the type string, expected int64" \
        in errors
    assert ".status.replicas: Invalid value: -2: should be a non-negative integer" in errors


def test_a_rule_cel_python_cannot_run_is_skipped_not_an_error() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "quantity(self.size).isGreaterThan(quantity('1Gi'))"}],
        "properties": {"size": {"type": "string"}}}}}
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "2Gi"}}
    assert validate(obj, _cv(schema)) == []


def test_transition_rules_see_the_old_value_only_on_update() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"name": {
        "type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}]}}}}}
    new = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"name": "b"}}
    old = {**new, "spec": {"name": "a"}}
    assert validate(new, _cv(schema)) == []
    assert [str(e) for e in validate(new, _cv(schema), old)] == ['spec.name: Invalid value: "string": is immutable']


@pytest.mark.parametrize("value, text", [(10.0, "10"), (1.5, "1.5"), (1e6, "1e+06"), (123456.0, "123456"),
                                         (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5, "-2.5"), (1234567.0, "1.234567e+06")])
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text
