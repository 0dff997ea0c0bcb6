"""Tables of custom resources and of CustomResourceDefinitions.

A custom resource prints as apiextensions-apiserver's tableconvertor does: a Name column, then the
version's additionalPrinterColumns (or, when it has none, Age from .metadata.creationTimestamp:
the handler's serveDefaultColumnsIfEmpty), each cell found by its JSONPath and shaped by its type
(cellForJSONValue: integer, number, boolean, string as the JSONPath printer prints it, date as an
age). CRDs themselves print with the default table convertor: Name and Created At.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boxk8s.resources import jsonpath
from boxk8s.resources.custom import CustomVersion, PrinterColumn
from boxk8s.resources.tables_common import CREATED_DOC, NAME, Cell, Column, Obj, Printer, human_duration, name

_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", description=CREATED_DOC)


def printer(cv: CustomVersion) -> Printer:
    cols = cv.columns or (_AGE,)
    headers = (NAME, *(Column(c.name, type=c.type, format=c.format, priority=c.priority,
                              description=c.description or
                              f"Custom resource definition column (in JSONPath format): {c.json_path}")
                       for c in cols))

    def row(obj: Obj, now: datetime) -> list[Cell]:
        return [name(obj), *(_cell(c, obj, now) for c in cols)]

    return Printer(tuple(headers), row)


def _cell(col: PrinterColumn, obj: Obj, now: datetime) -> Any:
    try:
        found = jsonpath.find(obj, col.json_path)
    except jsonpath.JSONPathError:
        return None
    if not found:
        return None
    value = found[0]
    if col.type == "string":
        return jsonpath.text(value)
    return _typed(col.type, value, now)


def _typed(kind: str, value: Any, now: datetime) -> Any:
    if value is None:
        return None
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "<invalid>"
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return human_duration(now - when)
    return None


_CREATED_AT = Column("Created At", type="date", description=CREATED_DOC)


def _crd_row(obj: Obj, now: datetime) -> list[Cell]:
    created = (obj.get("metadata") or {}).get("creationTimestamp") or ""
    return [name(obj), created]


# The default table convertor (rest.NewDefaultTableConvertor): what `kubectl get crd` shows.
CRD = Printer((NAME, _CREATED_AT), _crd_row)
