"""LimitRanger through the API: defaults written into pods (and the annotation), refusals worded
as the apiserver's."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import PODS, Api, assert_status, pod

LIMITS = "/api/v1/namespaces/default/limitranges"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"}, "spec": {"limits": list(items)}}


async def test_defaults_and_maximum(api: Api) -> None:
    await api.ok("POST", LIMITS, body=limit_range(
        {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "100m"},
         "max": {"cpu": "1"}}))
    created = await api.ok("POST", PODS, body=pod("p"))
    res = created["spec"]["containers"][0]["resources"]
    assert res == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container main; cpu, memory limit for container main")
    assert created["status"]["qosClass"] == "Burstable"  # PrepareForCreate saw the defaulted resources

    greedy = pod("greedy")
    greedy["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    code, status, _ = await api.post(PODS, greedy)
    assert_status(code, status, 403, "Forbidden")
    assert status["message"] == 'pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2'

    # a generated name is known by then (validation runs after BeforeCreate names the pod)
    greedy["metadata"] = {"generateName": "greedy-"}
    code, status, _ = await api.post(PODS, greedy)
    assert code == 403 and status["message"].startswith('pods "greedy-') and status["details"]["name"] != "greedy-"


async def test_claim_storage_bounds(api: Api) -> None:
    await api.ok("POST", LIMITS, body=limit_range(
        {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}))
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}}
    code, status, _ = await api.post(PVCS, claim)
    assert_status(code, status, 403, "Forbidden")
    assert status["message"] == ('persistentvolumeclaims "data" is forbidden: maximum storage usage per '
                                 "PersistentVolumeClaim is 10Gi, but request is 20Gi")
    claim["spec"]["resources"]["requests"]["storage"] = "5Gi"
    await api.ok("POST", PVCS, body=claim)
