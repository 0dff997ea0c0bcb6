"""Checking objects against the official Kubernetes schema, with the apiserver's own words.

The schema's part of the three layers the apiserver applies (the per-kind rules are in
`validation`):
- decoding: a value of the wrong JSON type fails the whole request with 400 BadRequest and Go's
  `json: cannot unmarshal ...` message (`decode_errors`);
- strict field validation: unknown fields, reported as `strict decoding error: unknown field
  "spec.replicass"` (`unknown_fields`, `strict_errors`) or as warnings;
- required fields the schema names (`missing_fields`), part of the 422 Invalid causes.

The schema is compiled once per definition into small `_Node` trees (cached), so walking a
ConfigMap costs a few dictionary lookups.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources.definitions import definitions, ref_name
from boxk8s.resources.field_errors import TYPE_INVALID, FieldError, required

# ---------------------------------------------------------------------------------------------
# The compiled schema.

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_QUANTITY_FMT = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_QUANTITY_RE = re.compile(_QUANTITY_FMT)
_QUANTITY_MSG = f"quantities must match the regular expression '{_QUANTITY_FMT}'"
_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
}
# `required` in the schema means "not omitempty"; only these non-string ones are rejected when absent.
_REQUIRED_STRUCTS = {
    ("io.k8s.api.core.v1.PodSpec", "containers"),
    ("io.k8s.api.apps.v1.DeploymentSpec", "selector"),
    ("io.k8s.api.apps.v1.ReplicaSetSpec", "selector"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "selector"),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "selector"),
    ("io.k8s.api.batch.v1.CronJobSpec", "jobTemplate"),
}
# Required in the schema but optional to the 1.32 apiserver.
_NOT_REQUIRED = {("io.k8s.api.apps.v1.StatefulSetSpec", "serviceName"), ("io.k8s.api.core.v1.HTTPHeader", "value")}


@dataclass(eq=False)
class _Node:
    kind: str  # object | map | array | string | integer | number | boolean | intorstring | quantity | any
    go: str  # the Go type, for decoding messages
    fmt: str = ""
    definition: str = ""  # set on nodes compiled from a named definition
    props: dict[str, _Node] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    elem: _Node | None = None  # array items / map values
    # _missing's walk: composite props (not status/metadata) -> their position in props
    walk: dict[str, int] | None = field(default=None, repr=False)


def _go_name(definition: str) -> str:
    parts = definition.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else definition


@functools.cache
def _def_node(name: str) -> _Node:
    return _compile_definition(name)


_building: dict[str, _Node] = {}


def _compile_definition(name: str) -> _Node:
    if name in _building:  # a recursive definition (JSONSchemaProps): reuse the node being built
        return _building[name]
    special = _SPECIAL.get(name)
    if special:
        return _Node(special, _go_name(name), definition=name)
    node = _Node("any", _go_name(name), definition=name)
    _building[name] = node
    try:
        schema = definitions().get(name, {})
        _fill(node, schema, name)
    finally:
        del _building[name]
    return node


def _compile(schema: dict[str, Any]) -> _Node:
    name = ref_name(schema)
    if name is not None:
        return _def_node(name)
    node = _Node("any", "interface {}")
    _fill(node, schema, "")
    return node


def _schema_type(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t if isinstance(t, str) else ""


def _fill(node: _Node, schema: dict[str, Any], name: str) -> None:
    t = _schema_type(schema)
    node.fmt = schema.get("format", "") or ""
    if t == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if isinstance(props, dict) and props:
            node.kind = "object"
            node.props = {k: _compile(v) for k, v in props.items()}
            node.required = tuple(
                r for r in schema.get("required", ())
                if (name, r) not in _NOT_REQUIRED
                and (node.props[r].kind == "string" or (name, r) in _REQUIRED_STRUCTS)
            )
        elif isinstance(extra, dict):
            node.kind = "map"
            node.elem = _compile(extra)
            node.go = "map[string]" + node.elem.go
        else:
            node.kind = "any"  # RawExtension, FieldsV1: free-form
    elif t == "array":
        node.kind = "array"
        node.elem = _compile(schema.get("items") or {})
        node.go = "[]" + node.elem.go
    elif t == "string":
        node.kind = "string"
        node.go = "[]uint8" if node.fmt == "byte" else "string"
    elif t == "integer":
        node.kind = "integer"
        node.go = node.fmt if node.fmt in _INT_RANGES else "int64"
    elif t == "number":
        node.kind = "number"
        node.go = "float64"
    elif t == "boolean":
        node.kind = "boolean"
        node.go = "bool"
    if not name and node.kind == "object":
        node.go = "struct"


def _root(definition: str) -> _Node:
    return _def_node(definition)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


# ---------------------------------------------------------------------------------------------
# Unknown fields.


def unknown_fields(obj: dict[str, Any], definition: str) -> list[str]:
    """Paths of fields the schema does not know, as the apiserver's strict decoder names them.

    e.g. `spec.replicass`, `spec.template.spec.containers[0].imagee` (no leading dot, like
    `strict decoding error: unknown field "spec.replicass"`).
    """
    out: list[str] = []
    _unknown(obj, _root(definition), "", out)
    return out


def _unknown(value: Any, node: _Node, path: str, out: list[str]) -> None:
    kind = node.kind
    if kind == "object":
        if not isinstance(value, dict):
            return
        props = node.props
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            child = props.get(k)
            if child is None:
                out.append(sub)
            elif v is not None and child.kind in ("object", "array", "map"):
                _unknown(v, child, sub, out)
    elif kind == "array":
        elem = node.elem
        if isinstance(value, list) and elem is not None and elem.kind in ("object", "array", "map"):
            for i, v in enumerate(value):
                _unknown(v, elem, f"{path}[{i}]", out)
    elif kind == "map":
        elem = node.elem
        if isinstance(value, dict) and elem is not None and elem.kind in ("object", "array", "map"):
            for k, v in value.items():
                _unknown(v, elem, f"{path}[{k}]", out)


def group_version_kind(definition: str) -> tuple[str, str, str]:
    """The (group, version, kind) a definition describes, from its x-kubernetes-group-version-kind."""
    gvks = definitions().get(definition, {}).get("x-kubernetes-group-version-kind") or [{}]
    g = gvks[0]
    kind = g.get("kind") or _go_name(definition).split(".")[-1]
    return g.get("group", ""), g.get("version", "v1"), kind


def _cannot_handle(definition: str) -> str:
    _, version, kind = group_version_kind(definition)
    return f'{kind} in version "{version}" cannot be handled as a {kind}: '


def strict_errors(obj: dict[str, Any], definition: str) -> str | None:
    """The 400 message for unknown fields under fieldValidation=Strict, or None."""
    unknown = unknown_fields(obj, definition)
    if not unknown:
        return None
    listed = ", ".join(f'unknown field "{p}"' for p in unknown)
    return _cannot_handle(definition) + "strict decoding error: " + listed


def unknown_field_warnings(obj: dict[str, Any], definition: str) -> list[str]:
    """Warning header texts for fieldValidation=Warn (the default)."""
    return [f'unknown field "{p}"' for p in unknown_fields(obj, definition)]


# ---------------------------------------------------------------------------------------------
# Type errors (decoding).


def type_errors(obj: dict[str, Any], definition: str) -> list[FieldError]:
    """Values of the wrong JSON type, in document order; message is Go's unmarshal error."""
    out: list[FieldError] = []
    root = _root(definition)
    struct = root.go.split(".")[-1]
    _types(obj, root, "", "", struct, out)
    return out


def decode_errors(obj: dict[str, Any], definition: str) -> str | None:
    """The 400 BadRequest message for the first type error, as the apiserver words it."""
    errs = type_errors(obj, definition)
    if not errs:
        return None
    return _cannot_handle(definition) + errs[0].message


def _type_error(path: str, gopath: str, struct: str, node: _Node, value: Any, shown: str = "") -> FieldError:
    jt = shown or _json_type(value)
    where = f"Go struct field {struct}.{gopath}" if gopath else "Go value"
    return FieldError(path, f"json: cannot unmarshal {jt} into {where} of type {node.go}", TYPE_INVALID)


def _types(value: Any, node: _Node, path: str, gopath: str, struct: str, out: list[FieldError]) -> None:
    if value is None:
        return
    kind = node.kind
    if kind == "object":
        if not isinstance(value, dict):
            out.append(_type_error(path, gopath, struct, node, value))
            return
        inner = node.go.split(".")[-1] if node.definition else struct
        props = node.props
        for k, v in value.items():
            child = props.get(k)
            if child is not None and v is not None:
                _types(v, child, f"{path}.{k}" if path else k, f"{gopath}.{k}" if gopath else k, inner, out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(_type_error(path, gopath, struct, node, value))
            return
        elem = node.elem
        assert elem is not None
        for k, v in value.items():
            _types(v, elem, f"{path}[{k}]", gopath, struct, out)
    elif kind == "array":
        if not isinstance(value, list):
            out.append(_type_error(path, gopath, struct, node, value))
            return
        elem = node.elem
        assert elem is not None
        for i, v in enumerate(value):
            _types(v, elem, f"{path}[{i}]", gopath, struct, out)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(_type_error(path, gopath, struct, node, value))
        elif node.fmt == "byte":
            err = _base64_error(value)
            if err:
                out.append(FieldError(path, err, TYPE_INVALID))
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(_type_error(path, gopath, struct, node, value))
        elif isinstance(value, float):  # Go refuses any number with a fraction or exponent: 2.0 too
            out.append(_type_error(path, gopath, struct, node, value, f"number {value!r}"))
        else:
            lo, hi = _INT_RANGES.get(node.go, _INT_RANGES["int64"])
            if not lo <= value <= hi:
                out.append(_type_error(path, gopath, struct, node, value, f"number {int(value)}"))
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(_type_error(path, gopath, struct, node, value))
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(_type_error(path, gopath, struct, node, value))
    elif kind == "intorstring":
        if isinstance(value, bool) or not isinstance(value, int | str):
            out.append(FieldError(
                path, f"json: cannot unmarshal {_json_type(value)} into Go value of type int32", TYPE_INVALID))
        elif isinstance(value, int) and not -(2**31) <= value < 2**31:
            out.append(FieldError(
                path, f"json: cannot unmarshal number {value} into Go value of type int32", TYPE_INVALID))
    elif kind == "quantity":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            out.append(FieldError(path, _QUANTITY_MSG, TYPE_INVALID))
        elif isinstance(value, str) and not _QUANTITY_RE.match(value):
            out.append(FieldError(path, _QUANTITY_MSG, TYPE_INVALID))


def _base64_error(value: str) -> str | None:
    try:
        binascii.a2b_base64(value.encode(), strict_mode=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pos = next((i for i, c in enumerate(value) if not (c.isascii() and (c.isalnum() or c in "+/="))), None)
        if pos is None:
            pos = len(value) - len(value) % 4 if len(value) % 4 else max(len(value) - 1, 0)
        return f"illegal base64 data at input byte {pos}"
    return None


# ---------------------------------------------------------------------------------------------
# Required fields.


def missing_fields(obj: dict[str, Any], definition: str) -> list[FieldError]:
    """Schema-required fields of `obj` that are absent or empty (skipping status and metadata)."""
    return _missing(obj, _root(definition), "")


_EMPTY = (None, "", [], {})
_COMPOSITE = ("object", "array", "map")


def _walk(n: _Node) -> dict[str, int]:
    if n.walk is None:
        n.walk = {k: i for i, (k, child) in enumerate(n.props.items())
                  if child.kind in _COMPOSITE and k not in ("status", "metadata")}
    return n.walk


def _missing(value: Any, node: _Node, path: str) -> list[FieldError]:
    """Schema-required fields that are absent or empty (skipping status and metadata)."""
    out: list[FieldError] = []
    stack: list[tuple[Any, _Node, str]] = [(value, node, path)]
    while stack:
        v, n, p = stack.pop()
        if n.kind == "object" and isinstance(v, dict):
            for r in n.required:
                if v.get(r) in _EMPTY:
                    out.append(required(f"{p}.{r}" if p else r))
            # The fields the value has (few) rather than all the schema knows (many), visited
            # in schema order as before.
            walk = n.walk if n.walk is not None else _walk(n)
            found = [(walk[k], k, sub) for k, sub in v.items() if sub is not None and k in walk]
            if len(found) > 1:
                found.sort(key=_first)
            props = n.props
            for _, k, sub in found:
                stack.append((sub, props[k], f"{p}.{k}" if p else k))
        elif n.kind == "array" and isinstance(v, list) and n.elem is not None and n.elem.kind == "object":
            for i in range(len(v) - 1, -1, -1):
                stack.append((v[i], n.elem, f"{p}[{i}]"))
        elif n.kind == "map" and isinstance(v, dict) and n.elem is not None and n.elem.kind == "object":
            for k, sub in v.items():
                stack.append((sub, n.elem, f"{p}[{k}]"))
    return out


def _first(item: tuple[int, str, Any]) -> int:
    return item[0]
