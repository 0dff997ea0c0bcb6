"""Which requests a MatchResources selects (admission_match.py), case by case as upstream's
policy/matching tests (the rules themselves: test_admission_webhook_match.py)."""

from __future__ import annotations

from typing import Any

from boxk8s.resources.admission_match import (
    GVR,
    Equivalent,
    match_resources,
    namespace_selector_matches,
    object_selector_matches,
)
from boxk8s.resources.admission_webhook_match import Request

DEPLOYMENTS = GVR("apps", "v1", "deployments")


def request(op: str = "CREATE", resource: GVR = DEPLOYMENTS, sub: str = "", namespace: str = "default",
            name: str = "web", labels: dict[str, str] | None = None, old_labels: dict[str, str] | None = None,
            kind: str = "Deployment") -> Request:
    obj = {"metadata": {"name": name, "labels": labels or {}}}
    old = {"metadata": {"name": name, "labels": old_labels}} if old_labels is not None else None
    return Request(op, resource.group, resource.version, resource.resource, sub, kind, namespace, name, obj, old)


def rule(**over: Any) -> dict[str, Any]:
    base = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}
    return {**base, **over}


def test_resource_names_and_exclusions() -> None:
    named = {"resourceRules": [rule(resourceNames=["web"])]}
    assert match_resources(named, request(), {}).matches
    assert not match_resources(named, request(name="api"), {}).matches
    excluded = {"resourceRules": [rule()], "excludeResourceRules": [rule(resourceNames=["web"])]}
    assert not match_resources(excluded, request(), {}).matches
    assert match_resources(excluded, request(name="api"), {}).matches
    # a binding's matchResources without rules narrows by selectors only
    assert match_resources({}, request(), {}).matches


def test_equivalent_versions_match_unless_exact() -> None:
    hpa_v1 = GVR("autoscaling", "v1", "horizontalpodautoscalers")
    hpa_v2 = GVR("autoscaling", "v2", "horizontalpodautoscalers")
    req = request(resource=hpa_v2, kind="HorizontalPodAutoscaler")
    v1_rule = rule(apiGroups=["autoscaling"], resources=["horizontalpodautoscalers"])
    equivalents = [Equivalent(hpa_v1, "HorizontalPodAutoscaler"), Equivalent(hpa_v2, "HorizontalPodAutoscaler")]
    found = match_resources({"resourceRules": [v1_rule], "matchPolicy": "Equivalent"}, req, {}, equivalents)
    assert found.matches and found.resource == hpa_v1
    assert not match_resources({"resourceRules": [v1_rule], "matchPolicy": "Exact"}, req, {}, equivalents).matches


def test_namespace_selector() -> None:
    prod = {"matchLabels": {"env": "prod"}}
    assert namespace_selector_matches(prod, request(), {"env": "prod"}) == (True, "")
    assert namespace_selector_matches(prod, request(), {"env": "dev"}) == (False, "")
    # cluster-scoped objects are never exempted; a Namespace is judged by its own labels
    assert namespace_selector_matches(prod, request(namespace="", resource=GVR("", "v1", "nodes")), None) == (True, "")
    ns = request(resource=GVR("", "v1", "namespaces"), namespace="n", name="n", labels={"env": "prod"})
    assert namespace_selector_matches(prod, ns, None) == (True, "")
    assert namespace_selector_matches(prod, request(), None) == (False, 'namespaces "default" not found')
    assert namespace_selector_matches({}, request(), None) == (True, "")


def test_object_selector_sees_old_and_new_labels() -> None:
    selected = {"matchLabels": {"team": "a"}}
    assert object_selector_matches(selected, request(labels={"team": "a"})) == (True, "")
    assert object_selector_matches(selected, request(op="UPDATE", labels={}, old_labels={"team": "a"})) == (True, "")
    assert object_selector_matches(selected, request(labels={"team": "b"})) == (False, "")


def test_selector_errors_count_only_when_the_rules_select() -> None:
    bad = {"matchExpressions": [{"key": "a", "operator": "Sometimes"}]}
    broken = {"resourceRules": [rule()], "objectSelector": bad}
    found = match_resources(broken, request(), {})
    assert not found.matches and "not a valid label selector operator" in found.error
    assert match_resources(broken, request(op="UPDATE"), {}).error == ""
