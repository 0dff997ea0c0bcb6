"""Shared pieces of server-side printing: columns, printers, ages and small formatters.

Mirrors the helpers in kubernetes `pkg/printers/internalversion/printers.go` and
apimachinery's `duration.HumanDuration`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = Mapping[str, Any]
Cell = str | int | bool | None
RowFn = Callable[[Obj, datetime], list[Cell]]

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It "
    "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
    "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
    "Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CONTAINERS_DOC = "Names of each container in the template."
IMAGES_DOC = "Images referenced by each container in the template."


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0  # 1: shown only with -o wide
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class Printer:
    """The columns of one kind and the function that fills a row (all columns, wide included)."""

    columns: tuple[Column, ...]
    row: RowFn
    conditions: Callable[[Obj], list[dict[str, str]]] | None = None
    # The order a list prints in, when the printer sorts it (printFlowSchemaList does).
    order: Callable[[list[Obj]], list[Obj]] | None = None


NAME = Column("Name", description=NAME_DOC, format="name")
AGE = Column("Age", description=CREATED_DOC)
CONTAINERS = Column("Containers", description=CONTAINERS_DOC, priority=1)
IMAGES = Column("Images", description=IMAGES_DOC, priority=1)


def col(name: str, description: str = "", *, type: str = "string", wide: bool = False) -> Column:
    return Column(name, type=type, description=description, priority=1 if wide else 0)


# --- time -------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """RFC3339 (metav1.Time) or RFC3339 with microseconds (metav1.MicroTime); None if unset."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(d: timedelta) -> str:
    """apimachinery duration.HumanDuration: 2 significant units, coarser as it grows."""
    seconds = int(d.total_seconds())  # truncates toward zero like Go's int(d.Seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return _two_units(minutes, "m", seconds % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _two_units(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def since(value: Any, now: datetime) -> str:
    """translateTimestampSince: a human age, `<unknown>` when the timestamp is unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration(now - t)


def age(obj: Obj, now: datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


# --- object access ----------------------------------------------------------------------------


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def name(obj: Obj) -> str:
    return meta(obj).get("name", "")


def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def dig(obj: Any, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(k)
    return default if obj is None else obj


def template_containers(obj: Obj) -> list[Obj]:
    return dig(obj, "spec", "template", "spec", "containers", default=[])


def layout_containers(containers: Sequence[Obj]) -> tuple[str, str]:
    """layoutContainerCells: comma-joined container names and images."""
    names = ",".join(c.get("name", "") for c in containers)
    images = ",".join(c.get("image", "") for c in containers)
    return names, images


def list_with_more(items: Sequence[str], limit: int = 3, empty: str = "<unset>") -> str:
    """The `a,b,c + 2 more...` style of listWithMoreString."""
    shown = ",".join(items[:limit])
    if len(items) > limit:
        return f"{shown} + {len(items) - limit} more..."
    return shown or empty
