"""Properties: an empty patch is the identity; a two-way patch turns original into modified."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from boxk8s.resources.patch import create_two_way_merge_patch, json_merge_patch, strategic_merge_patch

POD = "io.k8s.api.core.v1.Pod"
CONFIGMAP = "io.k8s.api.core.v1.ConfigMap"

keys = st.text("abcxyz", min_size=1, max_size=3)
scalars = st.one_of(st.booleans(), st.integers(-3, 3), st.text("ab", max_size=2))
# Values of fields the schema does not know: JSON-merge-patch semantics. No nulls, since a
# null in `modified` means "delete" in a patch and cannot round-trip.
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=10,
)
json_maps = st.dictionaries(keys, json_values, max_size=4)

env_lists = st.lists(
    st.builds(lambda n, v: {"name": n, "value": v}, st.sampled_from("ABCD"), st.text("xy", max_size=2)),
    max_size=4, unique_by=lambda e: e["name"],
)
containers = st.lists(
    st.builds(
        lambda n, image, env, args: {"name": n, "image": image, "env": env, "args": args},
        st.sampled_from(["web", "db", "log"]), st.sampled_from(["a", "b"]), env_lists,
        st.lists(st.sampled_from(["-v", "-q"]), max_size=2),
    ),
    min_size=1, max_size=3, unique_by=lambda c: c["name"],
)
pods = st.builds(
    lambda labels, finalizers, cs, extra: {
        "metadata": {"labels": labels, "finalizers": finalizers},
        "spec": {"containers": cs, "x-extra": extra},
    },
    st.dictionaries(keys, st.text("ab", max_size=2), max_size=3),
    st.lists(st.sampled_from(["f1", "f2", "f3"]), unique=True, max_size=3),
    containers,
    json_maps,
)


@given(json_maps)
def test_empty_patch_is_identity_schemaless(x: dict[str, Any]) -> None:
    assert strategic_merge_patch(x, {}, CONFIGMAP) == x


@given(pods)
def test_empty_patch_is_identity_pod(x: dict[str, Any]) -> None:
    assert strategic_merge_patch(x, {}, POD) == x


@given(json_maps, json_maps)
def test_two_way_patch_round_trips_schemaless(a: dict[str, Any], b: dict[str, Any]) -> None:
    patch = create_two_way_merge_patch(a, b, CONFIGMAP)
    assert strategic_merge_patch(a, patch, CONFIGMAP) == b


@settings(max_examples=200)
@given(pods, pods)
def test_two_way_patch_round_trips_pods(a: dict[str, Any], b: dict[str, Any]) -> None:
    patch = create_two_way_merge_patch(a, b, POD)
    assert strategic_merge_patch(a, patch, POD) == b


@given(json_maps, json_maps)
def test_strategic_equals_json_merge_without_schema_knowledge(a: dict[str, Any], b: dict[str, Any]) -> None:
    # With no list of a known field involved, both patch types agree.
    assert strategic_merge_patch(a, b, CONFIGMAP) == json_merge_patch(a, b)
