"""The FieldsV1 tree built directly (patch_fields._tree_of_map) is the one the field set gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from boxk8s.resources import patch_fields
from boxk8s.resources.patch_schema import root_schema
from boxk8s.resources.registry import RESOURCES
from tests.integration.samples import SAMPLES

DEPLOYMENT_SPEC = {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
    "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81}],
                    "env": [{"name": "A", "value": "1"}], "args": ["x", "y"]},
                   {"name": "a", "image": "y"}, {"name": "b", "image": "z", "resources": {}}],
    "volumes": [{"name": "v", "emptyDir": {}}], "tolerations": [{"key": "k", "operator": "Exists"}]}}}
CASES: list[tuple[str, dict[str, Any]]] = [
    ("io.k8s.api.apps.v1.Deployment", {"spec": DEPLOYMENT_SPEC}),
    ("io.k8s.api.core.v1.Service", {"spec": {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"},
                                                       {"port": 81}], "selector": {}, "clusterIPs": ["10.0.0.1"]}}),
    *((next(rt.definition for rt in RESOURCES if rt.kind == kind.split("/")[-1]), content)
      for kind, content in SAMPLES.items() if any(rt.kind == kind.split("/")[-1] for rt in RESOURCES)),
]


@pytest.mark.parametrize("definition, obj", CASES, ids=[f"{d.rsplit('.', 1)[-1]}-{i}" for i, (d, _) in enumerate(CASES)])
def test_the_direct_tree_is_the_field_set_s(definition: str, obj: dict[str, Any]) -> None:
    schema = root_schema(definition)
    for key, value in obj.items():
        if value is None or key in patch_fields._IDENTITY:
            continue
        by_paths = patch_fields.to_fields_v1(patch_fields.field_set({key: value}, schema))
        direct = patch_fields._tree_of_map({key: value}, schema)
        assert json.dumps(direct) == json.dumps(by_paths)  # the same, in the same order


def test_fields_whose_values_never_repeat_skip_the_cache_and_get_the_same_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patch_fields, "_RATES", {})  # what earlier tests' objects taught it does not count
    definition = "io.k8s.api.core.v1.ConfigMap"
    schema = root_schema(definition)
    looked_up = []
    for i in range(300):  # unique metadata and data: past the first lookups, the cache is skipped
        obj = {"metadata": {"name": f"cm-{i}", "labels": {f"l{i}": "x"}}, "data": {f"k{i}": "v"}}
        before = len(patch_fields._SUBTREES)
        tree = patch_fields.fields_v1(obj, definition)
        looked_up.append(len(patch_fields._SUBTREES) != before)
        expected = patch_fields.to_fields_v1(patch_fields.field_set(obj, schema))
        assert json.dumps(tree, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert all(looked_up[:64]) and not all(looked_up[-64:]) and any(looked_up[-64:])  # skipped, probed now and then
    for _ in range(700):  # the same data again and again: the probes' hits give it the cache back
        patch_fields.fields_v1({"data": {"same": "v"}}, definition)
    lookups, hits, _ = patch_fields._RATES[(definition, "data")]
    assert hits * 8 >= lookups


METADATAS: list[Any] = [
    {}, {"name": "a"}, {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "1", "generation": 2,
                        "creationTimestamp": "t", "managedFields": [{"manager": "m"}]},
    {"name": "a", "labels": {"x": "1", "y": None}, "annotations": {}, "finalizers": ["f", "g"],
     "ownerReferences": [{"uid": "o", "kind": "K", "name": "p", "apiVersion": "v1"}]},
    {"name": "a", "labels": None}, {"labels": {"x": None}}, {"generateName": "a-", "deletionTimestamp": "t"},
]
NULLS: list[Any] = [{"a": None}, {"a": {"b": None}}, {"a": {}, "b": [None], "c": {"d": None, "e": 1}}]


@pytest.mark.parametrize("key, value", [("metadata", m) for m in METADATAS] + [("data", n) for n in NULLS])
def test_a_part_is_the_field_set_s(key: str, value: Any) -> None:
    schema = root_schema("io.k8s.api.core.v1.ConfigMap")
    expected = patch_fields.to_fields_v1(patch_fields.field_set({key: value}, schema))
    assert json.dumps(patch_fields._part(key, value, schema)) == json.dumps(expected)
