"""Kinds served in several versions: one storage version, the others converted on the way in and out.

One HorizontalPodAutoscaler is stored once (as autoscaling/v2, the apiserver's storage version) and
read or written as autoscaling/v1 or v2 alike. What v1 cannot say travels in annotations, as
upstream's pkg/apis/autoscaling/v1/conversion.go does: metrics other than a CPU utilization target
(`autoscaling.alpha.kubernetes.io/metrics`), the current values of those
(`…/current-metrics`), the conditions (`…/conditions`) and the behavior (`…/behavior`), each the
JSON of the v1 types. A v1 write folds them back, so a v2 object read and written back as v1 loses
nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
_ANNOTATIONS = (METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR)

# (group, kind) -> storage version
_STORAGE_VERSIONS = {("autoscaling", "HorizontalPodAutoscaler"): "v2"}


def storage_type(rt: ResourceType) -> ResourceType:
    """The version `rt`'s objects are stored in (rt itself for kinds served in one version)."""
    version = _STORAGE_VERSIONS.get((rt.group, rt.kind))
    if version is None or version == rt.version:
        return rt
    stored = registry.find(rt.group, version, rt.plural)
    assert stored is not None, f"no storage version {version} of {rt.group_resource}"
    return stored


def converts(rt: ResourceType) -> bool:
    return storage_type(rt) is not rt


def to_storage(rt: ResourceType, obj: Obj) -> Obj:
    """An object of version `rt` as its storage version stores it (a copy; `obj` as is when none)."""
    if not converts(rt):
        return obj
    out = _hpa_v1_to_v2(obj)
    out["apiVersion"] = storage_type(rt).api_version
    return out


def from_storage(rt: ResourceType, obj: Obj) -> Obj:
    """A stored object as version `rt` shows it (a copy; `obj` as is when no conversion)."""
    if not converts(rt) or not isinstance(obj, dict):
        return obj
    out = _hpa_v2_to_v1(obj)
    out["apiVersion"] = rt.api_version
    return out


# ---- autoscaling/v2 → v1 (Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler) ----

def _hpa_v2_to_v1(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    spec = out.get("spec")
    annotations: Obj = {}
    if isinstance(spec, dict):
        other: list[Obj] = []
        for metric in spec.pop("metrics", None) or []:
            target = ((metric.get("resource") or {}).get("target") or {})
            if (metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu"
                    and target.get("type") == "Utilization" and "averageUtilization" in target
                    and "targetCPUUtilizationPercentage" not in spec):
                spec["targetCPUUtilizationPercentage"] = target["averageUtilization"]
            else:
                other.append(_metric_spec_to_v1(metric))
        if other:
            annotations[METRICS] = other
        behavior = spec.pop("behavior", None)
        if behavior:
            annotations[BEHAVIOR] = behavior
    status = out.get("status")
    if isinstance(status, dict):
        other_current: list[Obj] = []
        for metric in status.pop("currentMetrics", None) or []:
            current = ((metric.get("resource") or {}).get("current") or {})
            if (metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu"
                    and "averageUtilization" in current and "currentCPUUtilizationPercentage" not in status):
                status["currentCPUUtilizationPercentage"] = current["averageUtilization"]
            else:
                other_current.append(_metric_status_to_v1(metric))
        if other_current:
            annotations[CURRENT_METRICS] = other_current
        conditions = status.pop("conditions", None)
        if conditions:
            annotations[CONDITIONS] = conditions
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
    if annotations:
        md = out.setdefault("metadata", {})
        md["annotations"] = {**(md.get("annotations") or {}),
                             **{k: json.dumps(v, separators=(",", ":")) for k, v in annotations.items()}}
    return out


def _metric_spec_to_v1(m: Obj) -> Obj:
    kind = m.get("type", "")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        src = m.get("resource" if kind == "Resource" else "containerResource") or {}
        target = src.get("target") or {}
        res: Obj = {"name": src.get("name", "")}
        if kind == "ContainerResource":
            res["container"] = src.get("container", "")
        if "averageUtilization" in target:
            res["targetAverageUtilization"] = target["averageUtilization"]
        if "averageValue" in target:
            res["targetAverageValue"] = target["averageValue"]
        out["resource" if kind == "Resource" else "containerResource"] = res
    elif kind == "Pods":
        src = m.get("pods") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["pods"] = _drop_none({"metricName": metric.get("name", ""), "selector": metric.get("selector"),
                                  "targetAverageValue": target.get("averageValue")})
    elif kind == "Object":
        src = m.get("object") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["object"] = _drop_none({"target": src.get("describedObject"), "metricName": metric.get("name", ""),
                                    "selector": metric.get("selector"), "targetValue": target.get("value"),
                                    "averageValue": target.get("averageValue")})
    elif kind == "External":
        src = m.get("external") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["external"] = _drop_none({"metricName": metric.get("name", ""), "metricSelector": metric.get("selector"),
                                      "targetValue": target.get("value"),
                                      "targetAverageValue": target.get("averageValue")})
    return out


def _metric_status_to_v1(m: Obj) -> Obj:
    kind = m.get("type", "")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        src = m.get("resource" if kind == "Resource" else "containerResource") or {}
        current = src.get("current") or {}
        res = _drop_none({"name": src.get("name", ""), "container": src.get("container"),
                          "currentAverageUtilization": current.get("averageUtilization"),
                          "currentAverageValue": current.get("averageValue")})
        out["resource" if kind == "Resource" else "containerResource"] = res
    elif kind == "Pods":
        src = m.get("pods") or {}
        metric, current = src.get("metric") or {}, src.get("current") or {}
        out["pods"] = _drop_none({"metricName": metric.get("name", ""), "selector": metric.get("selector"),
                                  "currentAverageValue": current.get("averageValue")})
    elif kind == "Object":
        src = m.get("object") or {}
        metric, current = src.get("metric") or {}, src.get("current") or {}
        out["object"] = _drop_none({"target": src.get("describedObject"), "metricName": metric.get("name", ""),
                                    "selector": metric.get("selector"), "currentValue": current.get("value"),
                                    "averageValue": current.get("averageValue")})
    elif kind == "External":
        src = m.get("external") or {}
        metric, current = src.get("metric") or {}, src.get("current") or {}
        out["external"] = _drop_none({"metricName": metric.get("name", ""), "metricSelector": metric.get("selector"),
                                      "currentValue": current.get("value"),
                                      "currentAverageValue": current.get("averageValue")})
    return out


# ---- autoscaling/v1 → v2 (Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler) ----

def _hpa_v1_to_v2(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    md = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    annotations = dict(md.get("annotations") or {})
    folded = {k: _loads(annotations.pop(k)) for k in _ANNOTATIONS if k in annotations}
    if md:
        if annotations:
            md["annotations"] = annotations
        else:
            md.pop("annotations", None)
    spec = out.get("spec")
    if isinstance(spec, dict):
        metrics: list[Obj] = []
        cpu = spec.pop("targetCPUUtilizationPercentage", None)
        if cpu is not None:
            metrics.append({"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}})
        metrics += [_metric_spec_to_v2(m) for m in folded.get(METRICS) or [] if isinstance(m, dict)]
        if metrics:
            spec["metrics"] = metrics
        if isinstance(folded.get(BEHAVIOR), dict):
            spec["behavior"] = folded[BEHAVIOR]
    status = out.get("status")
    if isinstance(status, dict):
        current: list[Obj] = []
        cpu_now = status.pop("currentCPUUtilizationPercentage", None)
        if cpu_now is not None:
            current.append({"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": cpu_now}}})
        current += [_metric_status_to_v2(m) for m in folded.get(CURRENT_METRICS) or [] if isinstance(m, dict)]
        if current:
            status["currentMetrics"] = current
        if isinstance(folded.get(CONDITIONS), list):
            status["conditions"] = folded[CONDITIONS]
    return out


def _metric_spec_to_v2(m: Obj) -> Obj:
    kind = m.get("type", "")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = m.get(key) or {}
        if "targetAverageUtilization" in src:
            target: Obj = {"type": "Utilization", "averageUtilization": src["targetAverageUtilization"]}
        else:
            target = _drop_none({"type": "AverageValue", "averageValue": src.get("targetAverageValue")})
        out[key] = _drop_none({"name": src.get("name", ""), "container": src.get("container"), "target": target})
    elif kind == "Pods":
        src = m.get("pods") or {}
        out["pods"] = {"metric": _drop_none({"name": src.get("metricName", ""), "selector": src.get("selector")}),
                       "target": _drop_none({"type": "AverageValue", "averageValue": src.get("targetAverageValue")})}
    elif kind == "Object":
        src = m.get("object") or {}
        value_type = "AverageValue" if src.get("averageValue") is not None else "Value"
        out["object"] = _drop_none({
            "describedObject": src.get("target"),
            "metric": _drop_none({"name": src.get("metricName", ""), "selector": src.get("selector")}),
            "target": _drop_none({"type": value_type, "value": src.get("targetValue"),
                                  "averageValue": src.get("averageValue")}),
        })
    elif kind == "External":
        src = m.get("external") or {}
        value_type = "AverageValue" if src.get("targetAverageValue") is not None else "Value"
        out["external"] = {
            "metric": _drop_none({"name": src.get("metricName", ""), "selector": src.get("metricSelector")}),
            "target": _drop_none({"type": value_type, "value": src.get("targetValue"),
                                  "averageValue": src.get("targetAverageValue")}),
        }
    return out


def _metric_status_to_v2(m: Obj) -> Obj:
    kind = m.get("type", "")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = m.get(key) or {}
        out[key] = _drop_none({"name": src.get("name", ""), "container": src.get("container"), "current": _drop_none({
            "averageUtilization": src.get("currentAverageUtilization"),
            "averageValue": src.get("currentAverageValue")})})
    elif kind == "Pods":
        src = m.get("pods") or {}
        out["pods"] = {"metric": _drop_none({"name": src.get("metricName", ""), "selector": src.get("selector")}),
                       "current": _drop_none({"averageValue": src.get("currentAverageValue")})}
    elif kind == "Object":
        src = m.get("object") or {}
        out["object"] = _drop_none({
            "describedObject": src.get("target"),
            "metric": _drop_none({"name": src.get("metricName", ""), "selector": src.get("selector")}),
            "current": _drop_none({"value": src.get("currentValue"), "averageValue": src.get("averageValue")}),
        })
    elif kind == "External":
        src = m.get("external") or {}
        out["external"] = {
            "metric": _drop_none({"name": src.get("metricName", ""), "selector": src.get("metricSelector")}),
            "current": _drop_none({"value": src.get("currentValue"), "averageValue": src.get("currentAverageValue")}),
        }
    return out


def _drop_none(d: Obj) -> Obj:
    return {k: v for k, v in d.items() if v is not None}


def _loads(text: Any) -> Any:
    """An annotation's JSON; a malformed one is dropped, as upstream ignores what it cannot unmarshal."""
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
