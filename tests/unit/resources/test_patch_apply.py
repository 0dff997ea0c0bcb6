"""Server-side apply (simplified) and FieldsV1 sets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.patch import ApplyConflict, PatchError, apply_patch, fields_v1

DEPLOY = "io.k8s.api.apps.v1.Deployment"
NOW = "2025-01-01T00:00:00Z"


def deployment(replicas: int | None = 2, image: str = "nginx:1", labels: dict[str, str] | None = None,
               env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image}
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {"template": {"spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "default", "labels": labels or {"app": "web"}},
            "spec": spec}


def entry(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    return next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_first_apply_records_ownership_in_fields_v1() -> None:
    applied = deployment()
    result = apply_patch({}, applied, DEPLOY, "kubectl", False, now=NOW)
    assert result["spec"] == applied["spec"]
    assert result["metadata"]["managedFields"] == [{
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": NOW,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}},
                }}},
            },
        },
    }]


def test_reapply_without_a_field_removes_it() -> None:
    first = apply_patch({}, deployment(labels={"app": "web", "tier": "x"}), DEPLOY, "kubectl", False, now=NOW)
    second = apply_patch(first, deployment(replicas=None), DEPLOY, "kubectl", False, now=NOW)
    assert "replicas" not in second["spec"]
    assert second["metadata"]["labels"] == {"app": "web"}
    assert "f:replicas" not in entry(second, "kubectl")["fieldsV1"]["f:spec"]


def test_reapply_keeps_fields_of_other_managers() -> None:
    live = apply_patch({}, deployment(env=[{"name": "A", "value": "1"}]), DEPLOY, "kubectl", False, now=NOW)
    # Another manager adds an env var and a container to the same object.
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
             "spec": {"template": {"spec": {"containers": [
                 {"name": "web", "env": [{"name": "INJECTED", "value": "x"}]},
                 {"name": "sidecar", "image": "envoy"}]}}}}
    live = apply_patch(live, other, DEPLOY, "injector", False, now=NOW)
    result = apply_patch(live, deployment(image="nginx:2", env=[]), DEPLOY, "kubectl", False, now=NOW)
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "sidecar"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["env"] == [{"name": "INJECTED", "value": "x"}]
    assert {e["manager"] for e in result["metadata"]["managedFields"]} == {"kubectl", "injector"}


def test_conflict_with_another_manager() -> None:
    live = apply_patch({}, deployment(replicas=2), DEPLOY, "kubectl", False, now=NOW)
    live["metadata"]["managedFields"].append({
        "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
        "time": NOW, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}})
    with pytest.raises(ApplyConflict) as info:
        apply_patch(live, deployment(replicas=3), DEPLOY, "other", False, now=NOW)
    message = str(info.value)
    assert message.startswith("Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .spec.replicas")
    assert 'conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas' in message
    assert {"reason": "FieldManagerConflict", "message": 'conflict with "kubectl"',
            "field": ".spec.replicas"} in info.value.causes()


def test_single_conflict_message_matches_upstream() -> None:
    live = deployment(replicas=1)
    live["metadata"]["managedFields"] = [{
        "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
        "time": NOW, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    with pytest.raises(ApplyConflict, match=r'^Apply failed with 1 conflict: conflict with '
                                            r'"kubectl-client-side-apply" using apps/v1: \.spec\.replicas$'):
        apply_patch(live, deployment(replicas=3), DEPLOY, "kubectl", False, now=NOW)


def test_same_value_is_shared_not_a_conflict() -> None:
    live = apply_patch({}, deployment(replicas=2), DEPLOY, "a", False, now=NOW)
    result = apply_patch(live, deployment(replicas=2), DEPLOY, "b", False, now=NOW)
    assert "f:replicas" in entry(result, "a")["fieldsV1"]["f:spec"]
    assert "f:replicas" in entry(result, "b")["fieldsV1"]["f:spec"]
    # a no longer applies replicas, but b still owns it: it stays.
    after = apply_patch(result, deployment(replicas=None), DEPLOY, "a", False, now=NOW)
    assert after["spec"]["replicas"] == 2


def test_force_takes_ownership() -> None:
    live = apply_patch({}, deployment(replicas=2), DEPLOY, "a", False, now=NOW)
    result = apply_patch(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                "spec": {"replicas": 5}}, DEPLOY, "hpa", True, now=NOW)
    assert result["spec"]["replicas"] == 5
    assert "f:replicas" not in entry(result, "a")["fieldsV1"]["f:spec"]
    assert entry(result, "hpa")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # a's next apply without replicas leaves the hpa's value alone.
    again = apply_patch(result, deployment(replicas=None), DEPLOY, "a", False, now=NOW)
    assert again["spec"]["replicas"] == 5


def test_object_without_managed_fields_belongs_to_before_first_apply() -> None:
    with pytest.raises(ApplyConflict, match='"before-first-apply" using apps/v1'):
        apply_patch(deployment(replicas=1), deployment(replicas=3), DEPLOY, "kubectl", False, now=NOW)


def test_apply_does_not_mutate_inputs_and_needs_a_manager() -> None:
    live = apply_patch({}, deployment(), DEPLOY, "a", False, now=NOW)
    applied = deployment(replicas=9)
    before = (copy.deepcopy(live), copy.deepcopy(applied))
    apply_patch(live, applied, DEPLOY, "a", False, now=NOW)
    assert (live, applied) == before
    with pytest.raises(PatchError):
        apply_patch(live, applied, DEPLOY, "", False)


def test_fields_v1_of_an_update() -> None:
    obj = {"metadata": {"name": "p", "finalizers": ["x"], "labels": {"a": "1"}},
           "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                    "args": ["-v"]}]}}
    assert fields_v1(obj, "io.k8s.api.core.v1.Pod") == {
        "f:metadata": {"f:finalizers": {'v:"x"': {}}, "f:labels": {"f:a": {}}},
        "f:spec": {"f:containers": {'k:{"name":"c"}': {
            ".": {}, "f:args": {}, "f:name": {},
            "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}, "f:protocol": {}}},
        }}},
    }


def test_item_kept_for_another_manager_keeps_its_key() -> None:
    live = apply_patch({}, deployment(), DEPLOY, "kubectl", False, now=NOW)
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
             "spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "X", "value": "1"}]}]}}}}
    live = apply_patch(live, other, DEPLOY, "injector", False, now=NOW)
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [{"name": "api", "image": "api"}]
    result = apply_patch(live, config, DEPLOY, "kubectl", False, now=NOW)
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "env": [{"name": "X", "value": "1"}]},
        {"name": "api", "image": "api"},
    ]


def test_reapply_keeps_the_managers_time_unless_the_object_changes() -> None:
    """managedFieldsUpdater.Apply: the time is set only when the apply changed the object."""
    live = apply_patch({}, deployment(replicas=2), DEPLOY, "kubectl", False, now=NOW)
    later = "2025-06-01T00:00:00Z"
    again = apply_patch(live, deployment(replicas=2), DEPLOY, "kubectl", False, now=later)
    assert again == live
    changed = apply_patch(live, deployment(replicas=3), DEPLOY, "kubectl", False, now=later)
    assert changed["metadata"]["managedFields"][0]["time"] == later
