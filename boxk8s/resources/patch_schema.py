"""Per-field patch metadata read from the official definitions.

Strategic merge patch and server-side apply both need, for each field, its patch strategy and
merge key (`x-kubernetes-patch-*`) and its list type (`x-kubernetes-list-*`). The extensions may
sit on the property itself (DeploymentSpec.strategy is a `$ref` carrying `retainKeys`) or on the
referenced schema, so the property is read before it is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boxk8s.resources import custom, definitions
from boxk8s.resources.patch_errors import PatchError

Schema = dict[str, Any]


@dataclass(frozen=True)
class FieldMeta:
    schema: Schema  # the resolved schema of the field's value; {} when unknown
    strategies: frozenset[str]  # e.g. {"merge", "retainKeys"}
    merge_key: str
    list_type: str  # "atomic", "set", "map" or "" when not declared
    map_keys: tuple[str, ...]

    @property
    def strategy(self) -> str:
        """The list/map strategy without retainKeys: "merge", "replace" or ""."""
        for name in ("merge", "replace"):
            if name in self.strategies:
                return name
        return ""

    @property
    def retain_keys(self) -> bool:
        return "retainKeys" in self.strategies


NO_META = FieldMeta({}, frozenset(), "", "", ())


def root_schema(definition: str) -> Schema:
    """The schema of a top-level definition; "" means schemaless (custom resources)."""
    if not definition:
        return {}
    cv = custom.lookup(definition)
    if cv is not None:  # a custom resource: its structural schema (with ObjectMeta as metadata)
        return cv.patch_schema
    try:
        return definitions.definition(definition)
    except KeyError as e:
        raise PatchError(f"unknown definition {definition!r}") from e


def _extension(raw: Schema, resolved: Schema, name: str) -> Any:
    return raw.get(name, resolved.get(name))


# _meta_of's answers by schema node: the nodes are the definitions' and the CRDs' (never changed once
# built); the node is kept with its answer, so that its id cannot be another's while cached.
_METAS: dict[int, tuple[Schema, FieldMeta]] = {}
_FIELDS: dict[tuple[int, str], tuple[Schema, FieldMeta]] = {}
_METAS_MAX = 65_536


def field_meta(parent: Schema, key: str) -> FieldMeta:
    """Metadata of property `key` of the object (or map) schema `parent` (remembered per node and key:
    every write that records managedFields asks it for each field it sets)."""
    hit = _FIELDS.get((id(parent), key))
    if hit is not None and hit[0] is parent:
        return hit[1]
    meta = _field_meta(parent, key)
    if len(_FIELDS) >= _METAS_MAX:
        _FIELDS.clear()
    _FIELDS[(id(parent), key)] = (parent, meta)
    return meta


def _field_meta(parent: Schema, key: str) -> FieldMeta:
    s = definitions.resolve(parent)
    props = s.get("properties")
    raw: Any = None
    if isinstance(props, dict) and key in props:
        raw = props[key]
    elif isinstance(s.get("additionalProperties"), dict):
        raw = s["additionalProperties"]
    if not isinstance(raw, dict):
        return NO_META
    return _meta_of(raw)


def item_meta(list_schema: Schema) -> FieldMeta:
    """Metadata of the items of an array schema (items never carry strategies in k8s)."""
    it = definitions.resolve(list_schema).get("items")
    return _meta_of(it) if isinstance(it, dict) else NO_META



def _meta_of(raw: Schema) -> FieldMeta:
    hit = _METAS.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    meta = _build_meta(raw)
    if len(_METAS) >= _METAS_MAX:
        _METAS.clear()
    _METAS[id(raw)] = (raw, meta)
    return meta


def _build_meta(raw: Schema) -> FieldMeta:
    resolved = definitions.resolve(raw)
    strategy = _extension(raw, resolved, "x-kubernetes-patch-strategy") or ""
    keys = _extension(raw, resolved, "x-kubernetes-list-map-keys") or []
    return FieldMeta(
        schema=resolved,
        strategies=frozenset(s.strip() for s in str(strategy).split(",") if s.strip()),
        merge_key=str(_extension(raw, resolved, "x-kubernetes-patch-merge-key") or ""),
        list_type=str(_extension(raw, resolved, "x-kubernetes-list-type") or ""),
        map_keys=tuple(str(k) for k in keys),
    )
