"""Pruning and defaulting by structural schemas (apiextensions-apiserver's pruning and defaulting)."""

from __future__ import annotations

from typing import Any

from boxk8s.resources.crd_structural import compile_schema, default, prune

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "image": {"type": "string"},
                "replicas": {"type": "integer", "default": 1},
                "ports": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"},
                                                                                       "protocol": {"type": "string", "default": "TCP"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                         "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}}},
                "nullable": {"type": "string", "nullable": True},
                "nested": {"type": "object", "default": {}, "properties": {"deep": {"type": "string", "default": "d"}}},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}
ROOT = compile_schema(SCHEMA)


def _prune(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    unknown: list[str] = []
    return prune(obj, ROOT, unknown), unknown


def test_unknown_fields_are_pruned_and_named_sorted() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a", "odd": 1},
           "spec": {"image": "x", "zzz": 1, "aaa": {"b": 2}, "ports": [{"port": 80, "extra": True}]}, "top": 1}
    out, unknown = _prune(obj)
    assert unknown == ["spec.aaa", "spec.ports[0].extra", "spec.zzz", "top"]
    assert out == {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a", "odd": 1},
                   "spec": {"image": "x", "ports": [{"port": 80}]}}
    assert obj["spec"]["zzz"] == 1  # the input is not changed


def test_preserve_unknown_fields_keeps_the_unknown_and_prunes_the_known() -> None:
    out, unknown = _prune({"spec": {"free": {"anything": {"goes": [1]}, "known": {"a": "x", "b": "gone"}}}})
    assert out["spec"]["free"] == {"anything": {"goes": [1]}, "known": {"a": "x"}}
    assert unknown == ["spec.free.known.b"]


def test_maps_keep_their_keys_embedded_resources_their_type_and_metadata() -> None:
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "y", "z": 1}, "junk": 2}
    out, unknown = _prune({"spec": {"labels": {"a": "1", "b": "2"}, "template": template}})
    assert out["spec"]["labels"] == {"a": "1", "b": "2"}
    assert out["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "y"}}
    assert unknown == ["spec.template.junk", "spec.template.spec.z"]


def test_non_nullable_nulls_without_defaults_go() -> None:
    out, unknown = _prune({"spec": {"image": None, "nullable": None, "replicas": None}})
    assert out["spec"] == {"nullable": None, "replicas": None}  # replicas has a default: defaulting fills it
    assert unknown == []


def test_defaults_fill_absent_fields_and_non_nullable_nulls() -> None:
    obj: dict[str, Any] = {"spec": {"replicas": None, "ports": [{"port": 80}, {"port": 81, "protocol": "UDP"}]}}
    default(obj, ROOT)
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "UDP"}]
    assert obj["spec"]["nested"] == {"deep": "d"}  # a defaulted object is defaulted further
    assert "status" not in obj  # no default for status: nothing under it is filled


def test_defaults_are_copies() -> None:
    a: dict[str, Any] = {"spec": {}}
    b: dict[str, Any] = {"spec": {}}
    default(a, ROOT)
    default(b, ROOT)
    a["spec"]["nested"]["deep"] = "changed"
    assert b["spec"]["nested"]["deep"] == "d"


def test_a_schema_that_preserves_everything_at_the_root() -> None:
    root = compile_schema({"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    unknown: list[str] = []
    assert prune({"spec": {"a": 1}, "b": [1]}, root, unknown) == {"spec": {"a": 1}, "b": [1]}
    assert unknown == []
