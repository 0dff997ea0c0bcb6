"""Table printers for HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy, the
admissionregistration kinds, APIService and the flowcontrol kinds.

Cell for cell what kubernetes 1.32 `pkg/printers/internalversion/printers.go` prints (APIService:
kube-aggregator's pkg/registry/apiservice/etcd ConvertToTable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boxk8s.resources.selectors import format_label_selector
from boxk8s.resources.tables_cluster import doc
from boxk8s.resources.tables_common import AGE, NAME, Cell, Obj, Printer, age, col, dig, name, spec, status

# --- HorizontalPodAutoscaler -------------------------------------------------------------------


def _q(value: Any) -> str:
    """A Quantity's String() (nil prints as <nil>); quantities are shown as stored."""
    return "<nil>" if value is None else str(value)


def _v1_metrics(obj: Obj) -> tuple[list[Obj], list[Obj]]:
    """An autoscaling/v1 HPA's cpu target and current utilization as the internal (v2) metrics
    they convert to; a v1 HPA without a target gets the 80% the stored v2 object is defaulted to."""
    target = spec(obj).get("targetCPUUtilizationPercentage")
    specs = [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80 if target is None else target}}}]
    current = status(obj).get("currentCPUUtilizationPercentage")
    statuses = [] if current is None else [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": current}}}]
    return specs, statuses


def _metric(metric: Obj, current: Obj | None) -> str:
    """One entry of formatHPAMetrics."""
    mtype = metric.get("type")
    field = {"External": "external", "Pods": "pods", "Object": "object", "Resource": "resource",
             "ContainerResource": "containerResource"}.get(str(mtype))
    if field is None:
        return "<unknown type>"
    source = metric.get(field) or {}
    target = source.get("target") or {}
    now = (current or {}).get(field) if current else None
    now_value = (now or {}).get("current") or {}
    if field == "pods":
        return f"{_q(now_value.get('averageValue')) if now else '<unknown>'}/{_q(target.get('averageValue'))}"
    if field in ("external", "object"):
        if target.get("averageValue") is not None:
            shown = _q(now_value["averageValue"]) if now and now_value.get("averageValue") is not None else "<unknown>"
            return f"{shown}/{_q(target['averageValue'])} (avg)"
        return f"{_q(now_value.get('value')) if now else '<unknown>'}/{_q(target.get('value'))}"
    resource = source.get("name", "")
    if target.get("averageValue") is not None:
        return f"{resource}: {_q(now_value.get('averageValue')) if now else '<unknown>'}/{_q(target['averageValue'])}"
    utilization = now_value.get("averageUtilization") if now else None
    shown = f"{utilization}%" if utilization is not None else "<unknown>"
    goal = target.get("averageUtilization")
    return f"{resource}: {shown}/{f'{goal}%' if goal is not None else '<auto>'}"


def hpa_targets(obj: Obj) -> str:
    """formatHPAMetrics: at most two metrics, then `+ N more...`; `<none>` without metrics."""
    if obj.get("apiVersion") == "autoscaling/v1":
        specs, statuses = _v1_metrics(obj)
    else:
        specs, statuses = spec(obj).get("metrics") or [], status(obj).get("currentMetrics") or []
    if not specs:
        return "<none>"
    shown = [_metric(m, statuses[i] if i < len(statuses) else None) for i, m in enumerate(specs)]
    if len(shown) > 2:
        return f"{', '.join(shown[:2])} + {len(shown) - 2} more..."
    return ", ".join(shown)


def _hpa_row(obj: Obj, now: datetime) -> list[Cell]:
    ref = spec(obj).get("scaleTargetRef") or {}
    min_replicas = spec(obj).get("minReplicas")
    return [
        name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", hpa_targets(obj),
        "<unset>" if min_replicas is None else str(min_replicas), int(spec(obj).get("maxReplicas") or 0),
        int(status(obj).get("currentReplicas") or 0), age(obj, now),
    ]


_HPA = "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec"

HORIZONTALPODAUTOSCALER = Printer(
    (
        NAME,
        col("Reference", doc(_HPA, "scaleTargetRef")),
        col("Targets", doc(_HPA, "metrics")),
        col("MinPods", doc(_HPA, "minReplicas")),
        col("MaxPods", doc(_HPA, "maxReplicas")),
        col("Replicas", doc("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
        AGE,
    ),
    _hpa_row,
)

# --- PodDisruptionBudget, NetworkPolicy --------------------------------------------------------


def _pdb_row(obj: Obj, now: datetime) -> list[Cell]:
    low, high = spec(obj).get("minAvailable"), spec(obj).get("maxUnavailable")
    return [
        name(obj), "N/A" if low is None else str(low), "N/A" if high is None else str(high),
        int(status(obj).get("disruptionsAllowed") or 0), age(obj, now),
    ]


PODDISRUPTIONBUDGET = Printer(
    (
        NAME,
        col("Min Available", "The minimum number of pods that must be available."),
        col("Max Unavailable", "The maximum number of pods that may be unavailable."),
        col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", type="integer"),
        AGE,
    ),
    _pdb_row,
)

NETWORKPOLICY = Printer(
    (NAME, col("Pod-Selector", doc("io.k8s.api.networking.v1.NetworkPolicySpec", "podSelector")), AGE),
    lambda obj, now: [name(obj), format_label_selector(spec(obj).get("podSelector") or {}), age(obj, now)],
)

# --- admissionregistration.k8s.io --------------------------------------------------------------

WEBHOOKCONFIGURATION = Printer(
    (NAME, col("Webhooks", "Webhooks indicates the number of webhooks registered in this configuration",
               type="integer"), AGE),
    lambda obj, now: [name(obj), len(obj.get("webhooks") or []), age(obj, now)],
)


def _param_kind(obj: Obj) -> str:
    kind = spec(obj).get("paramKind")
    return f"{kind.get('apiVersion', '')}/{kind.get('kind', '')}" if isinstance(kind, dict) else "<unset>"


VALIDATINGADMISSIONPOLICY = Printer(
    (
        NAME,
        col("Validations", "Validations indicates the number of validation rules defined in this configuration",
            type="integer"),
        col("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy"),
        AGE,
    ),
    lambda obj, now: [name(obj), len(spec(obj).get("validations") or []), _param_kind(obj), age(obj, now)],
)


def selector_string(selector: Obj) -> str:
    """metav1.LabelSelector's generated String() (gogo-protobuf style)."""
    labels = selector.get("matchLabels") or {}
    label_text = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    exprs = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or []
    )
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{label_text}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


def param_ref(obj: Obj) -> str:
    """printValidatingAdmissionPolicyBinding's PARAMREF: namespace/name, */name, or the selector."""
    ref = spec(obj).get("paramRef")
    if not isinstance(ref, dict):
        return "<unset>"
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    if isinstance(ref.get("selector"), dict):
        return selector_string(ref["selector"])
    return "<unset>"


VALIDATINGADMISSIONPOLICYBINDING = Printer(
    (
        NAME,
        col("PolicyName", "PolicyName indicates the policy definition which the policy binding binded to"),
        col("ParamRef", "ParamRef indicates the param resource which sets the configration param"),
        AGE,
    ),
    lambda obj, now: [name(obj), spec(obj).get("policyName", ""), param_ref(obj), age(obj, now)],
)

# --- APIService --------------------------------------------------------------------------------


def apiservice_available(obj: Obj) -> str:
    for condition in status(obj).get("conditions") or []:
        if condition.get("type") == "Available":
            state = condition.get("status", "")
            if state != "True" and condition.get("reason"):
                return f"{state} ({condition['reason']})"
            return state
    return "Unknown"


def _apiservice_row(obj: Obj, now: datetime) -> list[Cell]:
    service = spec(obj).get("service")
    where = f"{service.get('namespace', '')}/{service.get('name', '')}" if isinstance(service, dict) else "Local"
    return [name(obj), where, apiservice_available(obj), age(obj, now)]


APISERVICE = Printer(
    (
        NAME,
        col("Service", "The reference to the service that hosts this API endpoint."),
        col("Available", "Whether this service is available."),
        AGE,
    ),
    _apiservice_row,
)

# --- flowcontrol.apiserver.k8s.io --------------------------------------------------------------


def _flowschema_row(obj: Obj, now: datetime) -> list[Cell]:
    method = dig(obj, "spec", "distinguisherMethod", "type") or "<none>"
    dangling = next((c.get("status", "") for c in status(obj).get("conditions") or []
                     if c.get("type") == "Dangling"), "?")
    return [
        name(obj), dig(obj, "spec", "priorityLevelConfiguration", "name", default=""),
        int(spec(obj).get("matchingPrecedence") or 0), method, age(obj, now), dangling,
    ]


def _flowschema_order(objects: list[Obj]) -> list[Obj]:
    """printFlowSchemaList sorts by FlowSchemaSequence: matching precedence, then name."""
    return sorted(objects, key=lambda o: (int(spec(o).get("matchingPrecedence") or 0), name(o)))


_FS = "io.k8s.api.flowcontrol.v1.FlowSchemaSpec"

FLOWSCHEMA = Printer(
    (
        NAME,
        col("PriorityLevel", doc("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationReference", "name")),
        col("MatchingPrecedence", doc(_FS, "matchingPrecedence")),
        col("DistinguisherMethod", doc(_FS, "distinguisherMethod")),
        AGE,
        col("MissingPL", "references a broken or non-existent PriorityLevelConfiguration"),
    ),
    _flowschema_row,
    order=_flowschema_order,
)


def _priority_level_row(obj: Obj, now: datetime) -> list[Cell]:
    limited = spec(obj).get("limited")
    shares: Cell = "<none>"
    queues: Cell = "<none>"
    hand: Cell = "<none>"
    length: Cell = "<none>"
    if isinstance(limited, dict):
        shares = int(limited.get("nominalConcurrencyShares") or 0)
        queuing = dig(limited, "limitResponse", "queuing")
        if isinstance(queuing, dict):
            queues = int(queuing.get("queues") or 0)
            hand = int(queuing.get("handSize") or 0)
            length = int(queuing.get("queueLengthLimit") or 0)
    return [name(obj), spec(obj).get("type", ""), shares, queues, hand, length, age(obj, now)]


_QUEUING = "io.k8s.api.flowcontrol.v1.QueuingConfiguration"

PRIORITYLEVELCONFIGURATION = Printer(
    (
        NAME,
        col("Type", doc("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationSpec", "type")),
        col("NominalConcurrencyShares",
            doc("io.k8s.api.flowcontrol.v1.LimitedPriorityLevelConfiguration", "nominalConcurrencyShares")),
        col("Queues", doc(_QUEUING, "queues")),
        col("HandSize", doc(_QUEUING, "handSize")),
        col("QueueLengthLimit", doc(_QUEUING, "queueLengthLimit")),
        AGE,
    ),
    _priority_level_row,
)

_ADMISSION = "admissionregistration.k8s.io"
_FLOWCONTROL = "flowcontrol.apiserver.k8s.io"

# Keyed as tables.PRINTERS is, by (group, kind): autoscaling v1 and v2 print the same way.
PRINTERS: dict[tuple[str, str], Printer] = {
    ("autoscaling", "HorizontalPodAutoscaler"): HORIZONTALPODAUTOSCALER,
    ("policy", "PodDisruptionBudget"): PODDISRUPTIONBUDGET,
    ("networking.k8s.io", "NetworkPolicy"): NETWORKPOLICY,
    (_ADMISSION, "MutatingWebhookConfiguration"): WEBHOOKCONFIGURATION,
    (_ADMISSION, "ValidatingWebhookConfiguration"): WEBHOOKCONFIGURATION,
    (_ADMISSION, "ValidatingAdmissionPolicy"): VALIDATINGADMISSIONPOLICY,
    (_ADMISSION, "ValidatingAdmissionPolicyBinding"): VALIDATINGADMISSIONPOLICYBINDING,
    ("apiregistration.k8s.io", "APIService"): APISERVICE,
    (_FLOWCONTROL, "FlowSchema"): FLOWSCHEMA,
    (_FLOWCONTROL, "PriorityLevelConfiguration"): PRIORITYLEVELCONFIGURATION,
}
