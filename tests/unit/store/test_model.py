"""encode_located and render: the resourceVersion spliced into stored text is what decoding and
encoding again would give, byte for byte."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from boxk8s import jsontext
from boxk8s.store.model import _PLACEHOLDER, Change, decode, encode, encode_located, render

# no infinities: JSON cannot carry them, and the API refuses them in bodies (api/request.py)
scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                             max_size=3), max_leaves=12)
metadata = st.dictionaries(st.sampled_from(["name", "namespace", "uid", "labels", "resourceVersion", "x"]),
                           values, max_size=5)
objects = st.builds(
    lambda before, md, after, order: _assemble(before, md, after, order),
    st.dictionaries(st.sampled_from(["apiVersion", "kind", "spec"]), values, max_size=3),
    metadata | st.none() | st.text(max_size=3),
    st.dictionaries(st.sampled_from(["status", "data", "metadata2"]), values, max_size=2),
    st.booleans(),
)


def _assemble(before: dict[str, Any], md: Any, after: dict[str, Any], first: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": md} if first and md is not None else {}
    obj.update(before)
    if not first and md is not None:
        obj["metadata"] = md
    obj.update(after)
    return obj


def _full_render(data: str, revision: int) -> bytes:
    return jsontext.dumps_bytes(decode(data, revision))


@given(objects, st.integers(1, 10**9))
def test_splice_renders_what_decode_and_encode_give(obj: dict[str, Any], revision: int) -> None:
    data, end = encode_located(obj)
    assert data == encode(obj)
    without_rv = dict(obj)
    if isinstance(obj.get("metadata"), dict):
        without_rv["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    assert data == jsontext.dumps(without_rv)
    assert json.loads(data) == without_rv
    if isinstance(obj.get("metadata"), dict):
        assert data[end] == "}"
    else:
        assert end == -1
    assert render(data, revision, end) == _full_render(data, revision)


def test_the_usual_objects_take_the_splice() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "resourceVersion": "3"},
           "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {}}
    data, end = encode_located(pod)
    assert data[:end + 1].endswith('"name":"p"}')
    assert render(data, 7, end) == b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","resourceVersion":"7"},' \
                                   b'"spec":{"containers":[{"name":"c","image":"i"}]},"status":{}}'
    empty, end = encode_located({"metadata": {}, "kind": "X"})
    assert render(empty, 2, end) == b'{"metadata":{"resourceVersion":"2"},"kind":"X"}'
    # non-ASCII is stored and served as UTF-8; rows stored before jsontext escaped it: served alike
    assert render(json.dumps({"metadata": {"name": "é"}}), 1) == '{"metadata":{"name":"é","resourceVersion":"1"}}'.encode()
    named, end = encode_located({"metadata": {"name": "é"}})
    assert render(named, 1, end) == '{"metadata":{"name":"é","resourceVersion":"1"}}'.encode()


def test_a_change_renders_once() -> None:
    data, end = encode_located({"metadata": {"name": "a"}})
    change = Change("ADDED", "/k", 5, data, 0, None, end)
    first = change.rendered_json()
    assert first == b'{"metadata":{"name":"a","resourceVersion":"5"}}'
    assert change.rendered_json() is first
    # rows read back from the table do not know where metadata ends: the same bytes, the long way
    assert Change("ADDED", "/k", 5, data, 0, None).rendered_json() == first


def test_a_value_holding_the_placeholder_is_still_encoded_right() -> None:
    obj = {"spec": {"x": _PLACEHOLDER, "metadata": _PLACEHOLDER}, "metadata": {"name": "a"}}
    data, end = encode_located(obj)
    assert data == json.dumps(obj, separators=(",", ":"))
    assert render(data, 3, end) == _full_render(data, 3)
