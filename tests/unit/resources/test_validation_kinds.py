"""Validation of the cluster-level kinds: what a 1.32 apiserver refuses beyond the schema, in its words."""

from __future__ import annotations

import base64
import copy
from functools import cache
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from boxk8s.resources.defaults import apply_defaults
from boxk8s.resources.registry import by_kind
from boxk8s.resources.validation import validate, validate_update


@cache
def csr_request() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])).sign(key, hashes.SHA256()))
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def problems(api_version: str, kind: str, obj: dict[str, Any]) -> list[str]:
    """Defaults then validation, as the write path runs them; each problem as `field: message`."""
    rt = by_kind(api_version, kind)
    assert rt is not None
    body = {"apiVersion": api_version, "kind": kind, **copy.deepcopy(obj)}
    body.setdefault("metadata", {"name": "x", **({"namespace": "default"} if rt.namespaced else {})})
    apply_defaults(body, rt.definition)
    return [str(p) for p in validate(body, rt.definition)]


def update_problems(api_version: str, kind: str, old: dict[str, Any], new: dict[str, Any],
                    subresource: str = "") -> list[str]:
    rt = by_kind(api_version, kind)
    assert rt is not None
    return [str(p) for p in validate_update(new, old, rt.definition, subresource)]


POD_TEMPLATE = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
HPA_SPEC = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}, "maxReplicas": 3}
HOOK = {"name": "check.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "s", "namespace": "n"}}}
RULE = {"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"]}

# (apiVersion, kind, object, the problems a 1.32 apiserver reports)
CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("v1", "ReplicationController", {"spec": {"template": POD_TEMPLATE}}, []),
    ("v1", "ReplicationController", {"spec": {"selector": {"app": "b"}, "template": POD_TEMPLATE}}, [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"a"}: '
        "`selector` does not match template `labels`"]),
    ("v1", "ReplicationController", {"spec": {"replicas": -1, "template": {
        **POD_TEMPLATE, "spec": {**POD_TEMPLATE["spec"], "restartPolicy": "Never"}}}}, [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']),
    ("v1", "LimitRange", {"spec": {"limits": [
        {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
        {"type": "Pod", "default": {"cpu": "1"}},
        {"type": "Container"}]}}, [
        'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
        'spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1',
        'spec.limits[0].default[cpu]: Invalid value: "1": min value 2 is greater than default value 1',
        "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'",
        'spec.limits[2].type: Duplicate value: "Container"']),
    ("v1", "ResourceQuota", {"spec": {"hard": {"pods": "-1"}}}, [
        'spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0']),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", {"metadata": {"name": "system:aggregate-to-view"}, "rules": [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}, []),
    ("rbac.authorization.k8s.io/v1", "Role", {"metadata": {"name": "a/b", "namespace": "default"}, "rules": [
        {"verbs": [], "nonResourceURLs": ["/healthz"]}]}, [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'",
        "rules[0].verbs: Required value: verbs must contain at least one value",
        'rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs']),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", {"roleRef": {"kind": "Secret", "name": "r"},
                                                     "subjects": [{"kind": "Robot", "name": "r2"}]}, [
        'roleRef.kind: Unsupported value: "Secret": supported values: "Role", "ClusterRole"',
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"']),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", {
        "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "s"}]}, [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value"]),
    ("storage.k8s.io/v1", "StorageClass", {"provisioner": "example.com/fast", "reclaimPolicy": "Recycle"}, [
        'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"']),
    ("scheduling.k8s.io/v1", "PriorityClass", {"metadata": {"name": "system-mine"}, "value": 5}, [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. "
        "error: system-mine is not a known system priority class"]),
    ("scheduling.k8s.io/v1", "PriorityClass", {"metadata": {"name": "system-node-critical"}, "value": 2000001000}, []),
    ("scheduling.k8s.io/v1", "PriorityClass", {"value": 1000000001, "preemptionPolicy": "Always"}, [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
        'preemptionPolicy: Unsupported value: "Always": supported values: "PreemptLowerPriority", "Never"']),
    ("node.k8s.io/v1", "RuntimeClass", {"handler": "Runc"}, [
        'handler: Invalid value: "Runc": a lowercase RFC 1123 label must consist of lower case alphanumeric '
        "characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
        "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
    ("policy/v1", "PodDisruptionBudget", {"spec": {"minAvailable": 1, "maxUnavailable": "150%"}}, [
        "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000000000), "
        "Selector:(*v1.LabelSelector)(nil), MaxUnavailable:(*intstr.IntOrString)(0xc000000000), "
        "UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}: "
        "minAvailable and maxUnavailable cannot be both set",
        'spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: '
        "must not be greater than 100%"]),
    ("policy/v1", "PodDisruptionBudget", {"spec": {"minAvailable": "half"}}, [
        'spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"half"}: a valid percent '
        "string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
        "validation is '[0-9]+%')"]),
    ("autoscaling/v2", "HorizontalPodAutoscaler", {"spec": {**HPA_SPEC, "minReplicas": 5}}, [
        "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"]),
    ("autoscaling/v2", "HorizontalPodAutoscaler", {"spec": {**HPA_SPEC, "minReplicas": 0, "maxReplicas": 0}}, [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "spec.maxReplicas: Invalid value: 0: must be greater than 0"]),
    ("autoscaling/v2", "HorizontalPodAutoscaler", {"spec": {**HPA_SPEC, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}},
        {"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
        "behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 4000}]}}}}, [
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
        "spec.metrics[1].pods: Required value: must populate information for the given metric source",
        "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
        "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 4000: must be less than or equal to 1800"]),
    ("autoscaling/v1", "HorizontalPodAutoscaler", {"spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 1, "minReplicas": 2}}, [
        "spec.maxReplicas: Invalid value: 1: must be greater than or equal to `minReplicas`"]),
    ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {"podSelector": {}, "ingress": [{
        "ports": [{"port": 80, "endPort": 70, "protocol": "ICMP"}],
        "from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}, "podSelector": {}}]}]}}, [
        'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
        "spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`",
        "spec.ingress[0].from[0]: Required value: must specify a peer",
        'spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer"]),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", {"webhooks": [HOOK]}, []),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", {"webhooks": [
        {**HOOK, "name": "check", "timeoutSeconds": 60, "sideEffects": "Some", "admissionReviewVersions": ["v2"],
         "clientConfig": {"url": "http://x"}}, HOOK, HOOK]}, [
        'webhooks[0].name: Invalid value: "check": should be a domain with at least three segments separated by dots',
        'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
        "webhooks[0].timeoutSeconds: Invalid value: 60: the timeout value must be between 1 and 30 seconds",
        'webhooks[0].clientConfig.url: Invalid value: "http": \'https\' is the only allowed URL scheme; '
        "desired format: https://host[/path]",
        'webhooks[0].admissionReviewVersions: Invalid value: []string{"v2"}: must include at least one of v1, v1beta1',
        'webhooks[2].name: Duplicate value: "check.example.com"']),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", {"spec": {
        "matchConstraints": {"resourceRules": [RULE]}}}, ["spec.validations: Required value"]),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", {"spec": {
        "policyName": "p", "validationActions": ["Deny", "Warn"]}}, [
        "spec.validationActions: Invalid value: []admissionregistration.ValidationAction{\"Deny\", \"Warn\"}: "
        "must not contain both Deny and Warn (repeating the same validation failure information in the API "
        "response and headers serves no purpose)"]),
    ("apiregistration.k8s.io/v1", "APIService", {"metadata": {"name": "v1.example.com"}, "spec": {
        "group": "example.com", "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 15}}, []),
    ("apiregistration.k8s.io/v1", "APIService", {"metadata": {"name": "wrong"}, "spec": {
        "group": "example.com", "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 0}}, [
        'metadata.name: Invalid value: "wrong": must be `spec.version+"."+spec.group`: "v1.example.com"',
        "spec.versionPriority: Invalid value: 0: must be positive and less than 1000"]),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {"metadata": {"name": "Any:Name"}, "spec": {
        "signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]}}, []),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {"spec": {
        "signerName": "kubernetes", "usages": ["client auth", "flying"], "expirationSeconds": 60}}, [
        'spec.usages[1]: Unsupported value: "flying": supported values: "any", "cert sign", "client auth", '
        '"code signing", "content commitment", "crl sign", "data encipherment", "decipher only", '
        '"digital signature", "email protection", "encipher only", "ipsec end system", "ipsec tunnel", '
        '"ipsec user", "key agreement", "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", '
        '"s/mime", "server auth", "signing", "timestamping"',
        "spec.signerName: Invalid value: \"kubernetes\": must be a fully qualified domain and path of the form "
        "'example.com/signer-name'",
        "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)"]),
]


def _with_request(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    if kind != "CertificateSigningRequest":
        return obj
    return {**obj, "spec": {"request": csr_request(), **obj["spec"]}}


@pytest.mark.parametrize(("api_version", "kind", "obj", "expected"), CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_validation(api_version: str, kind: str, obj: dict[str, Any], expected: list[str]) -> None:
    assert problems(api_version, kind, _with_request(kind, obj)) == expected


def test_a_csr_request_must_be_a_pem_certificate_request() -> None:
    found = problems("certificates.k8s.io/v1", "CertificateSigningRequest", {"spec": {
        "request": base64.b64encode(b"hi").decode(), "signerName": "example.com/s", "usages": ["any"]}})
    assert found == ["spec.request: Invalid value: []byte{0x68, 0x69}: PEM block type must be CERTIFICATE REQUEST"]


# (apiVersion, kind, stored, updated, subresource, the problems)
UPDATES: list[tuple[str, str, dict[str, Any], dict[str, Any], str, list[str]]] = [
    ("rbac.authorization.k8s.io/v1", "RoleBinding",
     {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"}},
     {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "b"}}, "", [
         'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"b"}: '
         "cannot change roleRef"]),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
     {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "a"}, "subjects": []},
     {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "a"},
      "subjects": [{"kind": "User", "name": "u"}]}, "", []),
    ("storage.k8s.io/v1", "StorageClass",
     {"provisioner": "a", "parameters": {"k": "1"}, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"},
     {"provisioner": "b", "parameters": {"k": "2"}, "reclaimPolicy": "Retain",
      "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True}, "", [
         "parameters: Forbidden: updates to parameters are forbidden.",
         "provisioner: Forbidden: updates to provisioner are forbidden.",
         "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
         'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable']),
    ("scheduling.k8s.io/v1", "PriorityClass", {"value": 1, "preemptionPolicy": "Never"},
     {"value": 2, "preemptionPolicy": "PreemptLowerPriority", "description": "changed"}, "", [
         "value: Forbidden: may not be changed in an update.",
         'preemptionPolicy: Invalid value: "PreemptLowerPriority": field is immutable']),
    ("storage.k8s.io/v1", "CSIDriver", {"spec": {"attachRequired": True, "volumeLifecycleModes": ["Persistent"]}},
     {"spec": {"attachRequired": False, "volumeLifecycleModes": ["Ephemeral"]}}, "", [
         "spec.attachedRequired: Invalid value: false: field is immutable",
         'spec.volumeLifecycleModes: Invalid value: []string{"Ephemeral"}: field is immutable']),
    ("node.k8s.io/v1", "RuntimeClass", {"handler": "runc"}, {"handler": "kata"}, "", [
        'handler: Invalid value: "kata": field is immutable']),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {"status": {}},
     {"status": {"conditions": [{"type": "Approved", "status": "True"}]}}, "status", [
         'status.conditions: Forbidden: updates may not add a condition of type "Approved"']),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {"status": {}},
     {"status": {"conditions": [{"type": "Approved", "status": "True"}]}}, "approval", []),
    ("certificates.k8s.io/v1", "CertificateSigningRequest",
     {"status": {"conditions": [{"type": "Denied", "status": "True"}]}}, {"status": {}}, "approval", [
         'status.conditions: Forbidden: updates may not remove a condition of type "Denied"']),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {"status": {}},
     {"status": {"certificate": "Y2VydA=="}}, "approval", [
         "status.certificate: Forbidden: updates may not set certificate content"]),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", {"status": {"certificate": "b25l"}},
     {"status": {"certificate": "dHdv"}}, "status", [
         "status.certificate: Forbidden: updates may not modify existing certificate content"]),
]


@pytest.mark.parametrize(("api_version", "kind", "old", "new", "subresource", "expected"), UPDATES,
                         ids=[f"{u[1]}-{i}" for i, u in enumerate(UPDATES)])
def test_update_validation(api_version: str, kind: str, old: dict[str, Any], new: dict[str, Any],
                           subresource: str, expected: list[str]) -> None:
    assert update_problems(api_version, kind, old, new, subresource) == expected
