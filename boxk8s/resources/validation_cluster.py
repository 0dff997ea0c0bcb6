"""Validation of the cluster-level kinds of core/v1 (ReplicationController, PodTemplate,
LimitRange, ResourceQuota), RBAC, storage, scheduling, node and certificates: the rules upstream's
pkg/apis/<group>/validation applies beyond the schema, worded as the apiserver words them.

`KIND_RULES` (create and update), `UPDATE_RULES` (what an update may not change: they receive the
stored object and the subresource written) and `NAME_RULES` are merged into validation.py's tables.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from cryptography import x509

from boxk8s.resources.field_errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
)
from boxk8s.resources.names import dns1123_label, dns1123_subdomain, qualified_name
from boxk8s.resources.quantity import QuantityError, parse_quantity
from boxk8s.resources.selectors import label_selector_matches
from boxk8s.resources.validation_common import dict_items, validate_labels
from boxk8s.resources.validation_go import (
    any_name,
    as_int,
    go_bytes,
    go_strings,
    go_struct,
    immutable,
    invalid_shown,
    path_segment_name,
    spec_of,
)
from boxk8s.resources.validation_workloads import validate_pod_spec

Obj = dict[str, Any]
Check = Callable[[Obj], list[FieldError]]
UpdateCheck = Callable[[Obj, Obj, str], list[FieldError]]

NEGATIVE = "must be greater than or equal to 0"


def _non_negative(value: Any, path: str) -> list[FieldError]:
    n = as_int(value)
    return [invalid(path, n, NEGATIVE)] if n is not None and n < 0 else []


# core/v1 --------------------------------------------------------------------------------------


def _pod_template(template: Any, path: str, restart_policies: list[str] | None) -> list[FieldError]:
    """ValidatePodTemplateSpec: the template's labels and its pod spec."""
    if not isinstance(template, dict):
        return [required(path)]
    labels = (template.get("metadata") or {}).get("labels") if isinstance(template.get("metadata"), dict) else None
    return validate_labels(labels, f"{path}.metadata.labels") + validate_pod_spec(
        template.get("spec"), f"{path}.spec", restart_policies)


def check_replication_controller(obj: Obj) -> list[FieldError]:
    """ValidateReplicationControllerSpec and ValidatePodTemplateSpecForRC."""
    spec = spec_of(obj)
    errs = _non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    if not selector:
        errs.append(required("spec.selector"))
    errs += _non_negative(spec.get("replicas"), "spec.replicas")
    template = spec.get("template")
    if not isinstance(template, dict):
        return errs + [required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and not label_selector_matches({"matchLabels": selector}, labels):
        errs.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    errs += _pod_template(template, "spec.template", ["Always"])
    deadline = (template.get("spec") or {}).get("activeDeadlineSeconds")
    if deadline is not None:
        errs.append(invalid("spec.template.spec.activeDeadlineSeconds", deadline,
                            "activeDeadlineSeconds in ReplicationController is not Supported"))
    return errs


def check_pod_template(obj: Obj) -> list[FieldError]:
    return _pod_template(obj.get("template"), "template", None)


def _quantity(value: Any) -> Any:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        return parse_quantity(value)
    except (QuantityError, ValueError, TypeError):
        return None


def check_resource_quota(obj: Obj) -> list[FieldError]:
    """ValidateResourceQuotaSpec's ValidateNonnegativeQuantity for each hard limit."""
    errs: list[FieldError] = []
    for key, value in (spec_of(obj).get("hard") or {}).items():
        q = _quantity(value)
        if q is not None and q < 0:
            errs.append(invalid(f"spec.hard[{key}]", str(value), NEGATIVE))
    return errs


# (field, the field it may not exceed, message) in ValidateLimitRange's order.
_LIMIT_ORDER = (
    ("min", "max", "min", "min value {a} is greater than max value {b}"),
    ("min", "defaultRequest", "defaultRequest", "min value {a} is greater than default request value {b}"),
    ("defaultRequest", "max", "defaultRequest", "default request value {a} is greater than max value {b}"),
    ("defaultRequest", "default", "defaultRequest", "default request value {a} is greater than default limit value {b}"),
    ("min", "default", "default", "min value {a} is greater than default value {b}"),
    ("default", "max", "default", "default value {a} is greater than max value {b}"),
)


def check_limit_range(obj: Obj) -> list[FieldError]:
    """ValidateLimitRange: one item per type, no defaults for Pod limits, and min <= default request
    <= default <= max for each resource. (Quantities are quoted as sent; Go prints its Quantity struct.)"""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, item in dict_items(spec_of(obj).get("limits")):
        path = f"spec.limits[{i}]"
        ltype = item.get("type")
        if isinstance(ltype, str):
            if ltype in seen:
                errs.append(duplicate(f"{path}.type", ltype))
            seen.add(ltype)
        if ltype == "Pod":
            for field in ("default", "defaultRequest"):
                if item.get(field):
                    errs.append(forbidden(f"{path}.{field}", "may not be specified when `type` is 'Pod'"))
        values = {f: (item.get(f) or {}) for f in ("min", "max", "default", "defaultRequest")}
        keys = sorted({k for v in values.values() if isinstance(v, dict) for k in v})
        for key in keys:
            for low, high, at, message in _LIMIT_ORDER:
                a, b = values[low].get(key), values[high].get(key)
                qa, qb = _quantity(a), _quantity(b)
                if qa is not None and qb is not None and qa > qb:
                    shown = a if at == low else b
                    errs.append(invalid(f"{path}.{at}[{key}]", str(shown), message.format(a=a, b=b)))
    return errs


# rbac.authorization.k8s.io/v1 -----------------------------------------------------------------

_RBAC_GROUP = "rbac.authorization.k8s.io"


def _policy_rule(rule: Obj, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not rule.get("verbs"):
        errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        if namespaced:
            errs.append(invalid(f"{path}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(invalid(f"{path}.nonResourceURLs", urls,
                                "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not rule.get("apiGroups"):
        errs.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errs.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    if rule.get("resourceNames") and len(rule.get("resources") or []) > 1:
        errs.append(required(f"{path}.resourceNames", "resource names cannot apply to multiple resources"))
    return errs


def _role(namespaced: bool) -> Check:
    def check(obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, rule in dict_items(obj.get("rules")):
            errs += _policy_rule(rule, namespaced, f"rules[{i}]")
        return errs
    return check


def _subject(subject: Obj, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = subject.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name"))
    kind = subject.get("kind")
    group = subject.get("apiGroup") or ""
    if kind == "ServiceAccount":
        if name:
            errs += [invalid(f"{path}.name", name, m) for m in dns1123_subdomain(name)]
        if group:
            errs.append(not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if not name:
            errs.append(invalid(f"{path}.name", name, f"{kind.lower()} name cannot be empty"))
        if group != _RBAC_GROUP:
            errs.append(not_supported(f"{path}.apiGroup", group, [_RBAC_GROUP]))
    else:
        errs.append(not_supported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return errs


def _binding(namespaced: bool) -> Check:
    """ValidateRoleBinding / ValidateClusterRoleBinding."""
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]

    def check(obj: Obj) -> list[FieldError]:
        ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
        errs: list[FieldError] = []
        if ref.get("apiGroup") != _RBAC_GROUP:
            errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", [_RBAC_GROUP]))
        if ref.get("kind") not in kinds:
            errs.append(not_supported("roleRef.kind", ref.get("kind") or "", kinds))
        role = ref.get("name") or ""
        if not role:
            errs.append(required("roleRef.name"))
        else:
            errs += [invalid("roleRef.name", role, m) for m in path_segment_name(role)]
        for i, subject in dict_items(obj.get("subjects")):
            errs += _subject(subject, namespaced, f"subjects[{i}]")
        return errs
    return check


def _role_ref(ref: Any) -> tuple[str, str, str]:
    ref = ref if isinstance(ref, dict) else {}
    return (ref.get("apiGroup") or "", ref.get("kind") or "", ref.get("name") or "")


def role_ref_unchanged(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    """ValidateRoleBindingUpdate: a binding's roleRef never changes (delete and recreate instead)."""
    ref = _role_ref(new.get("roleRef"))
    if ref == _role_ref(old.get("roleRef")):
        return []
    shown = go_struct("rbac.RoleRef", [("APIGroup", ref[0]), ("Kind", ref[1]), ("Name", ref[2])])
    return [invalid_shown("roleRef", shown, "cannot change roleRef")]


# storage.k8s.io/v1 ----------------------------------------------------------------------------

_RECLAIM = ["Delete", "Retain"]
_BINDING_MODES = ["Immediate", "WaitForFirstConsumer"]
_MAX_PARAMETERS = 512
_MAX_PARAMETERS_SIZE = 256 * 1024


def check_storage_class(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    provisioner = obj.get("provisioner") or ""
    if not provisioner:
        errs.append(required("provisioner"))
    else:
        errs += [invalid("provisioner", provisioner.lower(), m) for m in qualified_name(provisioner.lower())]
    params = obj.get("parameters") if isinstance(obj.get("parameters"), dict) else {}
    if len(params) > _MAX_PARAMETERS:
        errs.append(too_long("parameters", _MAX_PARAMETERS))
    elif sum(len(k) + len(str(v)) for k, v in params.items()) > _MAX_PARAMETERS_SIZE:
        errs.append(too_long("parameters", _MAX_PARAMETERS_SIZE))
    policy = obj.get("reclaimPolicy")
    if isinstance(policy, str) and policy and policy not in _RECLAIM:
        errs.append(not_supported("reclaimPolicy", policy, _RECLAIM))
    mode = obj.get("volumeBindingMode")
    if isinstance(mode, str) and mode not in _BINDING_MODES:
        errs.append(not_supported("volumeBindingMode", mode, _BINDING_MODES))
    return errs


def storage_class_update(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    """ValidateStorageClassUpdate: what a provisioner was told stays what it was told."""
    errs: list[FieldError] = []
    if (new.get("parameters") or {}) != (old.get("parameters") or {}):
        errs.append(forbidden("parameters", "updates to parameters are forbidden."))
    if new.get("provisioner") != old.get("provisioner"):
        errs.append(forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        errs.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    return errs + immutable("volumeBindingMode", new.get("volumeBindingMode"), old.get("volumeBindingMode"))


_FS_GROUP_POLICIES = ["File", "None", "ReadWriteOnceWithFSType"]
_LIFECYCLE_MODES = ["Persistent", "Ephemeral"]


def check_csi_driver(obj: Obj) -> list[FieldError]:
    spec = spec_of(obj)
    errs: list[FieldError] = []
    policy = spec.get("fsGroupPolicy")
    if isinstance(policy, str) and policy not in _FS_GROUP_POLICIES:
        errs.append(not_supported("spec.fsGroupPolicy", policy, _FS_GROUP_POLICIES))
    for mode in spec.get("volumeLifecycleModes") or []:
        if mode not in _LIFECYCLE_MODES:
            errs.append(not_supported("spec.volumeLifecycleModes", mode, _LIFECYCLE_MODES))
    return errs


def csi_driver_update(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    """ValidateCSIDriverUpdate (whose path says attachedRequired, as upstream's does)."""
    spec, was = spec_of(new), spec_of(old)
    modes = spec.get("volumeLifecycleModes")
    return (immutable("spec.attachedRequired", spec.get("attachRequired"), was.get("attachRequired"))
            + immutable("spec.volumeLifecycleModes", modes, was.get("volumeLifecycleModes"), go_strings(modes)))


def check_csi_node(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, driver in dict_items(spec_of(obj).get("drivers")):
        path = f"spec.drivers[{i}]"
        name = driver.get("name") or ""
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
        node_id = driver.get("nodeID") or ""
        if len(node_id) > 192:
            errs.append(invalid(f"{path}.nodeID", node_id, "must be 192 characters or less"))
    return errs


def check_volume_attachment(obj: Obj) -> list[FieldError]:
    spec = spec_of(obj)
    source = spec.get("source") if isinstance(spec.get("source"), dict) else {}
    has_pv, has_inline = source.get("persistentVolumeName") is not None, source.get("inlineVolumeSpec") is not None
    errs: list[FieldError] = []
    if not has_pv and not has_inline:
        errs.append(required("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
    elif has_pv and has_inline:
        errs.append(forbidden("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
    elif has_pv and not source["persistentVolumeName"]:
        errs.append(required("spec.source.persistentVolumeName", "must specify non empty persistentVolumeName"))
    node = spec.get("nodeName")
    if isinstance(node, str) and node:
        errs += [invalid("spec.nodeName", node, m) for m in dns1123_subdomain(node)]
    return errs


def volume_attachment_update(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    """ValidateVolumeAttachmentUpdate: the spec is read-only."""
    if subresource or spec_of(new) == spec_of(old):
        return []
    return [invalid("spec", spec_of(new), "field is immutable")]


# scheduling.k8s.io/v1, node.k8s.io/v1 ---------------------------------------------------------

HIGHEST_USER_PRIORITY = 1_000_000_000
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2_000_001_000, "system-cluster-critical": 2_000_000_000}
_PREEMPTION = ["PreemptLowerPriority", "Never"]


def check_priority_class(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    value = as_int(obj.get("value")) or 0
    if name.startswith("system-"):
        known = SYSTEM_PRIORITY_CLASSES.get(name)
        problem = (f"{name} is not a known system priority class" if known is None
                   else f"value of {name} PriorityClass must be {known}" if value != known
                   else f"globalDefault of {name} PriorityClass must be false" if obj.get("globalDefault")
                   else "")
        if problem:
            errs.append(forbidden("metadata.name", "priority class names with 'system-' prefix are reserved for "
                                  f"system use only. error: {problem}"))
    elif value > HIGHEST_USER_PRIORITY:
        errs.append(forbidden("value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"))
    policy = obj.get("preemptionPolicy")
    if policy == "":
        errs.append(required("preemptionPolicy"))
    elif isinstance(policy, str) and policy not in _PREEMPTION:
        errs.append(not_supported("preemptionPolicy", policy, _PREEMPTION))
    return errs


def priority_class_update(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    """ValidatePriorityClassUpdate: value and preemptionPolicy are fixed once created."""
    errs: list[FieldError] = []
    if (new.get("value") or 0) != (old.get("value") or 0):
        errs.append(forbidden("value", "may not be changed in an update."))
    return errs + immutable("preemptionPolicy", new.get("preemptionPolicy"), old.get("preemptionPolicy"))


def check_runtime_class(obj: Obj) -> list[FieldError]:
    handler = obj.get("handler")
    return [invalid("handler", handler, m) for m in dns1123_label(handler)] if isinstance(handler, str) and handler else []


def runtime_class_update(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    return immutable("handler", new.get("handler"), old.get("handler"))


# certificates.k8s.io/v1 -----------------------------------------------------------------------

_USAGES = sorted([
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth",
    "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel",
    "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
])
_LEGACY_SIGNER = "kubernetes.io/legacy-unknown"
_CONDITION_STATUSES = ["False", "True", "Unknown"]


def _request_error(request: Any) -> tuple[str, str] | None:
    """validateCSR: (the request's bytes, the parse or signature error), or None for a good request."""
    try:
        pem = base64.b64decode(request or "", validate=True)
    except (binascii.Error, ValueError):
        return None  # the decoder already refused it (illegal base64 data)
    text = pem.decode("latin-1")
    if "-----BEGIN CERTIFICATE REQUEST-----" not in text:
        return text, "PEM block type must be CERTIFICATE REQUEST"
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError:
        return text, "x509: malformed certificate request"
    if not csr.is_signature_valid:
        return text, "x509: signature verification failure"
    return None


def _signer_name(signer: Any) -> list[FieldError]:
    """ValidateSignerName: `example.com/signer-name`."""
    path = "spec.signerName"
    if not signer:
        return [required(path)]
    if signer == _LEGACY_SIGNER:
        return [invalid(path, signer, "the legacy signerName is not allowed via this API version")]
    parts = str(signer).split("/")
    if len(parts) != 2:
        return [invalid(path, signer, "must be a fully qualified domain and path of the form 'example.com/signer-name'")]
    errs: list[FieldError] = []
    labels = parts[0].split(".")
    for label in labels:
        messages = dns1123_label(label)
        if messages:
            errs += [invalid(path, parts[0], f'validating label "{label}": {m}') for m in messages]
            break
    if len(labels) < 2:
        errs.append(invalid(path, parts[0], "should be a domain with at least two segments separated by dots"))
    for label in parts[1].split("."):
        messages = dns1123_subdomain(label)
        if messages:
            errs += [invalid(path, parts[1], f'validating label "{label}": {m}') for m in messages]
            break
    return errs


def _csr_conditions(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    path = "status.conditions"
    seen: set[str] = set()
    approved = denied = False
    for i, c in dict_items((obj.get("status") or {}).get("conditions")):
        ctype, state = c.get("type") or "", c.get("status") or ""
        if not ctype:
            errs.append(required(f"{path}[{i}].type"))
        allowed = ["True"] if ctype in ("Approved", "Denied") else _CONDITION_STATUSES
        if not state:
            errs.append(required(f"{path}[{i}].status"))
        elif state not in allowed:
            errs.append(not_supported(f"{path}[{i}].status", state, allowed))
        approved, denied = approved or ctype == "Approved", denied or ctype == "Denied"
        if ctype in ("Approved", "Denied") and approved and denied:
            errs.append(invalid(path, ctype, "Approved and Denied conditions are mutually exclusive"))
        if ctype in seen:
            errs.append(duplicate(f"{path}[{i}].type", ctype))
        seen.add(ctype)
    return errs


def check_certificate_signing_request(obj: Obj) -> list[FieldError]:
    spec = spec_of(obj)
    errs: list[FieldError] = []
    problem = _request_error(spec.get("request"))
    if problem is not None:
        errs.append(invalid_shown("spec.request", go_bytes(problem[0]), problem[1]))
    usages = spec.get("usages") or []
    if not usages:
        errs.append(required("spec.usages"))
    seen: set[str] = set()
    for i, usage in enumerate(usages):
        if usage not in _USAGES:
            errs.append(not_supported(f"spec.usages[{i}]", usage, _USAGES))
        if usage in seen:
            errs.append(duplicate(f"spec.usages[{i}]", usage))
        seen.add(usage)
    errs += _signer_name(spec.get("signerName"))
    seconds = as_int(spec.get("expirationSeconds"))
    if seconds is not None and seconds < 600:
        errs.append(invalid("spec.expirationSeconds", seconds,
                            "may not specify a duration less than 600 seconds (10 minutes)"))
    return errs + _csr_conditions(obj)


def _of_type(obj: Obj, ctype: str) -> list[Obj]:
    return [c for _, c in dict_items((obj.get("status") or {}).get("conditions")) if c.get("type") == ctype]


def csr_update(new: Obj, old: Obj, subresource: str) -> list[FieldError]:
    """validateCertificateSigningRequestUpdate: approval conditions only through /approval, the
    certificate only through /status and only once, and no condition taken back."""
    errs: list[FieldError] = []
    for ctype in ("Approved", "Denied", "Failed"):
        if len(_of_type(new, ctype)) < len(_of_type(old, ctype)):
            errs.append(forbidden("status.conditions", f'updates may not remove a condition of type "{ctype}"'))
    if subresource != "approval":
        for ctype in ("Approved", "Denied"):
            before, after = _of_type(old, ctype), _of_type(new, ctype)
            if len(after) > len(before):
                errs.append(forbidden("status.conditions", f'updates may not add a condition of type "{ctype}"'))
            elif len(after) == len(before) and after != before:
                errs.append(forbidden("status.conditions", f'updates may not modify a condition of type "{ctype}"'))
    certificate, was = (new.get("status") or {}).get("certificate"), (old.get("status") or {}).get("certificate")
    if (certificate or "") != (was or ""):
        if subresource != "status":
            errs.append(forbidden("status.certificate", "updates may not set certificate content"))
        elif was:
            errs.append(forbidden("status.certificate", "updates may not modify existing certificate content"))
    return errs


KIND_RULES: dict[str, Check] = {
    "ReplicationController": check_replication_controller,
    "PodTemplate": check_pod_template,
    "ResourceQuota": check_resource_quota,
    "LimitRange": check_limit_range,
    "Role": _role(namespaced=True),
    "ClusterRole": _role(namespaced=False),
    "RoleBinding": _binding(namespaced=True),
    "ClusterRoleBinding": _binding(namespaced=False),
    "StorageClass": check_storage_class,
    "CSIDriver": check_csi_driver,
    "CSINode": check_csi_node,
    "VolumeAttachment": check_volume_attachment,
    "PriorityClass": check_priority_class,
    "RuntimeClass": check_runtime_class,
    "CertificateSigningRequest": check_certificate_signing_request,
}

UPDATE_RULES: dict[str, UpdateCheck] = {
    "RoleBinding": role_ref_unchanged,
    "ClusterRoleBinding": role_ref_unchanged,
    "StorageClass": storage_class_update,
    "CSIDriver": csi_driver_update,
    "VolumeAttachment": volume_attachment_update,
    "PriorityClass": priority_class_update,
    "RuntimeClass": runtime_class_update,
    "CertificateSigningRequest": csr_update,
}

# RBAC objects are named like paths (`system:controller:foo`), not like DNS names.
NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "Role": path_segment_name,
    "ClusterRole": path_segment_name,
    "RoleBinding": path_segment_name,
    "ClusterRoleBinding": path_segment_name,
    "CertificateSigningRequest": any_name,
}
