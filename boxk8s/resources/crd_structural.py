"""Structural schemas of custom resources: compiled once, then pruning and defaulting.

Follows apiextensions-apiserver/pkg/apiserver/schema: `pruning/algorithm.go` (drop what the schema
does not specify, except under `x-kubernetes-preserve-unknown-fields`, and keep apiVersion, kind
and metadata at the root and in embedded resources; the dropped paths, sorted, are what
fieldValidation=Strict refuses and Warn reports), `defaulting/prunenulls.go` (a null where the
schema is neither nullable nor defaulted is dropped), and `defaulting/algorithm.go` (defaults fill
absent properties and non-nullable nulls, then defaulting descends into what is there).
Values are plain JSON (dicts, lists, scalars); pruning builds new containers and never changes
its input.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))
_MISSING: Any = object()

CONTAINERS = (dict, list)  # a tuple: `dict | list` builds a union object at every call
NUMBERS = (int, float)


@dataclass(eq=False)
class SNode:
    """One schema node. `type` is "" when the schema names none (int-or-string, preserve-unknown)."""

    type: str = ""
    props: dict[str, SNode] = field(default_factory=dict)
    additional: SNode | None = None  # additionalProperties as a schema
    additional_any: bool = False  # additionalProperties: true (keys kept, values pruned as unknown)
    items: SNode | None = None
    preserve: bool = False  # x-kubernetes-preserve-unknown-fields
    embedded: bool = False  # x-kubernetes-embedded-resource
    int_or_string: bool = False  # x-kubernetes-int-or-string
    nullable: bool = False
    default: Any = _MISSING
    defaulted: tuple[tuple[str, SNode], ...] = ()  # the properties that have a default
    required: tuple[str, ...] = ()
    enum: list[Any] | None = None
    format: str = ""
    pattern: str = ""
    regex: re.Pattern[str] | None = None
    pattern_error: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_properties: int | None = None
    max_properties: int | None = None
    list_type: str = ""
    map_keys: tuple[str, ...] = ()
    rules: tuple[dict[str, Any], ...] = ()  # x-kubernetes-validations
    all_of: tuple[SNode, ...] = ()
    any_of: tuple[SNode, ...] = ()
    one_of: tuple[SNode, ...] = ()
    not_: SNode | None = None
    # Whether this subtree holds what only the second validation walk checks (embedded resources,
    # set and map lists, CEL rules), so that walk can skip what has none.
    extras: bool = False
    # Whether this subtree has defaults anywhere: defaulting skips the rest.
    has_defaults: bool = False
    descend: tuple[tuple[str, SNode], ...] = ()  # the properties whose own subtrees have defaults
    extras_props: tuple[tuple[str, SNode], ...] = ()  # the properties whose subtrees have `extras`
    cel: Any = field(default=None, repr=False)  # compiled CEL programs (crd_cel), per rule
    # crd_validation's fast test of a scalar that passes every check (False: none; None: not built yet)
    quick: Any = field(default=None, repr=False)
    quicks: Any = field(default=None, repr=False)  # the properties' quick tests, by name (built with them)

    @property
    def type_names(self) -> tuple[str, ...]:
        if self.int_or_string:
            return ("integer", "string")
        return (self.type,) if self.type else ()

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


def compile_schema(schema: dict[str, Any] | None) -> SNode:
    """The structural schema of a CRD version (openAPIV3Schema), compiled for the walks."""
    return _compile(schema or {})


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, NUMBERS) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _compile(s: dict[str, Any]) -> SNode:
    if not isinstance(s, dict):
        return SNode()
    n = SNode(
        type=s.get("type") if isinstance(s.get("type"), str) else "",
        preserve=s.get("x-kubernetes-preserve-unknown-fields") is True,
        embedded=s.get("x-kubernetes-embedded-resource") is True,
        int_or_string=s.get("x-kubernetes-int-or-string") is True,
        nullable=s.get("nullable") is True,
        required=tuple(r for r in s.get("required") or () if isinstance(r, str)),
        enum=list(s["enum"]) if isinstance(s.get("enum"), list) else None,
        format=s.get("format") if isinstance(s.get("format"), str) else "",
        minimum=_num(s.get("minimum")),
        maximum=_num(s.get("maximum")),
        exclusive_minimum=s.get("exclusiveMinimum") is True,
        exclusive_maximum=s.get("exclusiveMaximum") is True,
        multiple_of=_num(s.get("multipleOf")),
        min_length=_int(s.get("minLength")),
        max_length=_int(s.get("maxLength")),
        min_items=_int(s.get("minItems")),
        max_items=_int(s.get("maxItems")),
        min_properties=_int(s.get("minProperties")),
        max_properties=_int(s.get("maxProperties")),
        list_type=s.get("x-kubernetes-list-type") if isinstance(s.get("x-kubernetes-list-type"), str) else "",
        map_keys=tuple(k for k in s.get("x-kubernetes-list-map-keys") or () if isinstance(k, str)),
        rules=tuple(r for r in s.get("x-kubernetes-validations") or () if isinstance(r, dict) and r.get("rule")),
    )
    if "default" in s:
        n.default = s["default"]
    pattern = s.get("pattern")
    if isinstance(pattern, str) and pattern:
        n.pattern = pattern
        try:
            n.regex = re.compile(pattern)
        except re.error as e:
            n.pattern_error = str(e)
    props = s.get("properties")
    if isinstance(props, dict):
        n.props = {k: _compile(v) for k, v in props.items() if isinstance(v, dict)}
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        n.additional = _compile(extra)
    elif extra is True:
        n.additional_any = True
    items = s.get("items")
    if isinstance(items, dict):
        n.items = _compile(items)
    n.all_of = tuple(_compile(x) for x in s.get("allOf") or () if isinstance(x, dict))
    n.any_of = tuple(_compile(x) for x in s.get("anyOf") or () if isinstance(x, dict))
    n.one_of = tuple(_compile(x) for x in s.get("oneOf") or () if isinstance(x, dict))
    if isinstance(s.get("not"), dict):
        n.not_ = _compile(s["not"])
    n.defaulted = tuple((k, c) for k, c in n.props.items() if c.has_default)
    n.descend = tuple((k, c) for k, c in n.props.items()
                      if any(x.has_defaults for x in (*c.props.values(), c.additional, c.items) if x is not None))
    children = [*n.props.values(), *(c for c in (n.additional, n.items) if c is not None)]
    n.has_defaults = n.has_default or any(c.has_defaults for c in children)
    n.extras = (n.embedded or bool(n.rules) or n.list_type in ("set", "map")
                or any(c.extras for c in children))
    n.extras_props = tuple((k, c) for k, c in n.props.items() if c.extras)
    return n


# ---------------------------------------------------------------------------------------------
# Pruning (pruning/algorithm.go + defaulting/prunenulls.go)


def prune(obj: dict[str, Any], root: SNode, unknown: list[str] | None = None) -> dict[str, Any]:
    """`obj` without the fields `root` does not specify (a new object). The paths of the dropped
    fields are appended to `unknown` when given (e.g. `spec.foo`, `spec.items[0].bar`), sorted. At
    the root, as in any embedded resource, apiVersion, kind and metadata are kept as they are."""
    out = _prune_map(obj, root, "", unknown, skip=root.preserve, embedded=True)
    if unknown is not None:
        unknown.sort()
    return out


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(x: Any, s: SNode | None, path: str, unknown: list[str] | None) -> Any:
    if s is not None and s.preserve:
        return _skip(x, s, path, unknown)
    if isinstance(x, dict):
        if s is None:
            if unknown is not None:
                unknown.extend(_key(path, k) for k in x)
            return {}
        return _prune_map(x, s, path, unknown, skip=False, embedded=s.embedded)
    if isinstance(x, list):
        items = s.items if s is not None else None
        return [_prune(v, items, f"{path}[{i}]", unknown) for i, v in enumerate(x)]
    return x


def _skip(x: Any, s: SNode | None, path: str, unknown: list[str] | None) -> Any:
    """skipPrune: unknown fields stay, the specified ones are pruned by their schemas."""
    if s is None:
        return x
    if isinstance(x, dict):
        if not s.props and s.additional is None and not s.embedded:
            return x  # nothing specified below: everything stays as sent (nulls too)
        return _prune_map(x, s, path, unknown, skip=True, embedded=s.embedded)
    if isinstance(x, list):
        return [_skip(v, s.items, f"{path}[{i}]", unknown) for i, v in enumerate(x)]
    return x


def _prune_map(x: dict[str, Any], s: SNode, path: str, unknown: list[str] | None, *, skip: bool,
               embedded: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    props = s.props
    for k, v in x.items():
        if embedded and k in META_FIELDS:
            out[k] = v
            continue
        child = props.get(k) or s.additional
        if child is not None:
            if v is None and not child.nullable and not child.has_default:
                continue  # PruneNonNullableNullsWithoutDefaults
            out[k] = _prune(v, child, _key(path, k), unknown) if isinstance(v, CONTAINERS) else v
        elif s.additional_any:  # additionalProperties: true: the key stays, its content has no schema
            out[k] = _prune(v, None, _key(path, k), unknown)
        elif skip:
            out[k] = v
        elif unknown is not None:
            unknown.append(_key(path, k))
    return out


# ---------------------------------------------------------------------------------------------
# Defaulting (defaulting/algorithm.go)


def default(obj: Any, s: SNode | None) -> None:
    """Fill defaults in place: absent properties and non-nullable nulls get a copy of their default."""
    if s is None or not s.has_defaults:
        return
    if isinstance(obj, dict):
        for k, prop in s.defaulted:
            current = obj.get(k, _MISSING)
            if current is _MISSING or (current is None and not prop.nullable):
                obj[k] = copy.deepcopy(prop.default)
        for k, child in s.descend:  # only where something below has a default
            v = obj.get(k)
            if isinstance(v, CONTAINERS):
                default(v, child)
        extra = s.additional
        if extra is not None and extra.has_defaults:
            props = s.props
            for k, v in obj.items():
                if k in props:
                    continue
                if v is None and not extra.nullable and extra.has_default:
                    obj[k] = v = copy.deepcopy(extra.default)
                default(v, extra)
    elif isinstance(obj, list):
        it = s.items
        if it is None:
            return
        for i, v in enumerate(obj):
            if v is None and not it.nullable and it.has_default:
                obj[i] = v = copy.deepcopy(it.default)
            default(v, it)


def embedded_paths(root: SNode) -> bool:
    """Whether any embedded resource is specified below the root (their metadata is coerced)."""
    return _has_embedded(root)


def _has_embedded(s: SNode) -> bool:
    for c in (*s.props.values(), *(x for x in (s.additional, s.items) if x is not None)):
        if c.embedded or _has_embedded(c):
            return True
    return False
