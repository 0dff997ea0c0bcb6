"""Server-side Tables of the cluster-level kinds: the columns and cells a 1.32 apiserver sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.resources.registry import by_kind
from boxk8s.resources.tables import table

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CREATED = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(api_version: str, kind: str, *objs: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(column names, as kubectl shows them upper-cased, and each row's cells)."""
    rt = by_kind(api_version, kind)
    assert rt is not None
    items = [{"apiVersion": api_version, "kind": kind, **o,
              "metadata": {"name": "x", "creationTimestamp": CREATED, **o.get("metadata", {})}} for o in objs]
    t = table(rt, items, now=NOW)
    return [c["name"].upper() for c in t["columnDefinitions"]], [r["cells"] for r in t["rows"]]


HOOK = {"name": "a.b.c"}

# (apiVersion, kind, object, the headers, the cells)
CASES: list[tuple[str, str, dict[str, Any], list[str], list[Any]]] = [
    ("v1", "ReplicationController", {
        "spec": {"replicas": 3, "selector": {"app": "a", "tier": "web"}, "template": {"spec": {"containers": [
            {"name": "c", "image": "i:1"}, {"name": "d", "image": "j:2"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}},
     ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
     ["x", 3, 2, 1, "5m", "c,d", "i:1,j:2", "app=a,tier=web"]),
    ("v1", "PodTemplate", {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [
        {"name": "c", "image": "i"}]}}},
     ["NAME", "CONTAINERS", "IMAGES", "POD LABELS"], ["x", "c", "i", "a=b"]),
    ("v1", "ResourceQuota", {"status": {
        "hard": {"pods": "10", "limits.cpu": "2", "requests.memory": "1Gi", "limits.memory": "2Gi"},
        "used": {"pods": "3", "limits.cpu": "500m"}}},
     ["NAME", "AGE", "REQUEST", "LIMIT"],
     ["x", "5m", "pods: 3/10, requests.memory: 0/1Gi", "limits.cpu: 500m/2, limits.memory: 0/2Gi"]),
    ("v1", "LimitRange", {}, ["NAME", "CREATED AT"], ["x", CREATED]),
    ("v1", "ComponentStatus", {"conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]},
     ["NAME", "STATUS", "MESSAGE", "ERROR"], ["x", "Healthy", "ok", ""]),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", {}, ["NAME", "CREATED AT"], ["x", CREATED]),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", {
        "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [
            {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}, {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}]},
     ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
     ["x", "ClusterRole/view", "5m", "alice, bob", "devs", "ns/sa"]),
    ("storage.k8s.io/v1", "StorageClass", {
        "metadata": {"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"},
     ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
     ["x (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "5m"]),
    ("storage.k8s.io/v1", "CSIDriver", {"spec": {"attachRequired": False, "tokenRequests": [{"audience": "a"}],
                                                 "volumeLifecycleModes": ["Persistent", "Ephemeral"]}},
     ["NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES",
      "AGE"],
     ["x", False, False, False, "a", False, "Persistent,Ephemeral", "5m"]),
    ("storage.k8s.io/v1", "CSINode", {"spec": {"drivers": [{"name": "d", "nodeID": "n"}]}},
     ["NAME", "DRIVERS", "AGE"], ["x", 1, "5m"]),
    ("storage.k8s.io/v1", "CSIStorageCapacity", {"storageClassName": "sc", "capacity": "10Gi"},
     ["NAME", "STORAGECLASSNAME", "CAPACITY"], ["x", "sc", "10Gi"]),
    ("storage.k8s.io/v1", "VolumeAttachment", {
        "spec": {"attacher": "csi.x", "nodeName": "n1", "source": {"persistentVolumeName": "pv1"}},
        "status": {"attached": True}},
     ["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"], ["x", "csi.x", "pv1", "n1", True, "5m"]),
    ("scheduling.k8s.io/v1", "PriorityClass", {"value": 1000, "globalDefault": True, "preemptionPolicy": "Never"},
     ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"], ["x", 1000, True, "5m", "Never"]),
    ("node.k8s.io/v1", "RuntimeClass", {"handler": "runc"}, ["NAME", "HANDLER", "AGE"], ["x", "runc", "5m"]),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {
        "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "kubernetes-admin",
                 "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "Y2VydA=="}},
     ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"],
     ["x", "5m", "kubernetes.io/kube-apiserver-client", "kubernetes-admin", "24h", "Approved,Issued"]),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {
        "spec": {"signerName": "s.io/x"}, "status": {"conditions": [{"type": "Denied"}, {"type": "Failed"}]}},
     ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"],
     ["x", "5m", "s.io/x", "", "<none>", "Denied,Failed"]),
    ("policy/v1", "PodDisruptionBudget", {"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 2}},
     ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"], ["x", "50%", "N/A", 2, "5m"]),
    ("autoscaling/v2", "HorizontalPodAutoscaler", {
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 80}}}]},
        "status": {"currentReplicas": 2}},
     ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
     ["x", "Deployment/web", "cpu: <unknown>/80%", "1", 10, 2, "5m"]),
    ("autoscaling/v1", "HorizontalPodAutoscaler", {
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 4,
                 "targetCPUUtilizationPercentage": 50},
        "status": {"currentReplicas": 1, "currentCPUUtilizationPercentage": 12}},
     ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
     ["x", "Deployment/web", "cpu: 12%/50%", "<unset>", 4, 1, "5m"]),
    ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {"podSelector": {"matchLabels": {"app": "db"}}}},
     ["NAME", "POD-SELECTOR", "AGE"], ["x", "app=db", "5m"]),
    ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {"podSelector": {}}}, ["NAME", "POD-SELECTOR", "AGE"],
     ["x", "<none>", "5m"]),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", {"webhooks": [HOOK, HOOK]},
     ["NAME", "WEBHOOKS", "AGE"], ["x", 2, "5m"]),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", {"spec": {
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}, "validations": [{"expression": "true"}]}},
     ["NAME", "VALIDATIONS", "PARAMKIND", "AGE"], ["x", 1, "v1/ConfigMap", "5m"]),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", {"spec": {
        "policyName": "p", "paramRef": {"name": "cm"}}},
     ["NAME", "POLICYNAME", "PARAMREF", "AGE"], ["x", "p", "*/cm", "5m"]),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", {"spec": {
        "policyName": "p", "paramRef": {"selector": {"matchLabels": {"a": "b"}}}}},
     ["NAME", "POLICYNAME", "PARAMREF", "AGE"],
     ["x", "p", "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}",
      "5m"]),
    ("apiregistration.k8s.io/v1", "APIService", {"spec": {"service": {"namespace": "kube-system", "name": "m"}},
                                                 "status": {"conditions": [{"type": "Available", "status": "False",
                                                                            "reason": "MissingEndpoints"}]}},
     ["NAME", "SERVICE", "AVAILABLE", "AGE"], ["x", "kube-system/m", "False (MissingEndpoints)", "5m"]),
    ("apiregistration.k8s.io/v1", "APIService", {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
     ["NAME", "SERVICE", "AVAILABLE", "AGE"], ["x", "Local", "True", "5m"]),
    ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema", {
        "spec": {"priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 9000,
                 "distinguisherMethod": {"type": "ByUser"}},
        "status": {"conditions": [{"type": "Dangling", "status": "False"}]}},
     ["NAME", "PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD", "AGE", "MISSINGPL"],
     ["x", "workload-low", 9000, "ByUser", "5m", "False"]),
    ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", {"spec": {"type": "Limited", "limited": {
        "nominalConcurrencyShares": 30, "limitResponse": {"type": "Queue", "queuing": {
            "queues": 64, "handSize": 8, "queueLengthLimit": 50}}}}},
     ["NAME", "TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT", "AGE"],
     ["x", "Limited", 30, 64, 8, 50, "5m"]),
    ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", {"spec": {"type": "Exempt", "exempt": {}}},
     ["NAME", "TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT", "AGE"],
     ["x", "Exempt", "<none>", "<none>", "<none>", "<none>", "5m"]),
]


@pytest.mark.parametrize(("api_version", "kind", "obj", "headers", "cells"), CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_columns_and_cells(api_version: str, kind: str, obj: dict[str, Any], headers: list[str],
                           cells: list[Any]) -> None:
    assert render(api_version, kind, obj) == (headers, [cells])


def test_wide_columns_are_priority_one() -> None:
    rt = by_kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    assert rt is not None
    columns = table(rt, [], now=NOW)["columnDefinitions"]
    assert [c["name"] for c in columns if c["priority"] == 1] == ["Users", "Groups", "ServiceAccounts"]


@pytest.mark.parametrize(("metrics", "statuses", "expected"), [
    ([], [], "<none>"),
    ([{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}],
     [{"type": "Pods", "pods": {"current": {"averageValue": "7"}}}], "7/10"),
    ([{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "30"}}},
      {"type": "Object", "object": {"metric": {"name": "r"}, "target": {"type": "Value", "value": "5"}}},
      {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}],
     [], "<unknown>/30 (avg), <unknown>/5 + 1 more..."),
    ([{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {
        "type": "Utilization"}}}], [], "cpu: <unknown>/<auto>"),
])
def test_hpa_targets(metrics: list[Any], statuses: list[Any], expected: str) -> None:
    _, [row] = render("autoscaling/v2", "HorizontalPodAutoscaler",
                      {"spec": {"metrics": metrics}, "status": {"currentMetrics": statuses}})
    assert row[2] == expected


def test_flow_schemas_print_by_matching_precedence_then_name() -> None:
    _, rows = render("flowcontrol.apiserver.k8s.io/v1", "FlowSchema",
                     {"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 500}},
                     {"metadata": {"name": "c"}, "spec": {"matchingPrecedence": 100}},
                     {"metadata": {"name": "a"}, "spec": {"matchingPrecedence": 500}})
    assert [r[0] for r in rows] == ["c", "a", "b"]
