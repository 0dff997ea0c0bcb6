"""Strategic merge patch: tables from the Kubernetes docs and upstream strategicpatch testdata."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.patch import PatchError, create_two_way_merge_patch, strategic_merge_patch

POD = "io.k8s.api.core.v1.Pod"
DEPLOY = "io.k8s.api.apps.v1.Deployment"


def pod_spec(**spec: Any) -> dict[str, Any]:
    return {"spec": spec}


def deploy_spec(**spec: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": spec}}}


CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        # kubernetes.io "Update API Objects in Place Using kubectl patch": the patched-in
        # container comes first, tolerations (no merge strategy) are replaced.
        "docs: add container, replace tolerations",
        DEPLOY,
        deploy_spec(
            containers=[{"name": "patch-demo-ctr", "image": "nginx"}],
            tolerations=[{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}],
        ),
        deploy_spec(
            containers=[{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}],
            tolerations=[{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}],
        ),
        deploy_spec(
            containers=[
                {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"},
                {"name": "patch-demo-ctr", "image": "nginx"},
            ],
            tolerations=[{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}],
        ),
    ),
    (
        "containers merge by name, existing order kept",
        POD,
        pod_spec(containers=[{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]),
        pod_spec(containers=[{"name": "b", "image": "b:2"}]),
        pod_spec(containers=[{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}]),
    ),
    (
        "env merges by name inside a container",
        POD,
        pod_spec(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]),
        pod_spec(containers=[{"name": "a", "env": [{"name": "Y", "value": "3"}]}]),
        pod_spec(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}]}]),
    ),
    (
        "ports merge by containerPort",
        POD,
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]),
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]),
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]),
    ),
    (
        "$patch: delete removes an item by merge key",
        POD,
        pod_spec(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}]),
        pod_spec(containers=[{"name": "b", "$patch": "delete"}]),
        pod_spec(containers=[{"name": "a"}, {"name": "c"}]),
    ),
    (
        "$patch: replace on a list",
        POD,
        pod_spec(containers=[{"name": "a", "image": "a"}, {"name": "b"}]),
        pod_spec(containers=[{"name": "c", "image": "c"}, {"$patch": "replace"}]),
        pod_spec(containers=[{"name": "c", "image": "c"}]),
    ),
    (
        "$patch: replace on a map",
        POD,
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"c": "3", "$patch": "replace"}}},
        {"metadata": {"labels": {"c": "3"}}},
    ),
    (
        "$patch: delete on a map empties it",
        POD,
        {"metadata": {"labels": {"a": "1"}}},
        {"metadata": {"labels": {"$patch": "delete"}}},
        {"metadata": {"labels": {}}},
    ),
    (
        "null deletes a key",
        POD,
        {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"hostname": "h"}},
        {"metadata": {"labels": {"a": None}}, "spec": {"hostname": None, "subdomain": None}},
        {"metadata": {"labels": {"b": "2"}}, "spec": {}},
    ),
    (
        "labels map merge",
        POD,
        {"metadata": {"labels": {"app": "web"}}},
        {"metadata": {"labels": {"tier": "front"}}},
        {"metadata": {"labels": {"app": "web", "tier": "front"}}},
    ),
    (
        "atomic list (args) replaced",
        POD,
        pod_spec(containers=[{"name": "a", "args": ["x", "y"]}]),
        pod_spec(containers=[{"name": "a", "args": ["z"]}]),
        pod_spec(containers=[{"name": "a", "args": ["z"]}]),
    ),
    (
        "finalizers merge as a set keeping order",
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
    ),
    (
        "$deleteFromPrimitiveList",
        POD,
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
    ),
    (
        "ownerReferences merge by uid",
        POD,
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "x"}]}},
        {"metadata": {"ownerReferences": [{"uid": "1", "controller": True}]}},
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "x", "controller": True}]}},
    ),
    (
        # upstream testdata: retainKeys on a volume (merge,retainKeys list) switches its source.
        "volumes $retainKeys clears the old source",
        POD,
        pod_spec(volumes=[{"name": "v", "hostPath": {"path": "/a"}}, {"name": "w", "emptyDir": {}}]),
        pod_spec(volumes=[{"name": "v", "emptyDir": {"medium": "Memory"}, "$retainKeys": ["emptyDir", "name"]}]),
        pod_spec(volumes=[{"name": "v", "emptyDir": {"medium": "Memory"}}, {"name": "w", "emptyDir": {}}]),
    ),
    (
        "deployment strategy retainKeys (on a $ref property)",
        DEPLOY,
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"type": "Recreate", "$retainKeys": ["type"]}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
    ),
    (
        "$setElementOrder reorders and adds",
        POD,
        pod_spec(containers=[{"name": "a"}, {"name": "b"}]),
        pod_spec(**{"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
                    "containers": [{"name": "c"}]}),
        pod_spec(containers=[{"name": "c"}, {"name": "b"}, {"name": "a"}]),
    ),
    (
        # upstream mergeSortedSlice: a server-only item goes before a named item it preceded
        # live (s was before b), named items follow the directive.
        "$setElementOrder interleaves server-only items by live position",
        POD,
        pod_spec(containers=[{"name": "a"}, {"name": "s"}, {"name": "b"}]),
        pod_spec(**{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                    "containers": [{"name": "b", "image": "x"}]}),
        pod_spec(containers=[{"name": "s"}, {"name": "b", "image": "x"}, {"name": "a"}]),
    ),
    (
        "$setElementOrder on a primitive list with deletions",
        POD,
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$setElementOrder/finalizers": ["c", "d", "a"], "finalizers": ["d"],
                      "$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["c", "d", "a"]}},
    ),
    (
        "unknown fields merge like a JSON merge patch",
        POD,
        {"spec": {"x-custom": {"a": 1, "l": [1, 2]}}},
        {"spec": {"x-custom": {"b": 2, "l": [3], "a": None}}},
        {"spec": {"x-custom": {"b": 2, "l": [3]}}},
    ),
    (
        "directives in a new field never reach the result",
        POD,
        {"spec": {}},
        pod_spec(containers=[{"name": "a"}, {"name": "b", "$patch": "delete"}],
                 volumes=[{"name": "v", "emptyDir": {}, "$retainKeys": ["emptyDir", "name"]}]),
        pod_spec(containers=[{"name": "a"}], volumes=[{"name": "v", "emptyDir": {}}]),
    ),
]


@pytest.mark.parametrize(("definition", "original", "patch", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_strategic_merge_patch(definition: str, original: dict[str, Any], patch: dict[str, Any],
                               expected: dict[str, Any]) -> None:
    before = (copy.deepcopy(original), copy.deepcopy(patch))
    assert strategic_merge_patch(original, patch, definition) == expected
    assert (original, patch) == before  # inputs untouched


@pytest.mark.parametrize("patch", [
    pod_spec(containers=[{"image": "no-name"}]),
    pod_spec(containers=[{"name": "a", "$patch": "bogus"}]),
    pod_spec(volumes=[{"name": "v", "emptyDir": {}, "$retainKeys": ["name"]}]),
    pod_spec(**{"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "z"}]}),
    {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
    {"metadata": {"labels": {"$patch": "merge"}}},
])
def test_bad_patches_raise_patch_error(patch: dict[str, Any]) -> None:
    original = pod_spec(containers=[{"name": "a"}], volumes=[{"name": "v", "hostPath": {"path": "/"}}])
    with pytest.raises(PatchError):
        strategic_merge_patch(original, patch, POD)


def test_unknown_definition() -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch({}, {}, "io.k8s.api.nope.v1.Nope")


def three_way(last_applied: dict[str, Any], new_config: dict[str, Any], definition: str) -> dict[str, Any]:
    """The patch kubectl apply sends, for fields the config owns: diff(last-applied, new)."""
    return create_two_way_merge_patch(last_applied, new_config, definition)


def test_three_way_apply_keeps_fields_the_config_does_not_own() -> None:
    last = deploy_spec(containers=[{"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]}])
    new = deploy_spec(containers=[{"name": "web", "image": "nginx:2", "env": [{"name": "A", "value": "2"}]}])
    live = deploy_spec(containers=[
        {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}, {"name": "INJECTED", "value": "x"}],
         "imagePullPolicy": "IfNotPresent"},
        {"name": "sidecar", "image": "envoy"},
    ])
    live["spec"]["replicas"] = 5  # scaled by someone else; absent from both configs
    patch = three_way(last, new, DEPLOY)
    assert patch == deploy_spec(
        containers=[{"name": "web", "image": "nginx:2",
                     "env": [{"name": "A", "value": "2"}], "$setElementOrder/env": [{"name": "A"}]}],
        **{"$setElementOrder/containers": [{"name": "web"}]},
    )
    result = strategic_merge_patch(live, patch, DEPLOY)
    assert result["spec"]["replicas"] == 5
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "sidecar"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["imagePullPolicy"] == "IfNotPresent"
    assert containers[0]["env"] == [{"name": "A", "value": "2"}, {"name": "INJECTED", "value": "x"}]


def test_three_way_apply_removes_what_the_config_dropped() -> None:
    last = {"metadata": {"labels": {"app": "web", "old": "x"}},
            **deploy_spec(containers=[{"name": "web"}, {"name": "gone"}])}
    new = {"metadata": {"labels": {"app": "web"}}, **deploy_spec(containers=[{"name": "web"}])}
    live = {"metadata": {"labels": {"app": "web", "old": "x", "team": "t"}},
            **deploy_spec(containers=[{"name": "web"}, {"name": "gone"}, {"name": "extra"}])}
    result = strategic_merge_patch(live, three_way(last, new, DEPLOY), DEPLOY)
    assert result["metadata"]["labels"] == {"app": "web", "team": "t"}
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web", "extra"]


def test_two_way_patch_shapes() -> None:
    assert create_two_way_merge_patch({"a": 1}, {"a": 1}, POD) == {}
    assert create_two_way_merge_patch(
        {"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["b", "c"]}}, POD
    ) == {"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"],
                       "$setElementOrder/finalizers": ["b", "c"]}}
    assert create_two_way_merge_patch(
        pod_spec(volumes=[{"name": "v", "hostPath": {"path": "/"}}]),
        pod_spec(volumes=[{"name": "v", "emptyDir": {}}]), POD,
    ) == pod_spec(volumes=[{"name": "v", "emptyDir": {}, "hostPath": None, "$retainKeys": ["emptyDir", "name"]}],
                  **{"$setElementOrder/volumes": [{"name": "v"}]})
