"""A small valid object of every kind boxk8s stores, as a user or a controller would write it."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

POD_SPEC = {"containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}
TEMPLATE = {"metadata": {"labels": {"app": "s"}}, "spec": POD_SPEC}
SELECTOR = {"matchLabels": {"app": "s"}}


def _csr_request() -> str:
    """A PEM certificate request for CN=jane, base64: the apiserver parses it."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jane")])).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


CSR_REQUEST = _csr_request()
WEBHOOK_CLIENT = {"service": {"namespace": "default", "name": "hook", "path": "/check"}}
RULES = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]

# kind (or group/kind where two groups have the kind) -> the object's content besides apiVersion,
# kind and metadata.name
SAMPLES: dict[str, dict[str, Any]] = {
    "Namespace": {},
    "Pod": {"spec": POD_SPEC},
    "Service": {"spec": {"selector": {"app": "s"}, "ports": [{"port": 80}]}},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]},
    "ConfigMap": {"data": {"a": "1"}},
    "Secret": {"stringData": {"a": "1"}},
    "Event": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Test",
              "message": "m", "type": "Normal"},
    "events.k8s.io/Event": {"eventTime": "2026-12-03T10:00:00.000000Z", "reportingController": "example.com/c",
                            "reportingInstance": "c-1", "action": "Test", "reason": "Test", "type": "Normal",
                            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}},
    "Node": {"spec": {}},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/tmp/pv"}}},
    "ServiceAccount": {},
    "Deployment": {"spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}},
    "StatefulSet": {"spec": {"replicas": 0, "selector": SELECTOR, "serviceName": "s", "template": TEMPLATE}},
    "DaemonSet": {"spec": {"selector": SELECTOR, "template": {**TEMPLATE, "spec": {
        **POD_SPEC, "nodeSelector": {"no-such-node": "true"}}}}},
    "ControllerRevision": {"revision": 1, "data": {"spec": {"template": TEMPLATE}}},
    "Job": {"spec": {"suspend": True, "template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}},
    "CronJob": {"spec": {"schedule": "0 0 1 1 *", "suspend": True, "jobTemplate": {
        "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}}}},
    "Ingress": {"spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}},
    "IngressClass": {"spec": {"controller": "example.com/ingress"}},
    "Lease": {"spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}},
    "EndpointSlice": {"addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"]}], "ports": [{"port": 80}]},
    "ReplicationController": {"spec": {"replicas": 0, "selector": {"app": "s"}, "template": TEMPLATE}},
    "PodTemplate": {"template": TEMPLATE},
    "LimitRange": {"spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "10m"}}]}},
    "ResourceQuota": {"spec": {"hard": {"pods": "100"}}},
    "ClusterRole": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "ClusterRoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                           "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]},
    "Role": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "RoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]},
    "StorageClass": {"provisioner": "example.com/disk"},
    "CSIDriver": {"spec": {"attachRequired": False}},
    "CSINode": {"spec": {"drivers": [{"name": "example.com/disk", "nodeID": "n1"}]}},
    "CSIStorageCapacity": {"storageClassName": "fast", "capacity": "10Gi"},
    "VolumeAttachment": {"spec": {"attacher": "example.com/disk", "nodeName": "n1",
                                  "source": {"persistentVolumeName": "pv1"}}},
    "PodDisruptionBudget": {"spec": {"minAvailable": 1, "selector": SELECTOR}},
    "HorizontalPodAutoscaler": {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                            "name": "web"}, "maxReplicas": 3}},
    "PriorityClass": {"value": 1000, "description": "sample"},
    "RuntimeClass": {"handler": "runc"},
    "CertificateSigningRequest": {"spec": {"request": CSR_REQUEST, "signerName": "example.com/signer",
                                           "usages": ["client auth"]}},
    "MutatingWebhookConfiguration": {"webhooks": [{"name": "m.example.com", "clientConfig": WEBHOOK_CLIENT,
                                                   "rules": RULES, "sideEffects": "None",
                                                   "admissionReviewVersions": ["v1"]}]},
    "ValidatingWebhookConfiguration": {"webhooks": [{"name": "v.example.com", "clientConfig": WEBHOOK_CLIENT,
                                                     "rules": RULES, "sideEffects": "None",
                                                     "admissionReviewVersions": ["v1"]}]},
    "ValidatingAdmissionPolicy": {"spec": {"matchConstraints": {"resourceRules": RULES},
                                           "validations": [{"expression": "object.metadata.name != 'x'"}]}},
    "ValidatingAdmissionPolicyBinding": {"spec": {"policyName": "p", "validationActions": ["Deny"]}},
    "APIService": {"spec": {"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000,
                            "versionPriority": 15, "service": {"namespace": "default", "name": "ext"}}},
    "FlowSchema": {"spec": {"priorityLevelConfiguration": {"name": "global-default"}, "matchingPrecedence": 9000}},
    "PriorityLevelConfiguration": {"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5,
                                                                          "limitResponse": {"type": "Reject"}}}},
    "NetworkPolicy": {"spec": {"podSelector": SELECTOR}},
}


# kinds whose name the apiserver prescribes
NAMES = {"APIService": "v1.example.com"}


def sample(kind: str, api_version: str, name: str) -> dict[str, Any]:
    """The sample of `kind`, named `name` unless the kind prescribes its name (NAMES)."""
    name = NAMES.get(kind, name)
    group = api_version.rpartition("/")[0]
    content = SAMPLES.get(f"{group}/{kind}") or SAMPLES[kind]
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **content}
