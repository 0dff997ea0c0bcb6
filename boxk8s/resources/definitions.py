"""The official Kubernetes 1.32 object definitions, as shipped by the kubernetes-validate package.

They carry the OpenAPI extensions we need: x-kubernetes-group-version-kind, and
x-kubernetes-patch-merge-key / x-kubernetes-patch-strategy / x-kubernetes-list-type for
strategic merge patch. Types are JSON-schema style (`"type": ["string", "null"]`), references
are `{"$ref": "#/$defs/<name>"}`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "v1.32.0"
REF_PREFIX = "#/$defs/"


@functools.cache
def definitions() -> dict[str, dict[str, Any]]:
    # The package's folder, found without importing it: its __init__ imports jsonschema (45 ms at start).
    spec = importlib.util.find_spec("kubernetes_validate")
    assert spec is not None and spec.submodule_search_locations, "kubernetes-validate is not installed"
    root = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema" / f"{KUBERNETES_VERSION}-local"
    with (root / "_definitions.json").open("rb") as f:
        return json.load(f)["$defs"]


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        return ref[len(REF_PREFIX):]
    return None


def resolve(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Follow `$ref`s until a concrete schema; {} for None or an unknown reference."""
    seen = 0
    while schema is not None and seen < 16:
        name = ref_name(schema)
        if name is None:
            return schema
        schema = definitions().get(name)
        seen += 1
    return schema or {}


def definition(name: str) -> dict[str, Any]:
    return definitions()[name]


def child(schema: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """The schema of property `key` of an object schema (or of a map value), resolved."""
    s = resolve(schema)
    props = s.get("properties")
    if isinstance(props, dict) and key in props:
        return resolve(props[key])
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        return resolve(extra)
    return {}


def items(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The schema of the items of an array schema, resolved."""
    s = resolve(schema)
    it = s.get("items")
    return resolve(it) if isinstance(it, dict) else {}


def types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows, without "null" (None for a oneOf like IntOrString)."""
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if x != "null"}
    if "oneOf" in schema:
        out: set[str] = set()
        for alt in schema["oneOf"]:
            out |= types(resolve(alt))
        return out
    return set()
