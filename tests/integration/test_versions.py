"""One HorizontalPodAutoscaler, two versions: autoscaling/v2 stored, autoscaling/v1 converted both ways
(upstream's pkg/apis/autoscaling/v1/conversion.go)."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.conftest import Api, watch_lines

V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
METRICS = "autoscaling.alpha.kubernetes.io/metrics"


def hpa_v1(name: str, cpu: int | None = 50) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                            "minReplicas": 1, "maxReplicas": 4}
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": spec}


def memory_metric(average: str) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                          "averageValue": average}}}


async def test_v1_written_reads_as_v2(api: Api) -> None:
    created = await api.ok("POST", V1, body=hpa_v1("a"))
    assert created["apiVersion"] == "autoscaling/v1"
    assert created["spec"]["targetCPUUtilizationPercentage"] == 50
    v2 = await api.ok("GET", f"{V2}/a")
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert "targetCPUUtilizationPercentage" not in v2["spec"]
    assert METRICS not in (v2["metadata"].get("annotations") or {})


async def test_v2_only_metrics_survive_a_v1_round_trip(api: Api) -> None:
    body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "b"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                         memory_metric("100Mi")],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}}}
    await api.ok("POST", V2, body=body)
    v1 = await api.ok("GET", f"{V1}/b")
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    notes = v1["metadata"]["annotations"]
    assert json.loads(notes[METRICS]) == [{"type": "Resource", "resource": {"name": "memory",
                                                                            "targetAverageValue": "100Mi"}}]
    assert "metrics" not in v1["spec"] and "behavior" not in v1["spec"]
    # A client that only knows v1 writes the object back with a new bound: nothing of v2 is lost.
    v1["spec"]["maxReplicas"] = 5
    await api.ok("PUT", f"{V1}/b", body=v1)
    v2 = await api.ok("GET", f"{V2}/b")
    assert v2["spec"]["maxReplicas"] == 5
    assert v2["spec"]["metrics"][1] == memory_metric("100Mi")
    assert v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30
    assert not (v2["metadata"].get("annotations") or {})


async def test_v1_patch_list_and_watch(api: Api) -> None:
    await api.ok("POST", V2, body={
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "c"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "maxReplicas": 3, "metrics": [memory_metric("50Mi")]}})
    patched = await api.ok("PATCH", f"{V1}/c", body={"spec": {"targetCPUUtilizationPercentage": 60}},
                           content_type="application/merge-patch+json")
    assert patched["apiVersion"] == "autoscaling/v1" and patched["spec"]["targetCPUUtilizationPercentage"] == 60
    v2 = await api.ok("GET", f"{V2}/c")
    assert [m["resource"]["name"] for m in v2["spec"]["metrics"]] == ["cpu", "memory"]

    listed = await api.ok("GET", V1)
    assert listed["apiVersion"] == "autoscaling/v1"
    assert [i["apiVersion"] for i in listed["items"]] == ["autoscaling/v1"]
    code, events = await watch_lines(api, V1, {}, until=1)
    assert code == 200 and events[0]["object"]["apiVersion"] == "autoscaling/v1"
    assert events[0]["object"]["spec"]["targetCPUUtilizationPercentage"] == 60
    deleted = await api.ok("DELETE", f"{V1}/c")
    assert deleted["status"] == "Success" or deleted.get("apiVersion") == "autoscaling/v1"
