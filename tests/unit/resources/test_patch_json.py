"""JSON merge patch (RFC 7386 appendix A examples) and JSON patch (RFC 6902)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.patch import (
    JsonPatchFailed,
    JsonPatchTooLarge,
    PatchError,
    json_merge_patch,
    json_patch,
)

# RFC 7386 Appendix A, wrapped in an object where the RFC's target or patch is not one.
RFC7386: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ({"x": ["a", "b"]}, {"x": ["c", "d"]}, {"x": ["c", "d"]}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7386)
def test_json_merge_patch_rfc_examples(original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(original)
    assert json_merge_patch(original, patch) == expected
    assert original == before


def test_json_merge_patch_must_be_an_object() -> None:
    with pytest.raises(PatchError):
        json_merge_patch({"a": 1}, ["c"])  # type: ignore[arg-type]


def test_json_patch_operations() -> None:
    original = {"metadata": {"labels": {"a": "1"}}, "spec": {"args": ["x", "y"]}}
    ops = [
        {"op": "add", "path": "/metadata/labels/b", "value": "2"},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "replace", "path": "/spec/args/0", "value": "z"},
        {"op": "add", "path": "/spec/args/-", "value": "w"},
        {"op": "copy", "from": "/spec/args", "path": "/spec/command"},
        {"op": "move", "from": "/metadata/labels/b", "path": "/metadata/labels/c"},
        {"op": "test", "path": "/metadata/labels/c", "value": "2"},
    ]
    assert json_patch(original, ops) == {
        "metadata": {"labels": {"c": "2"}},
        "spec": {"args": ["z", "y", "w"], "command": ["z", "y", "w"]},
    }
    assert original == {"metadata": {"labels": {"a": "1"}}, "spec": {"args": ["x", "y"]}}


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/metadata/name", "value": "other"}],
    [{"op": "remove", "path": "/nope"}],
    [{"op": "replace", "path": "/spec/missing/deep", "value": 1}],
    [{"op": "frobnicate", "path": "/a"}],
    [{"path": "/a"}],
    [{"op": "add", "value": 1}],
    [{"op": "replace", "path": "", "value": [1]}],
    {"op": "add"},
])
def test_json_patch_failures_raise_patch_error(ops: Any) -> None:
    with pytest.raises(PatchError):
        json_patch({"metadata": {"name": "n"}, "spec": {}}, ops)


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/metadata/name", "value": "other"}],
    [{"op": "remove", "path": "/nope"}],
    [{"op": "frobnicate", "path": "/a"}],
    [None],
    [{"op": "replace", "path": "", "value": [1]}],
])
def test_json_patch_that_does_not_apply(ops: Any) -> None:
    """Decodes, then fails: the apiserver's 422 (jsonPatcher.applyJSPatch), not a decoding 400."""
    with pytest.raises(JsonPatchFailed):
        json_patch({"metadata": {"name": "n"}, "spec": {}}, ops)


@pytest.mark.parametrize(("ops", "message"), [
    ({"op": "add"}, "object into Go value of type []handlers.jsonPatchOp"),
    ([{"op": "add", "path": "/a", "value": 1}, 7.5], "number into Go value of type handlers.jsonPatchOp"),
    ([{"path": False, "op": 1}], "bool into Go struct field jsonPatchOp.path of type string"),  # the first in order
])
def test_json_patch_that_does_not_decode(ops: Any, message: str) -> None:
    with pytest.raises(PatchError) as info:
        json_patch({"metadata": {"name": "n"}}, ops)
    assert not isinstance(info.value, JsonPatchFailed)
    assert str(info.value) == f"error decoding patch: json: cannot unmarshal {message}"


def test_json_patch_limits_and_null() -> None:
    doc = {"metadata": {"name": "n"}}
    assert json_patch(doc, None) == doc and json_patch(doc, [{"op": "add", "path": "/a", "value": None}]) == {
        **doc, "a": None}
    with pytest.raises(JsonPatchTooLarge, match="maximum operations in a JSON patch is 10000, got 10001"):
        json_patch(doc, [{"op": "test", "path": "/metadata/name", "value": "n"}] * 10_001)
