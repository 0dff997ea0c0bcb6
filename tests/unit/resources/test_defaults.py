"""The defaults the apiserver fills in (pkg/apis/*/v1/defaults.go)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.defaults import apply_defaults, apply_status_defaults, image_pull_policy
from boxk8s.resources.schema import type_errors, unknown_fields
from boxk8s.resources.validation import validate


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}},
        },
    }


def test_deployment_defaults() -> None:
    obj = deployment()
    apply_defaults(obj, "io.k8s.api.apps.v1.Deployment")
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["schedulerName"] == "default-scheduler"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"] == {}
    assert "enableServiceLinks" not in pod  # Pod-only default
    (c,) = pod["containers"]
    assert c["imagePullPolicy"] == "Always"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["resources"] == {}
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_defaults_keep_explicit_values_and_are_idempotent() -> None:
    obj = deployment()
    obj["spec"]["replicas"] = 0
    obj["spec"]["strategy"] = {"type": "Recreate"}
    apply_defaults(obj, "io.k8s.api.apps.v1.Deployment")
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["strategy"] == {"type": "Recreate"}
    again = copy.deepcopy(obj)
    apply_defaults(again, "io.k8s.api.apps.v1.Deployment")
    assert again == obj


@pytest.mark.parametrize("definition", [
    "io.k8s.api.apps.v1.Deployment", "io.k8s.api.apps.v1.ReplicaSet", "io.k8s.api.apps.v1.StatefulSet",
    "io.k8s.api.apps.v1.DaemonSet",
])
def test_defaulted_objects_stay_schema_valid(definition: str) -> None:
    obj = deployment()
    apply_defaults(obj, definition)
    assert unknown_fields(obj, definition) == []
    assert type_errors(obj, definition) == []
    assert validate(obj, definition) == []


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_service_defaults() -> None:
    svc: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [
        {"port": 80}, {"name": "named", "port": 81, "targetPort": "http"}]}}
    apply_defaults(svc, "io.k8s.api.core.v1.Service")
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": 80},
        {"name": "named", "port": 81, "targetPort": "http", "protocol": "TCP"},
    ]
    assert "externalTrafficPolicy" not in spec


def test_nodeport_service_gets_external_traffic_policy() -> None:
    svc: dict[str, Any] = {"spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    apply_defaults(svc, "io.k8s.api.core.v1.Service")
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"


def test_pod_defaults() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "busybox:1.36", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
         "readinessProbe": {"httpGet": {"port": 80}}}]}}
    apply_defaults(pod, "io.k8s.api.core.v1.Pod")
    spec = pod["spec"]
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == "default"
    assert "priority" not in spec and "preemptionPolicy" not in spec  # the Priority admission plugin's
    assert [t["key"] for t in spec["tolerations"]] == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert c["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert pod["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_statefulset_job_cronjob_defaults() -> None:
    sts: dict[str, Any] = {"spec": {"template": {"spec": {"containers": []}}}}
    apply_defaults(sts, "io.k8s.api.apps.v1.StatefulSet")
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    job: dict[str, Any] = {"metadata": {"name": "j", "uid": "u-1"},
                           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}
    apply_defaults(job, "io.k8s.api.batch.v1.Job")
    assert (job["spec"]["completions"], job["spec"]["parallelism"], job["spec"]["backoffLimit"]) == (1, 1, 6)
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert job["spec"]["template"]["metadata"]["labels"]["job-name"] == "j"
    # SetDefaults_Job, as on a read of the stored Job: the template's labels, the generated ones included
    assert job["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"]
    cron: dict[str, Any] = {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {}}}}}}
    apply_defaults(cron, "io.k8s.api.batch.v1.CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Allow"
    assert cron["spec"]["successfulJobsHistoryLimit"] == 3


def test_statefulset_claim_templates() -> None:
    """SetDefaults_StatefulSet defaults each claim as a PVC (SetDefaults_PersistentVolumeClaim: volumeMode,
    status phase), and Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec writes the templates' type meta,
    overriding what the client sent; defaulting again changes nothing."""
    claims = [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}},
              {"apiVersion": "v9", "kind": "Claim", "metadata": {"name": "logs"}, "spec": {"volumeMode": "Block"}}]
    sts: dict[str, Any] = {"spec": {"volumeClaimTemplates": claims, "template": {"spec": {"containers": []}}}}
    apply_defaults(sts, "io.k8s.api.apps.v1.StatefulSet")
    data, logs = sts["spec"]["volumeClaimTemplates"]
    assert data == {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"},
                    "status": {"phase": "Pending"}}
    assert (logs["apiVersion"], logs["kind"], logs["spec"]["volumeMode"]) == ("v1", "PersistentVolumeClaim", "Block")
    again = copy.deepcopy(sts)
    apply_defaults(again, "io.k8s.api.apps.v1.StatefulSet")
    assert again == sts


def test_secret_namespace_pvc_defaults() -> None:
    secret: dict[str, Any] = {"metadata": {"name": "s"}}
    apply_defaults(secret, "io.k8s.api.core.v1.Secret")
    assert secret["type"] == "Opaque"
    ns: dict[str, Any] = {"metadata": {"name": "dev"}}
    apply_defaults(ns, "io.k8s.api.core.v1.Namespace")
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    pvc: dict[str, Any] = {"spec": {"accessModes": ["ReadWriteOnce"]}}
    apply_defaults(pvc, "io.k8s.api.core.v1.PersistentVolumeClaim")
    assert pvc["spec"]["volumeMode"] == "Filesystem"


def test_unknown_definitions_are_left_alone() -> None:
    obj: dict[str, Any] = {"data": {"a": "b"}}
    apply_defaults(obj, "io.k8s.api.core.v1.ConfigMap")
    assert obj == {"data": {"a": "b"}}


STATUS_SAMPLES = {
    "io.k8s.api.core.v1.Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "i", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}},
    "io.k8s.api.core.v1.Service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                   "spec": {"ports": [{"port": 80}]}},
    "io.k8s.api.core.v1.Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}},
    "io.k8s.api.core.v1.PersistentVolumeClaim": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                 "metadata": {"name": "c"}, "spec": {}},
    "io.k8s.api.core.v1.PersistentVolume": {"apiVersion": "v1", "kind": "PersistentVolume",
                                            "metadata": {"name": "v"}, "spec": {}},
    "io.k8s.api.apps.v1.Deployment": deployment(),
    "io.k8s.api.core.v1.ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}},
}


@pytest.mark.parametrize("definition", sorted(STATUS_SAMPLES))
@pytest.mark.parametrize("status", [None, {}, {"phase": "Running"}, {"conditions": [{"type": "Ready"}]}])
def test_status_defaults_are_what_full_defaults_do_to_a_stored_object(definition: str, status: Any) -> None:
    stored = copy.deepcopy(STATUS_SAMPLES[definition])
    apply_defaults(stored, definition)
    full, partial = copy.deepcopy(stored), copy.deepcopy(stored)
    for obj in (full, partial):
        if status is None:
            obj.pop("status", None)
        else:
            obj["status"] = copy.deepcopy(status)
    apply_defaults(full, definition)
    apply_status_defaults(partial, definition)
    assert partial == full


def test_secret_string_data_is_merged_into_data_and_never_stored() -> None:
    """Convert_v1_Secret_To_core_Secret: stringData is write-only; its values win over data's."""
    secret: dict[str, Any] = {"metadata": {"name": "s"}, "data": {"a": "eQ==", "b": "eg=="},
                              "stringData": {"a": "x", "c": "héllo"}}
    apply_defaults(secret, "io.k8s.api.core.v1.Secret")
    assert "stringData" not in secret
    assert secret["data"] == {"a": "eA==", "b": "eg==", "c": "aMOpbGxv"}
