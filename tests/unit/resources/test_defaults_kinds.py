"""The defaults of the cluster-level kinds (pkg/apis/<group>/<version>/defaults.go, Kubernetes 1.32)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.defaults import apply_defaults
from boxk8s.resources.schema import type_errors, unknown_fields
from boxk8s.resources.zero_values import fill_status_zero_values

D = "io.k8s.api."
RBAC = "rbac.authorization.k8s.io"
SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}
SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
CPU_80 = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
HOOK = {"name": "a.b.c", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "s", "namespace": "n"}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}
HOOK_DEFAULTS = {"failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                 "timeoutSeconds": 10}
MATCH_DEFAULTS = {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}}
RULE = {"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"]}

# (definition, object sent, object stored): what the apiserver adds.
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (D + "core.v1.ReplicationController",
     {"spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}},
     {"metadata": {"labels": {"app": "a"}},
      "spec": {"replicas": 1, "selector": {"app": "a"}, "template": {"metadata": {"labels": {"app": "a"}}, "spec": {
          "containers": [{"name": "c", "image": "i:1", "imagePullPolicy": "IfNotPresent", "resources": {},
                          "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
          "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
          "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}}}}),
    (D + "core.v1.ReplicationController",  # given selector and labels stay; zero replicas stay zero
     {"metadata": {"labels": {"own": "x"}}, "spec": {"replicas": 0, "selector": {"app": "b"},
                                                     "template": {"metadata": {"labels": {"app": "b", "v": "2"}}}}},
     {"metadata": {"labels": {"own": "x"}}, "spec": {"replicas": 0, "selector": {"app": "b"}, "template": {
         "metadata": {"labels": {"app": "b", "v": "2"}}, "spec": {
             "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
             "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}}}}),
    (D + "core.v1.LimitRange",
     {"spec": {"limits": [
         {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m"},
          "default": {"memory": "512Mi"}},
         {"type": "Pod", "max": {"cpu": "4"}}]}},
     {"spec": {"limits": [
         {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m"},
          "default": {"memory": "512Mi", "cpu": "2"}, "defaultRequest": {"memory": "512Mi", "cpu": "2"}},
         {"type": "Pod", "max": {"cpu": "4"}}]}}),
    (D + "core.v1.LimitRange",  # only a min: the default request is the min, no default limit
     {"spec": {"limits": [{"type": "Container", "min": {"cpu": "50m"}}]}},
     {"spec": {"limits": [{"type": "Container", "min": {"cpu": "50m"}, "defaultRequest": {"cpu": "50m"}}]}}),
    (D + "rbac.v1.RoleBinding",
     {"roleRef": {"kind": "Role", "name": "r"}, "subjects": [
         {"kind": "User", "name": "u"}, {"kind": "Group", "name": "g"},
         {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]},
     {"roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "r"}, "subjects": [
         {"kind": "User", "name": "u", "apiGroup": RBAC}, {"kind": "Group", "name": "g", "apiGroup": RBAC},
         {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}),
    (D + "rbac.v1.ClusterRoleBinding",
     {"roleRef": {"kind": "ClusterRole", "name": "view"}},
     {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"}}),
    (D + "storage.v1.StorageClass", {"provisioner": "p"},
     {"provisioner": "p", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}),
    (D + "storage.v1.StorageClass", {"provisioner": "p", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"},
     {"provisioner": "p", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}),
    (D + "storage.v1.CSIDriver", {"spec": {"podInfoOnMount": True}},
     {"spec": {"attachRequired": True, "podInfoOnMount": True, "storageCapacity": False,
               "fsGroupPolicy": "ReadWriteOnceWithFSType", "volumeLifecycleModes": ["Persistent"],
               "requiresRepublish": False, "seLinuxMount": False}}),
    (D + "autoscaling.v2.HorizontalPodAutoscaler",
     {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3}},
     {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3, "minReplicas": 1,
               "metrics": CPU_80}}),
    (D + "autoscaling.v2.HorizontalPodAutoscaler",  # a behavior is completed from the defaults
     {"spec": {"maxReplicas": 3, "minReplicas": 2, "metrics": [{"type": "Pods", "pods": {
         "metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}],
         "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}},
     {"spec": {"maxReplicas": 3, "minReplicas": 2, "metrics": [{"type": "Pods", "pods": {
         "metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}],
         "behavior": {"scaleUp": SCALE_UP, "scaleDown": {**SCALE_DOWN, "stabilizationWindowSeconds": 60}}}}),
    (D + "autoscaling.v1.HorizontalPodAutoscaler", {"spec": {"maxReplicas": 3}},
     {"spec": {"maxReplicas": 3, "minReplicas": 1}}),
    (D + "scheduling.v1.PriorityClass", {"value": 10}, {"value": 10, "preemptionPolicy": "PreemptLowerPriority"}),
    (D + "admissionregistration.v1.ValidatingWebhookConfiguration", {"webhooks": [copy.deepcopy(HOOK)]},
     {"webhooks": [{**HOOK, **HOOK_DEFAULTS, "clientConfig": {"service": {"name": "s", "namespace": "n", "port": 443}},
                    "rules": [{**HOOK["rules"][0], "scope": "*"}]}]}),
    (D + "admissionregistration.v1.MutatingWebhookConfiguration",
     {"webhooks": [{**copy.deepcopy(HOOK), "timeoutSeconds": 5, "clientConfig": {"url": "https://x"}}]},
     {"webhooks": [{**HOOK, **HOOK_DEFAULTS, "timeoutSeconds": 5, "reinvocationPolicy": "Never",
                    "clientConfig": {"url": "https://x"}, "rules": [{**HOOK["rules"][0], "scope": "*"}]}]}),
    (D + "admissionregistration.v1.ValidatingAdmissionPolicy",
     {"spec": {"matchConstraints": {"resourceRules": [dict(RULE)]}, "validations": [{"expression": "true"}]}},
     {"spec": {"failurePolicy": "Fail", "matchConstraints": {**MATCH_DEFAULTS, "resourceRules": [{**RULE, "scope": "*"}]},
               "validations": [{"expression": "true"}]}}),
    (D + "admissionregistration.v1.ValidatingAdmissionPolicyBinding",
     {"spec": {"policyName": "p", "validationActions": ["Deny"], "matchResources": {}}},
     {"spec": {"policyName": "p", "validationActions": ["Deny"], "matchResources": MATCH_DEFAULTS}}),
    ("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService",
     {"spec": {"group": "g.io", "version": "v1", "service": {"namespace": "n", "name": "s"}}},
     {"spec": {"group": "g.io", "version": "v1", "service": {"namespace": "n", "name": "s", "port": 443}}}),
    (D + "flowcontrol.v1.FlowSchema", {"spec": {"priorityLevelConfiguration": {"name": "p"}}},
     {"spec": {"priorityLevelConfiguration": {"name": "p"}, "matchingPrecedence": 1000}}),
    (D + "flowcontrol.v1.PriorityLevelConfiguration",
     {"spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {"queues": 16}}}}},
     {"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 30, "lendablePercent": 0, "limitResponse": {
         "type": "Queue", "queuing": {"queues": 16, "handSize": 8, "queueLengthLimit": 50}}}}}),
    (D + "flowcontrol.v1.PriorityLevelConfiguration",  # zero shares is a choice in v1 (a pointer)
     {"spec": {"type": "Exempt", "exempt": {}}},
     {"spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}}}),
    (D + "networking.v1.NetworkPolicy", {"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}},
     {"spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}}),
    (D + "networking.v1.NetworkPolicy", {"spec": {"podSelector": {}, "egress": [{"ports": [{"protocol": "UDP"}]}]}},
     {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"ports": [{"protocol": "UDP"}]}]}}),
]


@pytest.mark.parametrize(("definition", "sent", "stored"), CASES, ids=[c[0].rsplit(".", 1)[-1] for c in CASES])
def test_defaults(definition: str, sent: dict[str, Any], stored: dict[str, Any]) -> None:
    obj = copy.deepcopy(sent)
    apply_defaults(obj, definition)
    expected = copy.deepcopy(stored)
    fill_status_zero_values(expected, definition)  # and the status fields always written (zero_values)
    assert obj == expected
    # idempotent, as kubectl apply's three-way diff needs, and in the schema's own words
    again = copy.deepcopy(obj)
    apply_defaults(again, definition)
    assert again == obj
    assert unknown_fields(obj, definition) == []
    assert type_errors(obj, definition) == []
