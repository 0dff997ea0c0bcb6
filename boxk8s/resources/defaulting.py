"""The three moves every defaulter makes (defaults.py for the core and workload kinds, defaults_kinds.py
for the rest): fill an absent field, reach a nested object, walk a list of objects."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def set_default(d: Obj, key: str, value: Any) -> Any:
    """d[key] = value unless present (and not null): a Go pointer field's `if x == nil`; returns d[key]."""
    if d.get(key) is None:
        d[key] = value
    return d[key]


def child_dict(d: Obj, key: str) -> Obj:
    """d[key], made an empty object first when it is absent or not an object."""
    v = d.get(key)
    if not isinstance(v, dict):
        v = {}
        d[key] = v
    return v


def dict_list(value: Any) -> list[Obj]:
    """The objects of a list (nothing when it is not a list)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
