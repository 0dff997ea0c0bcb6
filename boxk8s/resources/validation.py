"""Semantic validation (422 Invalid with causes): metadata, the fields the schema requires, and
the rules of each kind, looked up in one table (`_KIND_RULES`) as the apiserver's strategies call
their kind's Validate (pkg/registry/<group>/<kind>/strategy.go → pkg/apis/<group>/validation).

Pods and workloads have their rules in `validation_workloads`; what every kind shares (metadata,
labels, selectors) is in `validation_common`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boxk8s.resources import validation_cluster, validation_policy
from boxk8s.resources.field_errors import (
    FieldError,
    forbidden,
    invalid,
    not_supported,
    required,
    too_long,
)
from boxk8s.resources.names import (
    config_key,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    max_len,
    port_name,
    port_number,
)
from boxk8s.resources.schema import group_version_kind, missing_fields
from boxk8s.resources.validation_common import (
    PROTOCOLS,
    dict_items,
    validate_labels,
    validate_metadata,
    validate_unique_name,
)
from boxk8s.resources.validation_workloads import check_cronjob, check_job, check_pod, workload_check

_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "Namespace": dns1123_label,
    "Service": dns1035_label,
    "ServiceAccount": dns1123_subdomain,
    **validation_cluster.NAME_RULES,
    **validation_policy.NAME_RULES,
}


def validate(obj: dict[str, Any], definition: str) -> list[FieldError]:
    """422-style validation: metadata, schema-required fields, and per-kind rules."""
    errs: list[FieldError] = []
    _, _, kind = group_version_kind(definition)
    meta = obj.get("metadata")
    if isinstance(meta, dict) or meta is None:
        errs += validate_metadata(meta or {}, _NAME_RULES.get(kind, dns1123_subdomain))
    if kind == "CronJob":
        name = (meta or {}).get("name")
        if isinstance(name, str) and len(name) > 52:
            errs.append(invalid("metadata.name", name, max_len(52)))
    errs += missing_fields(obj, definition)
    check = _KIND_RULES.get(kind)
    if check is not None:
        errs += check(obj)
    return _dedupe(errs)


def validate_update(new: dict[str, Any], old: dict[str, Any], definition: str, subresource: str = "") -> list[FieldError]:
    """What an update may not change (the kinds' Validate*Update beyond their create rules), given
    the stored object and the subresource written ("" for the object itself)."""
    _, _, kind = group_version_kind(definition)
    check = _UPDATE_RULES.get(kind)
    return _dedupe(check(new, old, subresource)) if check is not None else []


def _dedupe(errs: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errs:
        if (e.field, e.message) not in seen:
            seen.add((e.field, e.message))
            out.append(e)
    return out


# core kinds ----------------------------------------------------------------------------------

_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_AFFINITIES = ["ClientIP", "None"]


def _check_service(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    errs: list[FieldError] = []
    stype = spec.get("type") or "ClusterIP"
    if stype not in _SERVICE_TYPES:
        errs.append(not_supported("spec.type", stype, _SERVICE_TYPES))
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if not ports and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))
    if stype == "ExternalName" and not spec.get("externalName"):
        errs.append(required("spec.externalName"))
    names: set[str] = set()
    for i, p in dict_items(ports):
        pp = f"spec.ports[{i}]"
        pname = p.get("name")
        if len(ports) > 1 and not pname:
            errs.append(required(f"{pp}.name"))
        elif isinstance(pname, str) and pname:
            errs += validate_unique_name(f"{pp}.name", pname, dns1123_label, names)
        port = p.get("port")
        if isinstance(port, int) and not isinstance(port, bool):
            errs += [invalid(f"{pp}.port", port, m) for m in port_number(port)]
        elif port is None:
            errs.append(invalid(f"{pp}.port", 0, "must be between 1 and 65535, inclusive"))
        proto = p.get("protocol")
        if isinstance(proto, str) and proto not in PROTOCOLS:
            errs.append(not_supported(f"{pp}.protocol", proto, PROTOCOLS))
        target = p.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool) and target != 0:
            errs += [invalid(f"{pp}.targetPort", target, m) for m in port_number(target)]
        elif isinstance(target, str) and target and not target.isdigit():
            errs += [invalid(f"{pp}.targetPort", target, m) for m in port_name(target)]
        node_port = p.get("nodePort")
        if node_port and stype not in ("NodePort", "LoadBalancer"):
            errs.append(forbidden(f"{pp}.nodePort", "may not be used when `type` is 'ClusterIP'"))
    affinity = spec.get("sessionAffinity")
    if isinstance(affinity, str) and affinity not in _AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", affinity, _AFFINITIES))
    errs += validate_labels(spec.get("selector"), "spec.selector")
    return errs


_MAX_DATA = 1024 * 1024


def _check_data(kind: str) -> Callable[[dict[str, Any]], list[FieldError]]:
    def check(obj: dict[str, Any]) -> list[FieldError]:
        errs: list[FieldError] = []
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        other_field = "binaryData" if kind == "ConfigMap" else "stringData"
        other = obj.get(other_field) if isinstance(obj.get(other_field), dict) else {}
        total = 0
        for fname, mapping in (("data", data), (other_field, other)):
            for key, value in mapping.items():
                errs += [invalid(f"{fname}[{key}]", key, m) for m in config_key(key)]
                total += len(key) + (len(value) if isinstance(value, str) else 0)
        if kind == "ConfigMap":
            for key in data:
                if key in other:
                    errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
            if total > _MAX_DATA:
                errs.append(too_long("", _MAX_DATA))
        elif total > _MAX_DATA:
            errs.append(too_long("data", _MAX_DATA))
        return errs

    return check


def _check_namespace(obj: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, f in enumerate(((obj.get("spec") or {}).get("finalizers")) or []):
        if isinstance(f, str) and "/" not in f and f != "kubernetes":
            errs.append(invalid(f"spec.finalizers[{i}]", f,
                                "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


_KIND_RULES: dict[str, Callable[[dict[str, Any]], list[FieldError]]] = {
    "Pod": check_pod,
    "Deployment": workload_check("deployment", ["Always"]),
    "ReplicaSet": workload_check("deployment", ["Always"], template_required=False),
    "StatefulSet": workload_check("statefulset", ["Always"]),
    "DaemonSet": workload_check("daemonset", ["Always"]),
    "Job": check_job,
    "CronJob": check_cronjob,
    "Service": _check_service,
    "ConfigMap": _check_data("ConfigMap"),
    "Secret": _check_data("Secret"),
    "Namespace": _check_namespace,
    **validation_cluster.KIND_RULES,
    **validation_policy.KIND_RULES,
}

_UPDATE_RULES = validation_cluster.UPDATE_RULES
