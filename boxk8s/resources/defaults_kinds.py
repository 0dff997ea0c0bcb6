"""Defaults of the cluster-level kinds: RBAC, storage, policy, autoscaling, scheduling,
admissionregistration, apiregistration, flowcontrol, NetworkPolicy, LimitRange and the parts of a
ReplicationController that are not its pod template.

Each function is upstream's SetDefaults_<Type> (pkg/apis/<group>/<version>/defaults.go) applied
where the generated defaulters (zz_generated.defaults.go) apply it, for Kubernetes 1.32 with its
default feature gates. Like defaults.py, defaulting only fills what is absent (or, where upstream
tests a Go zero value, what is zero), so applying it twice changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from boxk8s.resources.defaulting import child_dict as _dict
from boxk8s.resources.defaulting import dict_list as _dicts
from boxk8s.resources.defaulting import set_default as _set

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"


def _set_zero(d: Obj, key: str, value: Any) -> None:
    """d[key] = value when absent or the Go zero value: a plain (non-pointer) field's `if x == 0`."""
    if not d.get(key):
        d[key] = value


def _spec(obj: Obj) -> Obj:
    return _dict(obj, "spec")


# core/v1 ------------------------------------------------------------------------------------


def replication_controller_defaults(obj: Obj) -> None:
    """SetDefaults_ReplicationController: the selector and the object's labels come from the
    template's labels when unset, one replica. (The pod template's own defaults are defaults.py's.)"""
    spec = _spec(obj)
    template = spec.get("template")
    labels = ((template or {}).get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    if isinstance(labels, dict) and labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = _dict(obj, "metadata")
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    _set(spec, "replicas", 1)


def limit_range_defaults(obj: Obj) -> None:
    """SetDefaults_LimitRangeItem: for Container limits, the default limit falls back to max, the
    default request to the default limit, then to min. (Empty maps are omitted, as Go's omitempty.)"""
    for item in _dicts(_spec(obj).get("limits")):
        if item.get("type") != "Container":
            continue
        default = dict(item.get("default") or {})
        request = dict(item.get("defaultRequest") or {})
        for source, target in ((item.get("max"), default), (default, request), (item.get("min"), request)):
            for key, value in (source or {}).items():
                target.setdefault(key, value)
        if default:
            item["default"] = default
        if request:
            item["defaultRequest"] = request


# rbac.authorization.k8s.io/v1 ---------------------------------------------------------------


def _subjects(obj: Obj) -> None:
    """SetDefaults_Subject: users and groups are RBAC subjects; service accounts are core's ("")."""
    for subject in _dicts(obj.get("subjects")):
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP


def role_binding_defaults(obj: Obj) -> None:
    """SetDefaults_RoleBinding / SetDefaults_ClusterRoleBinding, and their subjects'."""
    role_ref = obj.get("roleRef")
    if isinstance(role_ref, dict) and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = RBAC_GROUP
    _subjects(obj)


# storage.k8s.io/v1 --------------------------------------------------------------------------


def storage_class_defaults(obj: Obj) -> None:
    _set(obj, "reclaimPolicy", "Delete")
    _set(obj, "volumeBindingMode", "Immediate")


def csi_driver_defaults(obj: Obj) -> None:
    """SetDefaults_CSIDriver with 1.32's gates (SELinuxMountReadWriteOncePod is beta, on)."""
    spec = _spec(obj)
    _set(spec, "attachRequired", True)
    _set(spec, "podInfoOnMount", False)
    _set(spec, "storageCapacity", False)
    _set(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType")
    if not spec.get("volumeLifecycleModes"):
        spec["volumeLifecycleModes"] = ["Persistent"]
    _set(spec, "requiresRepublish", False)
    _set(spec, "seLinuxMount", False)


# autoscaling/v2 and v1 ----------------------------------------------------------------------

DEFAULT_CPU_UTILIZATION = 80  # autoscaling.DefaultCPUUtilization

# pkg/apis/autoscaling/v2/defaults.go: the rules that repeat the HPA's behaviour before `behavior`.
_SCALE_UP_RULES: Obj = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
# Scale-down stabilization stays unset: the controller's --horizontal-pod-autoscaler-downscale-
# stabilization flag decides it.
_SCALE_DOWN_RULES: Obj = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def _scaling_rules(given: Any, defaults: Obj) -> Obj:
    """GenerateHPAScale{Up,Down}Rules / copyHPAScalingRules: the defaults, with what is given over them."""
    rules = copy.deepcopy(defaults)
    if isinstance(given, dict):
        for key in ("selectPolicy", "stabilizationWindowSeconds", "policies"):
            if given.get(key) is not None:
                rules[key] = given[key]
    return rules


def hpa_v2_defaults(obj: Obj) -> None:
    """SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): one replica at least, 80% cpu when no
    metric is given, and complete scaling rules when a behavior is given."""
    spec = _spec(obj)
    _set(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}},
        }]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), _SCALE_UP_RULES)
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), _SCALE_DOWN_RULES)


def hpa_v1_defaults(obj: Obj) -> None:
    """SetDefaults_HorizontalPodAutoscaler (autoscaling/v1). Its cpu target is defaulted in the
    conversion to the stored version, not here (upstream's comment says the same)."""
    _set(_spec(obj), "minReplicas", 1)


# scheduling.k8s.io/v1 -----------------------------------------------------------------------


def priority_class_defaults(obj: Obj) -> None:
    _set(obj, "preemptionPolicy", "PreemptLowerPriority")


# admissionregistration.k8s.io/v1 ------------------------------------------------------------


def _rules(rules: Any) -> None:
    """SetDefaults_Rule: a rule's scope is "*" (cluster and namespaced)."""
    for rule in _dicts(rules):
        _set(rule, "scope", "*")


def _webhook(hook: Obj, mutating: bool) -> None:
    """SetDefaults_ValidatingWebhook / SetDefaults_MutatingWebhook, their rules and service."""
    _set(hook, "failurePolicy", "Fail")
    _set(hook, "matchPolicy", "Equivalent")
    _set(hook, "namespaceSelector", {})
    _set(hook, "objectSelector", {})
    _set(hook, "timeoutSeconds", 10)
    if mutating:
        _set(hook, "reinvocationPolicy", "Never")
    _rules(hook.get("rules"))
    service = (hook.get("clientConfig") or {}).get("service") if isinstance(hook.get("clientConfig"), dict) else None
    if isinstance(service, dict):
        _set(service, "port", 443)


def mutating_webhooks_defaults(obj: Obj) -> None:
    for hook in _dicts(obj.get("webhooks")):
        _webhook(hook, mutating=True)


def validating_webhooks_defaults(obj: Obj) -> None:
    for hook in _dicts(obj.get("webhooks")):
        _webhook(hook, mutating=False)


def _match_resources(match: Any) -> None:
    """SetDefaults_MatchResources and the rules within."""
    if not isinstance(match, dict):
        return
    _set(match, "matchPolicy", "Equivalent")
    _set(match, "namespaceSelector", {})
    _set(match, "objectSelector", {})
    _rules(match.get("resourceRules"))
    _rules(match.get("excludeResourceRules"))


def validating_admission_policy_defaults(obj: Obj) -> None:
    spec = _spec(obj)
    _set(spec, "failurePolicy", "Fail")
    _match_resources(spec.get("matchConstraints"))


def validating_admission_policy_binding_defaults(obj: Obj) -> None:
    _match_resources(_spec(obj).get("matchResources"))


# apiregistration.k8s.io/v1 ------------------------------------------------------------------


def api_service_defaults(obj: Obj) -> None:
    """SetDefaults_ServiceReference: an aggregated API's service listens on 443 unless told."""
    service = _spec(obj).get("service")
    if isinstance(service, dict):
        _set(service, "port", 443)


# flowcontrol.apiserver.k8s.io/v1 ------------------------------------------------------------


def flow_schema_defaults(obj: Obj) -> None:
    _set_zero(_spec(obj), "matchingPrecedence", 1000)


def priority_level_defaults(obj: Obj) -> None:
    """SetDefaults_{Exempt,Limited}PriorityLevelConfiguration and SetDefaults_QueuingConfiguration."""
    spec = _spec(obj)
    exempt = spec.get("exempt")
    if isinstance(exempt, dict):
        _set(exempt, "nominalConcurrencyShares", 0)
        _set(exempt, "lendablePercent", 0)
    limited = spec.get("limited")
    if isinstance(limited, dict):
        _set(limited, "nominalConcurrencyShares", 30)
        _set(limited, "lendablePercent", 0)
        response = limited.get("limitResponse")
        queuing = response.get("queuing") if isinstance(response, dict) else None
        if isinstance(queuing, dict):
            _set_zero(queuing, "handSize", 8)
            _set_zero(queuing, "queues", 64)
            _set_zero(queuing, "queueLengthLimit", 50)


# networking.k8s.io/v1 -----------------------------------------------------------------------


def network_policy_defaults(obj: Obj) -> None:
    """SetDefaults_NetworkPolicy (a policy with no types is an Ingress policy, and an Egress one
    too when it has egress rules) and SetDefaults_NetworkPolicyPort (TCP)."""
    spec = _spec(obj)
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec.get(direction)):
            for port in _dicts(rule.get("ports")):
                _set(port, "protocol", "TCP")


BY_DEFINITION: dict[str, Callable[[Obj], None]] = {
    "io.k8s.api.core.v1.LimitRange": limit_range_defaults,
    "io.k8s.api.rbac.v1.RoleBinding": role_binding_defaults,
    "io.k8s.api.rbac.v1.ClusterRoleBinding": role_binding_defaults,
    "io.k8s.api.storage.v1.StorageClass": storage_class_defaults,
    "io.k8s.api.storage.v1.CSIDriver": csi_driver_defaults,
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler": hpa_v2_defaults,
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler": hpa_v1_defaults,
    "io.k8s.api.scheduling.v1.PriorityClass": priority_class_defaults,
    "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration": mutating_webhooks_defaults,
    "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration": validating_webhooks_defaults,
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy": validating_admission_policy_defaults,
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding":
        validating_admission_policy_binding_defaults,
    "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService": api_service_defaults,
    "io.k8s.api.flowcontrol.v1.FlowSchema": flow_schema_defaults,
    "io.k8s.api.flowcontrol.v1.PriorityLevelConfiguration": priority_level_defaults,
    "io.k8s.api.networking.v1.NetworkPolicy": network_policy_defaults,
}
