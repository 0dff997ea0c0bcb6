"""The JSONPath of printer columns (client-go/util/jsonpath), as CRDs use it."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.resources import jsonpath

OBJ: dict[str, Any] = {
    "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {"replicas": 3, "containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}]},
    "status": {"conditions": [{"type": "Progressing", "status": "True"}, {"type": "Ready", "status": "False"}]},
}


@pytest.mark.parametrize("path, found", [
    (".spec.replicas", [3]),
    ("{.spec.replicas}", [3]),
    (".status.conditions[?(@.type==\"Ready\")].status", ["False"]),
    (".status.conditions[?(@.type=='Progressing')].status", ["True"]),
    (".spec.containers[*].image", ["i1", "i2"]),
    (".spec.containers[1].name", ["c2"]),
    (".spec.containers[-1].name", ["c2"]),
    (".spec.containers[0:1].name", ["c1"]),
    (".metadata.labels['app\\.kubernetes\\.io/name']", ["web"]),
    (".spec.missing.deeper", []),
    (".spec.containers[5].name", []),
])
def test_find(path: str, found: list[Any]) -> None:
    assert jsonpath.find(OBJ, path) == found


@pytest.mark.parametrize("value, text", [("s", "s"), (3, "3"), (True, "true"), ({"a": 1}, '{"a":1}'), ([1, 2], "[1,2]")])
def test_printed_as_the_jsonpath_printer_prints(value: Any, text: str) -> None:
    assert jsonpath.text(value) == text


def test_a_malformed_path_is_an_error() -> None:
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.parse(".spec.containers[")
