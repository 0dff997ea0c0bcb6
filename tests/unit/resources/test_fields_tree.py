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
