"""Server-side printing: `meta.k8s.io/v1` Tables for `kubectl get`.

kubectl asks `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints whatever columns
the server sends, so the columns here are the ones a real apiserver sends. Every column is always
sent (the server prints "wide"); kubectl hides priority-1 columns unless `-o wide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from boxk8s.errors import BadRequest
from boxk8s.resources import tables_cluster as cluster
from boxk8s.resources import tables_core as core
from boxk8s.resources import tables_policy as policy
from boxk8s.resources import tables_workloads as workloads
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.tables_common import AGE, NAME, Obj, Printer, age, human_duration, name

__all__ = ["PRINTERS", "DEFAULT_PRINTER", "INCLUDE_OBJECT", "human_duration", "printer_for", "table"]

INCLUDE_OBJECT = ("None", "Metadata", "Object")


def _default_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), age(obj, now)]


DEFAULT_PRINTER = Printer((NAME, AGE), _default_row)

# Keyed by (group, kind): core/v1 Event and events.k8s.io/v1 Event print the same way.
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): workloads.POD,
    ("", "Service"): core.SERVICE,
    ("", "Endpoints"): core.ENDPOINTS,
    ("", "ConfigMap"): core.CONFIGMAP,
    ("", "Secret"): core.SECRET,
    ("", "Event"): core.EVENT,
    ("", "Namespace"): core.NAMESPACE,
    ("", "Node"): core.NODE,
    ("", "PersistentVolumeClaim"): core.PVC,
    ("", "PersistentVolume"): core.PV,
    ("", "ServiceAccount"): core.SERVICEACCOUNT,
    ("apps", "Deployment"): workloads.DEPLOYMENT,
    ("apps", "ReplicaSet"): workloads.REPLICASET,
    ("apps", "StatefulSet"): workloads.STATEFULSET,
    ("apps", "DaemonSet"): workloads.DAEMONSET,
    ("apps", "ControllerRevision"): workloads.CONTROLLERREVISION,
    ("batch", "Job"): workloads.JOB,
    ("batch", "CronJob"): workloads.CRONJOB,
    ("networking.k8s.io", "Ingress"): core.INGRESS,
    ("networking.k8s.io", "IngressClass"): core.INGRESSCLASS,
    ("coordination.k8s.io", "Lease"): core.LEASE,
    ("discovery.k8s.io", "EndpointSlice"): core.ENDPOINTSLICE,
    ("events.k8s.io", "Event"): core.EVENT,
    **cluster.PRINTERS,
    **policy.PRINTERS,
}


def printer_for(rt: ResourceType) -> Printer:
    return PRINTERS.get((rt.group, rt.kind), DEFAULT_PRINTER)


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    now: datetime | None = None,
    list_meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objects` (one row each, in order).

    include_object is the `includeObject` query parameter: None, Metadata (a
    PartialObjectMetadata per row, the default) or Object (the whole object).
    list_meta supplies resourceVersion/continue/remainingItemCount for lists.
    """
    include_object = include_object or "Metadata"
    if include_object not in INCLUDE_OBJECT:
        raise BadRequest(f'unrecognized includeObject value: "{include_object}"')
    printer = printer_for(rt)
    when = now or datetime.now(UTC)
    if printer.order is not None:
        objects = printer.order(objects)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": _table_metadata(list_meta),
        "columnDefinitions": [c.definition() for c in printer.columns],
        "rows": [_row(printer, obj, include_object, when) for obj in objects],
    }


def _table_metadata(list_meta: Mapping[str, Any] | None) -> dict[str, Any]:
    keep = ("resourceVersion", "continue", "remainingItemCount", "selfLink")
    return {k: v for k, v in (list_meta or {}).items() if k in keep and v not in (None, "")}


def _row(printer: Printer, obj: Obj, include_object: str, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": printer.row(obj, now)}
    if printer.conditions and (conditions := printer.conditions(obj)):
        row["conditions"] = conditions
    row["object"] = _row_object(obj, include_object)
    return row


def _row_object(obj: Obj, include_object: str) -> Any:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }
