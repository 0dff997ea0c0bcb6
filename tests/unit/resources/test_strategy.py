"""The per-kind strategy table: what differs per kind, and the defaults every other kind gets."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.strategy import DEFAULT, strategy_for


def rt(group: str, plural: str) -> ResourceType:
    found = registry.find(group, "v1", plural)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("group", "plural", "spec", "expected"),
    [
        ("", "pods", {"containers": [{"name": "c"}]}, {"phase": "Pending", "qosClass": "BestEffort"}),
        ("", "pods", {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]},
         {"phase": "Pending", "qosClass": "Guaranteed"}),
        ("", "pods", {"containers": [{"resources": {"requests": {"cpu": "1"}}}]},
         {"phase": "Pending", "qosClass": "Burstable"}),
        # GetPodQOS counts cpu and memory only: other resources leave a pod BestEffort
        ("", "pods", {"containers": [{"resources": {"limits": {"ephemeral-storage": "1Gi"}}}]},
         {"phase": "Pending", "qosClass": "BestEffort"}),
        # requests that differ from the limits: Burstable, even with both limits set
        ("", "pods", {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                                    "requests": {"cpu": "500m"}}}]},
         {"phase": "Pending", "qosClass": "Burstable"}),
        ("", "namespaces", {}, {"phase": "Active"}),
        # svcStrategy.PrepareForCreate empties the status; loadBalancer: {} is always written (zero_values)
        ("", "services", {}, {}),
        ("", "nodes", {}, {"capacity": {"cpu": "2"}}),  # the kubelet registers with its status
        ("apps", "deployments", {}, {}),  # a status subresource: reset
        ("", "configmaps", {}, {"capacity": {"cpu": "2"}}),  # no status subresource: left alone
    ],
)
def test_prepare_for_create(group: str, plural: str, spec: dict[str, Any], expected: dict[str, Any]) -> None:
    kind = rt(group, plural)
    obj = {"metadata": {"name": "x"}, "spec": spec, "status": {"capacity": {"cpu": "2"}}}
    strategy_for(kind).prepare_for_create(kind, obj)
    assert obj["status"] == expected


def test_kinds_not_in_the_table_get_the_defaults() -> None:
    assert strategy_for(rt("apps", "deployments")) is DEFAULT
    assert DEFAULT.grace_period({}, 30) == 0
    assert DEFAULT.default_gc_policy == "Background"
    assert strategy_for(rt("batch", "jobs")).default_gc_policy == "Orphan"
    assert not strategy_for(rt("", "events")).records_managed_fields
    assert not strategy_for(rt("events.k8s.io", "events")).records_managed_fields
    assert strategy_for(rt("", "services")).allocates_addresses


@pytest.mark.parametrize(("group", "plural", "spec", "selector"), [
    ("apps", "replicasets", {"selector": {"matchLabels": {"app": "web"}}}, {"matchLabels": {"app": "web"}}),
    ("apps", "deployments", {"selector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}},
     {"matchExpressions": [{"key": "a", "operator": "Exists"}]}),
    ("apps", "replicasets", {}, None),
    # a ReplicationController selects with an equality map: read as matchLabels (the RC adapter's conversion)
    ("", "replicationcontrollers", {"selector": {"app": "web", "tier": "front"}},
     {"matchLabels": {"app": "web", "tier": "front"}}),
    ("", "replicationcontrollers", {"selector": {}}, {"matchLabels": {}}),
    ("", "replicationcontrollers", {}, None),
])
def test_label_selector(group: str, plural: str, spec: dict[str, Any], selector: dict[str, Any] | None) -> None:
    assert strategy_for(rt(group, plural)).label_selector({"spec": spec}) == selector
