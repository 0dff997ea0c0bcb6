"""Drop fields the schema does not know, as the apiserver's decoder does.

The real apiserver decodes into Go structs, so an unknown field is never stored: with
fieldValidation=Strict it is refused first, with Warn it is reported, with Ignore it vanishes.
"""

from __future__ import annotations

from typing import Any

from boxk8s.resources import definitions as defs


def prune(value: Any, schema: dict[str, Any]) -> Any:
    s = defs.resolve(schema)
    if isinstance(value, dict):
        props = s.get("properties")
        extra = s.get("additionalProperties")
        if isinstance(props, dict):
            return {
                k: prune(v, props[k]) if k in props else v
                for k, v in value.items()
                if k in props or extra not in (None, False)
            }
        if isinstance(extra, dict):
            return {k: prune(v, extra) for k, v in value.items()}
        return value
    if isinstance(value, list):
        item = s.get("items")
        if isinstance(item, dict):
            return [prune(v, item) for v in value]
    return value


def prune_object(obj: dict[str, Any], definition: str) -> dict[str, Any]:
    return prune(obj, defs.definition(definition))
