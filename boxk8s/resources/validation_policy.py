"""Validation of HorizontalPodAutoscaler (autoscaling/v2 and v1), PodDisruptionBudget,
NetworkPolicy, the admissionregistration kinds, APIService and the flowcontrol kinds: the rules
upstream's pkg/apis/<group>/validation applies beyond the schema, worded as the apiserver words them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from boxk8s.resources import admission_policy_cel
from boxk8s.resources.field_errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
)
from boxk8s.resources.names import dns1035_label, dns1123_subdomain, port_name, port_number
from boxk8s.resources.quantity import QuantityError, parse_quantity
from boxk8s.resources.validation_common import PROTOCOLS, dict_items, validate_selector
from boxk8s.resources.validation_go import (
    as_int,
    go_strings,
    go_typed_strings,
    int_or_string,
    invalid_shown,
    path_segment_name,
    spec_of,
)

Obj = dict[str, Any]
Check = Callable[[Obj], list[FieldError]]



def _positive_quantity(value: Any) -> bool:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    try:
        return parse_quantity(value) > 0
    except (QuantityError, ValueError, TypeError):
        return False


# autoscaling ----------------------------------------------------------------------------------

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
_METRIC_TYPES = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
                 "ContainerResource": "containerResource"}
_METRIC_TYPE_LIST = sorted(_METRIC_TYPES)


def _cross_version_ref(ref: Any, path: str) -> list[FieldError]:
    """ValidateCrossVersionObjectReference: kind and name, each a path segment."""
    ref = ref if isinstance(ref, dict) else {}
    errs: list[FieldError] = []
    for field in ("kind", "name"):
        value = ref.get(field) or ""
        if not value:
            errs.append(required(f"{path}.{field}"))
        else:
            errs += [invalid(f"{path}.{field}", value, m) for m in path_segment_name(value)]
    return errs


def _metric_target(target: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    ttype = target.get("type") or ""
    if not ttype:
        errs.append(required(f"{path}.type", "must specify a metric target type"))
    if ttype not in ("Utilization", "Value", "AverageValue"):
        errs.append(invalid(f"{path}.type", ttype, "must be either Utilization, Value, or AverageValue"))
    for field in ("value", "averageValue"):
        if target.get(field) is not None and not _positive_quantity(target[field]):
            errs.append(invalid(f"{path}.{field}", str(target[field]), "must be positive"))
    utilization = as_int(target.get("averageUtilization"))
    if utilization is not None and utilization < 1:
        errs.append(invalid(f"{path}.averageUtilization", utilization, "must be greater than 0"))
    return errs


def _metric_name(metric: Any, path: str) -> list[FieldError]:
    name = (metric or {}).get("name") if isinstance(metric, dict) else ""
    if not name:
        return [required(f"{path}.name", "must specify a metric name")]
    return [invalid(f"{path}.name", name, m) for m in path_segment_name(name)]


def _metric_source(field: str, source: Obj, path: str) -> list[FieldError]:
    target = source.get("target") if isinstance(source.get("target"), dict) else {}
    errs = _metric_target(target, f"{path}.target")
    if field in ("resource", "containerResource"):
        if not source.get("name"):
            errs.insert(0, required(f"{path}.name", "must specify a resource name"))
        if field == "containerResource" and not source.get("container"):
            errs.append(required(f"{path}.container", "must specify a container"))
        if target.get("averageUtilization") is None and target.get("averageValue") is None:
            errs.append(required(f"{path}.target.averageUtilization",
                                 "must set either a target raw value or a target utilization"))
        if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
            errs.append(forbidden(f"{path}.target.averageValue",
                                  "may not set both a target raw value and a target utilization"))
        return errs
    errs = _metric_name(source.get("metric"), f"{path}.metric") + errs
    if field == "object":
        errs = _cross_version_ref(source.get("describedObject"), f"{path}.describedObject") + errs
        if target.get("value") is None and target.get("averageValue") is None:
            errs.append(required(f"{path}.target.averageValue", "must set either a target value or averageValue"))
    elif field == "external":
        if target.get("value") is None and target.get("averageValue") is None:
            errs.append(required(f"{path}.target.averageValue",
                                 "must set either a target value for metric or a per-pod target"))
        if target.get("value") is not None and target.get("averageValue") is not None:
            errs.append(forbidden(f"{path}.target.value",
                                  "may not set both a target value for metric and a per-pod target"))
    elif target.get("averageValue") is None:  # pods
        errs.append(required(f"{path}.target.averageValue", "must specify a positive target averageValue"))
    return errs


def _metric(metric: Obj, path: str) -> list[FieldError]:
    """validateMetricSpec: the source named by `type`, and only that one."""
    errs: list[FieldError] = []
    mtype = metric.get("type") or ""
    if not mtype:
        errs.append(required(f"{path}.type", "must specify a metric source type"))
    if mtype not in _METRIC_TYPES:
        errs.append(not_supported(f"{path}.type", mtype, _METRIC_TYPE_LIST))
    present = [f for f in ("object", "external", "pods", "resource", "containerResource")
               if isinstance(metric.get(f), dict)]
    if present:
        errs += _metric_source(present[0], metric[present[0]], f"{path}.{present[0]}")
    expected = _METRIC_TYPES.get(mtype)
    if expected is not None and expected not in present:
        errs.append(required(f"{path}.{expected}", "must populate information for the given metric source"))
    if len(present) != 1:
        errs += [forbidden(f"{path}.{f}", "must populate the given metric source only") for f in present
                 if f != expected]
    return errs


def _scaling_rules(rules: Any, path: str) -> list[FieldError]:
    if not isinstance(rules, dict):
        return []
    errs: list[FieldError] = []
    window = as_int(rules.get("stabilizationWindowSeconds"))
    if window is not None and window < 0:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window, "must be greater than or equal to zero"))
    if window is not None and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                            f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    select = rules.get("selectPolicy")
    if isinstance(select, str) and select not in ("Disabled", "Max", "Min"):
        errs.append(not_supported(f"{path}.selectPolicy", select, ["Disabled", "Max", "Min"]))
    if not rules.get("policies"):
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in dict_items(rules.get("policies")):
        pp = f"{path}.policies[{i}]"
        if policy.get("type") not in ("Pods", "Percent"):
            errs.append(not_supported(f"{pp}.type", policy.get("type") or "", ["Percent", "Pods"]))
        value, period = as_int(policy.get("value")) or 0, as_int(policy.get("periodSeconds")) or 0
        if value <= 0:
            errs.append(invalid(f"{pp}.value", value, "must be greater than zero"))
        if period <= 0:
            errs.append(invalid(f"{pp}.periodSeconds", period, "must be greater than zero"))
        if period > MAX_PERIOD_SECONDS:
            errs.append(invalid(f"{pp}.periodSeconds", period, f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs


def _replica_bounds(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    low, high = as_int(spec.get("minReplicas")), as_int(spec.get("maxReplicas")) or 0
    if low is not None and low < 1:  # HPAScaleToZero is alpha (off) in 1.32
        errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if high < 1:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
    if low is not None and high < low:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    return errs + _cross_version_ref(spec.get("scaleTargetRef"), "spec.scaleTargetRef")


def check_hpa(obj: Obj) -> list[FieldError]:
    """validateHorizontalPodAutoscalerSpec, on the v2 shape or on a v1 object as it converts to it."""
    spec = spec_of(obj)
    errs = _replica_bounds(spec)
    if obj.get("apiVersion") == "autoscaling/v1":
        target = as_int(spec.get("targetCPUUtilizationPercentage"))
        if target is not None and target < 1:
            errs.append(invalid("spec.metrics[0].resource.target.averageUtilization", target, "must be greater than 0"))
        return errs
    for i, metric in dict_items(spec.get("metrics")):
        errs += _metric(metric, f"spec.metrics[{i}]")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        errs += _scaling_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
        errs += _scaling_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return errs


# policy/v1 ------------------------------------------------------------------------------------

_PERCENT_RE = re.compile(r"[0-9]+%")
_PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' "
                "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")


def _int_or_percent(value: Any, path: str) -> list[FieldError]:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [invalid(path, value, "must be greater than or equal to 0")] if value < 0 else []
    if not isinstance(value, str):
        return []
    if not _PERCENT_RE.fullmatch(value):
        return [invalid_shown(path, int_or_string(value), _PERCENT_MSG)]
    if int(value[:-1]) > 100:
        return [invalid_shown(path, int_or_string(value), "must not be greater than 100%")]
    return []


def _pdb_spec_shown(spec: Obj) -> str:
    """%#v of a policy.PodDisruptionBudgetSpec: its pointers print as addresses (shown as zero here)."""
    def ptr(go_type: str, key: str) -> str:
        return f"(*{go_type})({'0xc000000000' if spec.get(key) is not None else 'nil'})"
    return ("policy.PodDisruptionBudgetSpec{"
            f"MinAvailable:{ptr('intstr.IntOrString', 'minAvailable')}, "
            f"Selector:{ptr('v1.LabelSelector', 'selector')}, "
            f"MaxUnavailable:{ptr('intstr.IntOrString', 'maxUnavailable')}, "
            f"UnhealthyPodEvictionPolicy:{ptr('policy.UnhealthyPodEvictionPolicyType', 'unhealthyPodEvictionPolicy')}}}")


def check_pdb(obj: Obj) -> list[FieldError]:
    """ValidatePodDisruptionBudgetSpec."""
    spec = spec_of(obj)
    errs: list[FieldError] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errs.append(invalid_shown("spec", _pdb_spec_shown(spec), "minAvailable and maxUnavailable cannot be both set"))
    for field in ("minAvailable", "maxUnavailable"):
        if spec.get(field) is not None:
            errs += _int_or_percent(spec[field], f"spec.{field}")
    errs += validate_selector(spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if isinstance(policy, str) and policy not in ("AlwaysAllow", "IfHealthyBudget"):
        errs.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]))
    return errs


# networking.k8s.io/v1 NetworkPolicy -----------------------------------------------------------


def _policy_port(port: Obj, path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPort."""
    errs: list[FieldError] = []
    protocol = port.get("protocol")
    if isinstance(protocol, str) and protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, ["TCP", "UDP", "SCTP"]))
    number, end = port.get("port"), as_int(port.get("endPort"))
    if isinstance(number, int) and not isinstance(number, bool):
        errs += [invalid(f"{path}.port", number, m) for m in port_number(number)]
        if end is not None:
            if end < number:
                errs.append(invalid(f"{path}.endPort", number, "must be greater than or equal to `port`"))
            errs += [invalid(f"{path}.endPort", end, m) for m in port_number(end)]
    elif isinstance(number, str):
        if end is not None:
            errs.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric"))
        errs += [invalid(f"{path}.port", number, m) for m in port_name(number)]
    elif end is not None:
        errs.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is not specified"))
    return errs


def _cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=False) if value and "/" in str(value) else None
    except ValueError:
        return None


def _ip_block(block: Obj, path: str) -> list[FieldError]:
    cidr = block.get("cidr") or ""
    if not cidr:
        return [required(f"{path}.cidr")]
    network = _cidr(cidr)
    if network is None:
        return [invalid(f"{path}.cidr", cidr, "not a valid CIDR")]
    errs: list[FieldError] = []
    for i, value in enumerate(block.get("except") or []):
        inner = _cidr(value)
        if inner is None:
            return errs + [invalid(f"{path}.except[{i}]", value, "not a valid CIDR")]
        if inner.version != network.version or not inner.subnet_of(network) or inner.prefixlen <= network.prefixlen:  # type: ignore[arg-type]
            errs.append(invalid(f"{path}.except[{i}]", value, "must be a strict subset of `cidr`"))
    return errs


def _peer(peer: Obj, path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPeer."""
    errs: list[FieldError] = []
    count = 0
    for field in ("podSelector", "namespaceSelector"):
        if isinstance(peer.get(field), dict):
            count += 1
            errs += validate_selector(peer[field], f"{path}.{field}")
    if isinstance(peer.get("ipBlock"), dict):
        count += 1
        errs += _ip_block(peer["ipBlock"], f"{path}.ipBlock")
    if count == 0:
        errs.append(required(path, "must specify a peer"))
    elif count > 1 and isinstance(peer.get("ipBlock"), dict):
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errs


def check_network_policy(obj: Obj) -> list[FieldError]:
    """ValidateNetworkPolicySpec."""
    spec = spec_of(obj)
    errs = validate_selector(spec.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in dict_items(spec.get(direction)):
            for j, port in dict_items(rule.get("ports")):
                errs += _policy_port(port, f"spec.{direction}[{i}].ports[{j}]")
            for j, peer in dict_items(rule.get(peers)):
                errs += _peer(peer, f"spec.{direction}[{i}].{peers}[{j}]")
    types = spec.get("policyTypes") or []
    if len(types) > 2:
        return errs + [invalid_shown("spec.policyTypes", go_typed_strings("networking.PolicyType", types),
                                     "may not specify more than two policyTypes")]
    for i, ptype in enumerate(types):
        if ptype not in ("Ingress", "Egress"):
            errs.append(not_supported(f"spec.policyTypes[{i}]", ptype, ["Ingress", "Egress"]))
    return errs


# admissionregistration.k8s.io/v1 --------------------------------------------------------------

_OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
_SIDE_EFFECTS = ["None", "NoneOnDryRun"]  # what a new webhook may declare
_REVIEW_VERSIONS = ["v1", "v1beta1"]


def _fully_qualified(path: str, name: str) -> list[FieldError]:
    """utilvalidation.IsFullyQualifiedName: a domain with at least three segments."""
    if not name:
        return [required(path)]
    messages = dns1123_subdomain(name)
    if messages:
        return [invalid(path, name, ",".join(messages))]
    if len(name.split(".")) < 3:
        return [invalid(path, name, "should be a domain with at least three segments separated by dots")]
    return []


def _rule_with_operations(rule: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    operations = rule.get("operations") or []
    if not operations:
        errs.append(required(f"{path}.operations"))
    if len(operations) > 1 and "*" in operations:
        errs.append(invalid_shown(f"{path}.operations", go_typed_strings("admissionregistration.OperationType", operations),
                                  "if '*' is present, must not specify other operations"))
    for i, op in enumerate(operations):
        if op not in _OPERATIONS:
            errs.append(not_supported(f"{path}.operations[{i}]", op, _OPERATIONS))
    scope = rule.get("scope")
    if isinstance(scope, str) and scope not in ("*", "Cluster", "Namespaced"):
        errs.append(not_supported(f"{path}.scope", scope, ["*", "Cluster", "Namespaced"]))
    return errs


def _client_config(config: Any, path: str) -> list[FieldError]:
    config = config if isinstance(config, dict) else {}
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        return [required(path, "exactly one of url or service is required")]
    form = "; desired format: https://host[/path]"
    if url is not None:
        parts = urlsplit(str(url))
        errs: list[FieldError] = []
        if parts.scheme != "https":
            errs.append(invalid(f"{path}.url", parts.scheme, "'https' is the only allowed URL scheme" + form))
        if not parts.netloc:
            errs.append(invalid(f"{path}.url", parts.netloc, "host must be specified" + form))
        if parts.fragment:
            errs.append(invalid(f"{path}.url", parts.fragment, "fragments are not permitted in the URL" + form))
        if parts.query:
            errs.append(invalid(f"{path}.url", parts.query, "query parameters are not permitted in the URL" + form))
        return errs
    service = service if isinstance(service, dict) else {}
    errs = []
    if not service.get("name"):
        errs.append(required(f"{path}.service.name", "service name is required"))
    if not service.get("namespace"):
        errs.append(required(f"{path}.service.namespace", "service namespace is required"))
    port = as_int(service.get("port"))
    if port is not None and port_number(port):
        errs.append(invalid(f"{path}.service.port", port, "port is not valid: " + ", ".join(port_number(port))))
    service_path = service.get("path")
    if isinstance(service_path, str) and service_path not in ("", "/") and not service_path.startswith("/"):
        errs.append(invalid(f"{path}.service.path", service_path, "must start with a '/'"))
    return errs


def _review_versions(versions: Any, path: str) -> list[FieldError]:
    versions = versions if isinstance(versions, list) else []
    if not versions:
        return [required(path, f"must specify one of {', '.join(_REVIEW_VERSIONS)}")]
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, version in enumerate(versions):
        if version in seen:
            errs.append(invalid(f"{path}[{i}]", version, "duplicate version"))
            continue
        seen.add(version)
        errs += [invalid(f"{path}[{i}]", version, m) for m in dns1035_label(str(version))]
    if not seen & set(_REVIEW_VERSIONS):
        errs.append(invalid_shown(path, go_strings(versions), f"must include at least one of {', '.join(_REVIEW_VERSIONS)}"))
    return errs


def _webhook(hook: Obj, path: str, mutating: bool) -> list[FieldError]:
    errs = _fully_qualified(f"{path}.name", hook.get("name") or "")
    for i, rule in dict_items(hook.get("rules")):
        errs += _rule_with_operations(rule, f"{path}.rules[{i}]")
    for field, allowed in (("failurePolicy", ["Fail", "Ignore"]), ("matchPolicy", ["Equivalent", "Exact"])):
        value = hook.get(field)
        if isinstance(value, str) and value not in allowed:
            errs.append(not_supported(f"{path}.{field}", value, allowed))
    effects = hook.get("sideEffects")
    if effects is None:
        errs.append(required(f"{path}.sideEffects", f"must specify one of {', '.join(_SIDE_EFFECTS)}"))
    elif effects not in _SIDE_EFFECTS:
        errs.append(not_supported(f"{path}.sideEffects", effects, _SIDE_EFFECTS))
    timeout = as_int(hook.get("timeoutSeconds"))
    if timeout is not None and not 1 <= timeout <= 30:
        errs.append(invalid(f"{path}.timeoutSeconds", timeout, "the timeout value must be between 1 and 30 seconds"))
    for field in ("namespaceSelector", "objectSelector"):
        errs += validate_selector(hook.get(field), f"{path}.{field}")
    reinvocation = hook.get("reinvocationPolicy")
    if mutating and isinstance(reinvocation, str) and reinvocation not in ("IfNeeded", "Never"):
        errs.append(not_supported(f"{path}.reinvocationPolicy", reinvocation, ["IfNeeded", "Never"]))
    return errs + _client_config(hook.get("clientConfig"), f"{path}.clientConfig")


def _webhook_configuration(mutating: bool) -> Check:
    def check(obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        names: set[str] = set()
        for i, hook in dict_items(obj.get("webhooks")):
            path = f"webhooks[{i}]"
            errs += _webhook(hook, path, mutating)
            errs += _review_versions(hook.get("admissionReviewVersions"), f"{path}.admissionReviewVersions")
            name = hook.get("name")
            if name:
                if name in names:
                    errs.append(duplicate(f"{path}.name", name))
                names.add(name)
        return errs
    return check


def _match_resources(match: Any, path: str) -> list[FieldError]:
    if not isinstance(match, dict):
        return []
    errs: list[FieldError] = []
    policy = match.get("matchPolicy")
    if isinstance(policy, str) and policy not in ("Equivalent", "Exact"):
        errs.append(not_supported(f"{path}.matchPolicy", policy, ["Equivalent", "Exact"]))
    for field in ("namespaceSelector", "objectSelector"):
        errs += validate_selector(match.get(field), f"{path}.{field}")
    for field in ("resourceRules", "excludeResourceRules"):
        for i, rule in dict_items(match.get(field)):
            errs += _rule_with_operations(rule, f"{path}.{field}[{i}]")
    return errs


def check_validating_admission_policy(obj: Obj) -> list[FieldError]:
    spec = spec_of(obj)
    errs: list[FieldError] = []
    policy = spec.get("failurePolicy")
    if policy is None:
        errs.append(required("spec.failurePolicy"))
    elif policy not in ("Fail", "Ignore"):
        errs.append(not_supported("spec.failurePolicy", policy, ["Fail", "Ignore"]))
    match = spec.get("matchConstraints")
    if not isinstance(match, dict):
        errs.append(required("spec.matchConstraints"))
    else:
        errs += _match_resources(match, "spec.matchConstraints")
        if not match.get("resourceRules"):
            errs.append(required("spec.matchConstraints.resourceRules"))
    if not spec.get("validations"):
        errs.append(required("spec.validations"))
    for i, validation in dict_items(spec.get("validations")):
        if not (validation.get("expression") or "").strip():
            errs.append(required(f"spec.validations[{i}].expression"))
    return errs + _expression_syntax(spec)


def _expression_syntax(spec: Obj) -> list[FieldError]:
    """validateValidatingAdmissionPolicySpec compiles every expression: one that does not parse is
    refused (what parses but cel-python cannot run meets the failure policy when evaluated)."""
    errs: list[FieldError] = []
    for field, key in (("validations", "expression"), ("validations", "messageExpression"),
                       ("matchConditions", "expression"), ("variables", "expression"),
                       ("auditAnnotations", "valueExpression")):
        for i, item in dict_items(spec.get(field)):
            text = item.get(key)
            problem = admission_policy_cel.syntax_error(text) if isinstance(text, str) and text.strip() else None
            if problem:
                errs.append(invalid(f"spec.{field}[{i}].{key}", text, problem))
    return errs


_VALIDATION_ACTIONS = ["Audit", "Deny", "Warn"]


def check_validating_admission_policy_binding(obj: Obj) -> list[FieldError]:
    spec = spec_of(obj)
    errs: list[FieldError] = []
    policy = spec.get("policyName") or ""
    if not policy:
        errs.append(required("spec.policyName"))
    else:
        errs += [invalid("spec.policyName", policy, m) for m in dns1123_subdomain(policy)]
    errs += _match_resources(spec.get("matchResources"), "spec.matchResouces")  # sic, upstream's path
    actions = spec.get("validationActions") or []
    seen: set[str] = set()
    for i, action in enumerate(actions):
        if action not in _VALIDATION_ACTIONS:
            errs.append(not_supported(f"spec.validationActions[{i}]", action, _VALIDATION_ACTIONS))
        if action in seen:
            errs.append(duplicate(f"spec.validationActions[{i}]", action))
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        errs.append(invalid_shown(
            "spec.validationActions", go_typed_strings("admissionregistration.ValidationAction", actions),
            "must not contain both Deny and Warn (repeating the same validation failure information in the API "
            "response and headers serves no purpose)"))
    if not seen:
        errs.append(required("spec.validationActions", "at least one validation action is required"))
    return errs


# apiregistration.k8s.io/v1, flowcontrol.apiserver.k8s.io/v1 -----------------------------------


def check_api_service(obj: Obj) -> list[FieldError]:
    """ValidateAPIService (kube-aggregator pkg/apis/apiregistration/validation)."""
    spec = spec_of(obj)
    errs: list[FieldError] = []
    group, version = spec.get("group") or "", spec.get("version") or ""
    name = (obj.get("metadata") or {}).get("name")
    wanted = f"{version}.{group}"
    if isinstance(name, str) and name and not path_segment_name(name) and name != wanted:
        errs.append(invalid("metadata.name", name, f'must be `spec.version+"."+spec.group`: "{wanted}"'))
    if not group and version != "v1":
        errs.append(required("spec.group", "only v1 may have an empty group and it better be legacy kube"))
    if group:
        errs += [invalid("spec.group", group, m) for m in dns1123_subdomain(group)]
    errs += [invalid("spec.version", version, m) for m in dns1035_label(version)]
    minimum, priority = as_int(spec.get("groupPriorityMinimum")) or 0, as_int(spec.get("versionPriority")) or 0
    if not 0 < minimum <= 20000:
        errs.append(invalid("spec.groupPriorityMinimum", minimum, "must be positive and less than 20000"))
    if not 0 < priority <= 1000:
        errs.append(invalid("spec.versionPriority", priority, "must be positive and less than 1000"))
    service = spec.get("service")
    if not isinstance(service, dict):
        if spec.get("caBundle"):
            errs.append(invalid("spec.caBundle", f"{len(str(spec['caBundle'])) * 3 // 4} bytes",
                                "local APIServices may not have a caBundle"))
        if spec.get("insecureSkipTLSVerify"):
            errs.append(invalid("spec.insecureSkipTLSVerify", True, "local APIServices may not have insecureSkipTLSVerify"))
        return errs
    if not service.get("namespace"):
        errs.append(required("spec.service.namespace"))
    if not service.get("name"):
        errs.append(required("spec.service.name"))
    port = as_int(service.get("port"))
    if port is not None and port_number(port):
        errs.append(invalid("spec.service.port", port, "port is not valid: " + ", ".join(port_number(port))))
    if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
        errs.append(invalid("spec.insecureSkipTLSVerify", True, "may not be true if caBundle is present"))
    return errs


def check_flow_schema(obj: Obj) -> list[FieldError]:
    precedence = as_int(spec_of(obj).get("matchingPrecedence"))
    if precedence is not None and precedence > 10000:
        return [invalid("spec.matchingPrecedence", precedence, "must not be greater than 10000")]
    return []


def check_priority_level(obj: Obj) -> list[FieldError]:
    ptype = spec_of(obj).get("type")
    if isinstance(ptype, str) and ptype not in ("Exempt", "Limited"):
        return [not_supported("spec.type", ptype, ["Exempt", "Limited"])]
    return []


KIND_RULES: dict[str, Check] = {
    "HorizontalPodAutoscaler": check_hpa,
    "PodDisruptionBudget": check_pdb,
    "NetworkPolicy": check_network_policy,
    "MutatingWebhookConfiguration": _webhook_configuration(mutating=True),
    "ValidatingWebhookConfiguration": _webhook_configuration(mutating=False),
    "ValidatingAdmissionPolicy": check_validating_admission_policy,
    "ValidatingAdmissionPolicyBinding": check_validating_admission_policy_binding,
    "APIService": check_api_service,
    "FlowSchema": check_flow_schema,
    "PriorityLevelConfiguration": check_priority_level,
}

# An APIService's name must be version.group: check_api_service tells, this only refuses what no
# path may hold.
NAME_RULES: dict[str, Callable[[str], list[str]]] = {"APIService": path_segment_name}
