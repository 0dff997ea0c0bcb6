"""autoscaling/v2 ↔ v1: every metric kind survives the trip through v1's annotations."""

from __future__ import annotations

import copy

import pytest

from boxk8s.resources import conversion, registry

V1 = registry.find("autoscaling", "v1", "horizontalpodautoscalers")
V2 = registry.find("autoscaling", "v2", "horizontalpodautoscalers")
SELECTOR = {"matchLabels": {"app": "web"}}

METRICS = [
    {"type": "Pods", "pods": {"metric": {"name": "qps", "selector": SELECTOR},
                              "target": {"type": "AverageValue", "averageValue": "10"}}},
    {"type": "Object", "object": {"describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                                      "name": "main"},
                                  "metric": {"name": "rps"}, "target": {"type": "Value", "value": "2k"}}},
    {"type": "External", "external": {"metric": {"name": "queue", "selector": SELECTOR},
                                      "target": {"type": "AverageValue", "averageValue": "30"}}},
    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                                                        "target": {"type": "Utilization", "averageUtilization": 60}}},
]


def hpa(metrics: list[dict[str, object]]) -> dict[str, object]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "annotations": {"team": "a"}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3, "metrics": metrics},
            "status": {"currentReplicas": 1, "desiredReplicas": 1,
                       "conditions": [{"type": "AbleToScale", "status": "True"}],
                       "currentMetrics": [{"type": "Resource", "resource": {
                           "name": "cpu", "current": {"averageUtilization": 12, "averageValue": "12m"}}},
                           {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "4"}}}]}}


@pytest.mark.parametrize("metric", METRICS, ids=[m["type"] for m in METRICS])
def test_round_trip(metric: dict[str, object]) -> None:
    assert V1 is not None and V2 is not None
    original = hpa([metric])
    v1 = conversion.from_storage(V1, copy.deepcopy(original))
    assert v1["apiVersion"] == "autoscaling/v1" and "metrics" not in v1["spec"]
    assert v1["status"]["currentCPUUtilizationPercentage"] == 12
    back = conversion.to_storage(V1, v1)
    assert back["spec"] == original["spec"]
    assert back["metadata"]["annotations"] == {"team": "a"}
    assert back["status"]["conditions"] == original["status"]["conditions"]
    assert [m["type"] for m in back["status"]["currentMetrics"]] == ["Resource", "Pods"]


def test_storage_version_is_v2() -> None:
    assert V1 is not None and V2 is not None
    assert conversion.storage_type(V1) is V2 and conversion.storage_type(V2) is V2
    assert not conversion.converts(V2)
