"""What create returns as status, kind by kind, against the apiserver's (the Go structs' json tags:
a field without omitempty is written at its zero value), and the official Python client's typed
models, which refuse an object whose required status fields are missing, reading them back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.integration.conftest import TOKEN, Api, configmap, deployment, pod, service

Obj = dict[str, Any]


def _workload(kind: str, api_version: str = "apps/v1") -> Obj:
    body = deployment("w")
    body.update(apiVersion=api_version, kind=kind)
    body["spec"].pop("replicas")
    return body


def _job() -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "w"}, "spec": {"template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}


def _cronjob() -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "w"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": _job()["spec"]}}}


def _ingress() -> Obj:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "w"},
            "spec": {"defaultBackend": {"service": {"name": "w", "port": {"number": 80}}}}}


def _pvc() -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "w"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def _rc() -> Obj:
    template = deployment("w")["spec"]["template"]
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "w"}, "spec": {"template": template}}


def _pdb() -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "w"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "w"}}}}


def _hpa(version: str) -> Obj:
    return {"apiVersion": f"autoscaling/{version}", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "w"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"},
                     "maxReplicas": 3}}


# (collection, body, the status the apiserver returns on create, None for none). The body's own
# status is dropped by the strategies' PrepareForCreate.
CASES: dict[str, tuple[str, Callable[[], Obj], Obj | None]] = {
    "daemonset": ("/apis/apps/v1/namespaces/default/daemonsets", lambda: _workload("DaemonSet"),
                  {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                   "numberReady": 0}),
    "replicaset": ("/apis/apps/v1/namespaces/default/replicasets", lambda: _workload("ReplicaSet"), {"replicas": 0}),
    "statefulset": ("/apis/apps/v1/namespaces/default/statefulsets", lambda: _workload("StatefulSet"),
                    {"replicas": 0, "availableReplicas": 0}),
    "deployment": ("/apis/apps/v1/namespaces/default/deployments", lambda: deployment("w"), {}),
    "job": ("/apis/batch/v1/namespaces/default/jobs", _job, {}),
    "cronjob": ("/apis/batch/v1/namespaces/default/cronjobs", _cronjob, {}),
    "ingress": ("/apis/networking.k8s.io/v1/namespaces/default/ingresses", _ingress, {"loadBalancer": {}}),
    "service": ("/api/v1/namespaces/default/services", lambda: service("w"), {"loadBalancer": {}}),
    "pvc": ("/api/v1/namespaces/default/persistentvolumeclaims", _pvc, {"phase": "Pending"}),
    "pod": ("/api/v1/namespaces/default/pods", lambda: pod("w"), {"phase": "Pending", "qosClass": "BestEffort"}),
    "namespace": ("/api/v1/namespaces", lambda: {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "w"}},
                  {"phase": "Active"}),
    "configmap": ("/api/v1/namespaces/default/configmaps", lambda: configmap("w"), None),
    "replicationcontroller": ("/api/v1/namespaces/default/replicationcontrollers", _rc, {"replicas": 0}),
    "poddisruptionbudget": ("/apis/policy/v1/namespaces/default/poddisruptionbudgets", _pdb,
                            {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
    # autoscaling/v2's currentReplicas is omitempty, v1's is not
    "hpa-v2": ("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", lambda: _hpa("v2"),
               {"desiredReplicas": 0}),
    "hpa-v1": ("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", lambda: _hpa("v1"),
               {"currentReplicas": 0, "desiredReplicas": 0}),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_status_on_create(api: Api, case: str) -> None:
    collection, make, expected = CASES[case]
    body = make()
    body["status"] = {"replicas": 7, "phase": "Running", "numberReady": 3}  # the client's: ignored
    if expected is None:
        body.pop("status")
    created = await api.ok("POST", collection, body=body)
    assert created.get("status") == expected
    read = await api.ok("GET", f"{collection}/{created['metadata']['name']}")
    assert read.get("status") == expected


@pytest.fixture
def typed(api: Api) -> Iterator[client.ApiClient]:
    """The official client's ApiClient on the in-process server (synchronous: call it in a thread)."""
    cfg = client.Configuration(host=str(api.client.make_url("")).rstrip("/"))
    cfg.api_key = {"authorization": TOKEN}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    with client.ApiClient(cfg) as c:
        yield c


def _round_trip(c: client.ApiClient) -> list[str]:
    """Typed create, read and list of each kind; each call deserialises into the client's models,
    which raise on a missing required field (client_side_validation)."""
    apps, batch = client.AppsV1Api(c), client.BatchV1Api(c)
    names = []
    for create, read, listing, body in [
        (apps.create_namespaced_daemon_set, apps.read_namespaced_daemon_set, apps.list_namespaced_daemon_set,
         _workload("DaemonSet")),
        (apps.create_namespaced_replica_set, apps.read_namespaced_replica_set, apps.list_namespaced_replica_set,
         _workload("ReplicaSet")),
        (apps.create_namespaced_stateful_set, apps.read_namespaced_stateful_set, apps.list_namespaced_stateful_set,
         _workload("StatefulSet")),
        (apps.create_namespaced_deployment, apps.read_namespaced_deployment, apps.list_namespaced_deployment,
         deployment("w")),
        (batch.create_namespaced_job, batch.read_namespaced_job, batch.list_namespaced_job, _job()),
    ]:
        created = create("default", body)
        again = read("w", "default")
        (listed,) = listing("default").items
        assert created.metadata.uid == again.metadata.uid == listed.metadata.uid
        assert created.status == again.status == listed.status
        names.append(type(created.status).__name__)
    return names


async def test_official_client_typed_round_trip(typed: client.ApiClient) -> None:
    names = await asyncio.to_thread(_round_trip, typed)
    assert names == ["V1DaemonSetStatus", "V1ReplicaSetStatus", "V1StatefulSetStatus", "V1DeploymentStatus",
                     "V1JobStatus"]
