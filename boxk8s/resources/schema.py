"""Checking objects against the official Kubernetes schema, with the apiserver's own words.

Three layers, in the order the apiserver applies them:
- decoding: a value of the wrong JSON type fails the whole request with 400 BadRequest and Go's
  `json: cannot unmarshal ...` message (`decode_errors`);
- strict field validation: unknown fields, reported as `strict decoding error: unknown field
  "spec.replicass"` (`unknown_fields`, `strict_errors`) or as warnings;
- semantic validation: 422 Invalid with causes (`validate`): names, labels, required fields,
  selectors that must match templates, ports, config keys.

The schema is compiled once per definition into small `_Node` trees (cached), so walking a
ConfigMap costs a few dictionary lookups.
"""

from __future__ import annotations

import binascii
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources.definitions import definitions, ref_name
from boxk8s.resources.selectors import label_selector_matches

# metav1 CauseType strings (k8s.io/apimachinery/pkg/util/validation/field ErrorType).
REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
TOO_LONG = "FieldValueTooLong"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TYPE_INVALID = "FieldValueTypeInvalid"


@dataclass(frozen=True)
class FieldError:
    """One cause of an Invalid error; `message` is the apiserver's ErrorBody."""

    field: str
    message: str
    reason: str

    def cause(self) -> dict[str, str]:
        """The StatusCause dict `errors.invalid` takes."""
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


# ---------------------------------------------------------------------------------------------
# Go-style value rendering for field error messages.


def go_value(value: Any) -> str:
    """Render a value as field.Invalid does (%q for strings, %#v for maps, %v for numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        if not value:
            return "map[string]string(nil)"
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(value[k])}" for k in sorted(value))
        return "map[string]string{" + inner + "}"
    if value is None:
        return "null"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "Required value" + (f": {detail}" if detail else ""), REQUIRED)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    msg = f"Invalid value: {go_value(value)}"
    return FieldError(path, msg + (f": {detail}" if detail else ""), INVALID)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    quoted = ", ".join(json.dumps(s) for s in supported)
    return FieldError(path, f"Unsupported value: {go_value(value)}: supported values: {quoted}", NOT_SUPPORTED)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(path, f"Duplicate value: {go_value(value)}", DUPLICATE)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(path, f"Not found: {go_value(value)}", NOT_FOUND)


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, f"Too long: must have at most {limit} bytes", TOO_LONG)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, f"Forbidden: {detail}", FORBIDDEN)


# ---------------------------------------------------------------------------------------------
# Name and label rules (k8s.io/apimachinery/pkg/util/validation).

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"

_LABEL_RE = re.compile(_LABEL_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_DNS1035_RE = re.compile(_DNS1035_FMT)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_PORT_NAME_CHARS_RE = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER_RE = re.compile("[a-z]")


def _examples(*xs: str) -> str:
    return ",  or ".join(f"'{x}'" for x in xs)


def _regex_msg(what: str, fmt: str, *examples: str) -> str:
    return f"{what} (e.g. {_examples(*examples)}, regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _LABEL_RE.fullmatch(value):
        errs.append(_regex_msg(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character", _LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _SUBDOMAIN_RE.fullmatch(value):
        errs.append(_regex_msg(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character", _SUBDOMAIN_FMT, "example.com"))
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _DNS1035_RE.fullmatch(value):
        errs.append(_regex_msg(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character", _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def qualified_name(value: str) -> list[str]:
    """IsQualifiedName: label and annotation keys, `[prefix/]name`."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ["prefix part must be non-empty"]
        errs = dns1123_subdomain(prefix)
        if errs:
            return ["prefix part " + e for e in errs]
    else:
        return [_regex_msg(
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character", _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        return ["name part must be non-empty"]
    errs = []
    if len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _QNAME_RE.fullmatch(name):
        errs.append("name part " + _regex_msg(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character", _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(_regex_msg(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character", _LABEL_VALUE_FMT,
            "MyValue", "my_value", "12345"))
    return errs


def config_key(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _CONFIG_KEY_RE.fullmatch(value):
        errs.append(_regex_msg(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", _CONFIG_KEY_FMT,
            "key.name", "KEY_NAME", "key-name"))
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_name(value: str) -> list[str]:
    errs = []
    if not 1 <= len(value) <= 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS_RE.fullmatch(value):
        errs.append("must contain only alpha-numerics and '-'")
    if not _PORT_NAME_LETTER_RE.search(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


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


def _gvk(definition: str) -> tuple[str, str, str]:
    gvks = definitions().get(definition, {}).get("x-kubernetes-group-version-kind") or [{}]
    g = gvks[0]
    kind = g.get("kind") or _go_name(definition).split(".")[-1]
    return g.get("group", ""), g.get("version", "v1"), kind


def _cannot_handle(definition: str) -> str:
    _, version, kind = _gvk(definition)
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
# Semantic validation.


def validate(obj: dict[str, Any], definition: str) -> list[FieldError]:
    """422-style validation: metadata, schema-required fields, and per-kind rules."""
    errs: list[FieldError] = []
    _, _, kind = _gvk(definition)
    meta = obj.get("metadata")
    if isinstance(meta, dict) or meta is None:
        errs += validate_metadata(meta or {}, _NAME_RULES.get(kind, dns1123_subdomain))
    if kind == "CronJob":
        name = (meta or {}).get("name")
        if isinstance(name, str) and len(name) > 52:
            errs.append(invalid("metadata.name", name, _max_len(52)))
    errs += _missing(obj, _root(definition), "")
    check = _KIND_RULES.get(kind)
    if check is not None:
        errs += check(obj)
    return _dedupe(errs)


def _dedupe(errs: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errs:
        if (e.field, e.message) not in seen:
            seen.add((e.field, e.message))
            out.append(e)
    return out


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


# metadata ---------------------------------------------------------------------------------

_TOTAL_ANNOTATION_SIZE = 256 * 1024


def validate_metadata(meta: dict[str, Any], name_rule: Callable[[str], list[str]] = dns1123_subdomain,
                      path: str = "metadata", need_name: bool = True) -> list[FieldError]:
    errs: list[FieldError] = []
    name = meta.get("name")
    generate = meta.get("generateName")
    if isinstance(generate, str) and generate:
        masked = generate[:-1] if generate.endswith("-") else generate
        for msg in name_rule(masked) if masked else []:
            errs.append(invalid(f"{path}.generateName", generate, msg))
    if isinstance(name, str) and name:
        for msg in name_rule(name):
            errs.append(invalid(f"{path}.name", name, msg))
    elif need_name and not generate:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    ns = meta.get("namespace")
    if isinstance(ns, str) and ns:
        for msg in dns1123_label(ns):
            errs.append(invalid(f"{path}.namespace", ns, msg))
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        size = 0
        for k, v in annotations.items():
            for msg in qualified_name(k.lower()):
                errs.append(invalid(f"{path}.annotations", k, msg))
            size += len(k) + len(v if isinstance(v, str) else "")
        if size > _TOTAL_ANNOTATION_SIZE:
            errs.append(too_long(f"{path}.annotations", _TOTAL_ANNOTATION_SIZE))
    return errs


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(labels, dict):
        return errs
    for k, v in labels.items():
        for msg in qualified_name(k):
            errs.append(invalid(path, k, msg))
        if isinstance(v, str):
            for msg in label_value(v):
                errs.append(invalid(path, v, msg))
    return errs


_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "Namespace": dns1123_label,
    "Service": dns1035_label,
    "ServiceAccount": dns1123_subdomain,
}


# pods -------------------------------------------------------------------------------------

_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_PROTOCOLS = ["SCTP", "TCP", "UDP"]


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict):
                yield i, v


def validate_pod_spec(spec: Any, path: str, restart_policies: list[str] | None = None,
                      claim_volumes: Iterable[str] = ()) -> list[FieldError]:
    """`claim_volumes`: names a StatefulSet's volumeClaimTemplates add to its pods (mounts may use them)."""
    errs: list[FieldError] = []
    if not isinstance(spec, dict):
        return [required(f"{path}.containers")]
    volumes: set[str] = set()
    for i, vol in _dicts(spec.get("volumes")):
        vname = vol.get("name")
        if isinstance(vname, str) and vname:
            for msg in dns1123_label(vname):
                errs.append(invalid(f"{path}.volumes[{i}].name", vname, msg))
            if vname in volumes:
                errs.append(duplicate(f"{path}.volumes[{i}].name", vname))
            volumes.add(vname)
    names: set[str] = set()
    containers = spec.get("containers")
    if not containers:
        errs.append(required(f"{path}.containers"))
    mountable = volumes | set(claim_volumes)
    for field_name in ("initContainers", "containers"):
        for i, c in _dicts(spec.get(field_name)):
            errs += _validate_container(c, f"{path}.{field_name}[{i}]", names, mountable)
    # An absent restartPolicy is what defaulting turns into "Always".
    policy = spec.get("restartPolicy") or "Always"
    allowed = restart_policies or _RESTART_POLICIES
    if isinstance(policy, str) and policy not in allowed:
        errs.append(not_supported(f"{path}.restartPolicy", policy, allowed))
    dns = spec.get("dnsPolicy")
    if isinstance(dns, str) and dns not in _DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and not isinstance(grace, bool) and grace < 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    return errs


def _validate_container(c: dict[str, Any], path: str, names: set[str], volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    name = c.get("name")
    if not name:
        errs.append(required(f"{path}.name"))
    elif isinstance(name, str):
        for msg in dns1123_label(name):
            errs.append(invalid(f"{path}.name", name, msg))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
    image = c.get("image")
    if not image:
        errs.append(required(f"{path}.image"))
    pull = c.get("imagePullPolicy")
    if isinstance(pull, str) and pull not in _PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    port_names: set[str] = set()
    for i, p in _dicts(c.get("ports")):
        pp = f"{path}.ports[{i}]"
        cp = p.get("containerPort")
        if not cp:
            errs.append(required(f"{pp}.containerPort"))
        elif isinstance(cp, int):
            errs += [invalid(f"{pp}.containerPort", cp, m) for m in port_number(cp)]
        hp = p.get("hostPort")
        if isinstance(hp, int) and hp != 0:
            errs += [invalid(f"{pp}.hostPort", hp, m) for m in port_number(hp)]
        pname = p.get("name")
        if isinstance(pname, str) and pname:
            errs += [invalid(f"{pp}.name", pname, m) for m in port_name(pname)]
            if pname in port_names:
                errs.append(duplicate(f"{pp}.name", pname))
            port_names.add(pname)
        proto = p.get("protocol")
        if isinstance(proto, str) and proto not in _PROTOCOLS:
            errs.append(not_supported(f"{pp}.protocol", proto, _PROTOCOLS))
    for i, m in _dicts(c.get("volumeMounts")):
        mname = m.get("name")
        if isinstance(mname, str) and mname and mname not in volumes:
            errs.append(not_found(f"{path}.volumeMounts[{i}].name", mname))
    return errs


def _validate_template(template: Any, path: str, restart_policies: list[str],
                       claim_volumes: Iterable[str] = ()) -> list[FieldError]:
    if not isinstance(template, dict):
        return [required(f"{path}.spec.containers")]
    errs: list[FieldError] = []
    meta = template.get("metadata")
    if isinstance(meta, dict):
        errs += validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    errs += validate_pod_spec(template.get("spec"), f"{path}.spec", restart_policies, claim_volumes)
    return errs


# selectors ----------------------------------------------------------------------------------


_SELECTOR_OPS = ["In", "NotIn", "Exists", "DoesNotExist"]


def _validate_selector(selector: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(selector, dict):
        return errs
    errs += validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in _dicts(selector.get("matchExpressions")):
        ep = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn") and not values:
            errs.append(required(f"{ep}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist") and values:
            errs.append(forbidden(f"{ep}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        elif isinstance(op, str) and op and op not in _SELECTOR_OPS:
            errs.append(invalid(f"{ep}.operator", op, "not a valid selector operator"))
    return errs


def _workload(kind_word: str, restart: list[str], template_required: bool = True,
              ) -> Callable[[dict[str, Any]], list[FieldError]]:
    def check(obj: dict[str, Any]) -> list[FieldError]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [required("spec.selector")]
        errs: list[FieldError] = []
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas < 0:
            errs.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
        for f in ("minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
            v = spec.get(f)
            if isinstance(v, int) and not isinstance(v, bool) and v < 0:
                errs.append(invalid(f"spec.{f}", v, "must be greater than or equal to 0"))
        selector = spec.get("selector")
        if isinstance(selector, dict):
            errs += _validate_selector(selector, "spec.selector")
            if not selector.get("matchLabels") and not selector.get("matchExpressions"):
                errs.append(FieldError(
                    "spec.selector",
                    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
                    f"empty selector is invalid for {kind_word}",
                    INVALID,
                ))
        template = spec.get("template")
        if template is None and not template_required:
            return errs
        labels = ((template or {}).get("metadata") or {}).get("labels") or {}
        if not isinstance(selector, dict) or not label_selector_matches(selector, labels):
            errs.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
        claims = [(c.get("metadata") or {}).get("name") for _, c in _dicts(spec.get("volumeClaimTemplates"))]
        errs += _validate_template(template, "spec.template", restart, [c for c in claims if isinstance(c, str)])
        return errs

    return check


def _validate_job_spec(spec: Any, path: str) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(f"{path}.template")]
    errs: list[FieldError] = []
    for f in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"):
        v = spec.get(f)
        if isinstance(v, int) and not isinstance(v, bool) and v < 0:
            errs.append(invalid(f"{path}.{f}", v, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template")
    if spec.get("manualSelector") is True or isinstance(selector, dict):
        labels = ((template or {}).get("metadata") or {}).get("labels") or {}
        if isinstance(selector, dict) and not label_selector_matches(selector, labels):
            errs.append(invalid(f"{path}.template.metadata.labels", labels,
                                "`selector` does not match template `labels`"))
    errs += _validate_template(template, f"{path}.template", ["OnFailure", "Never"])
    return errs


def _check_job(obj: dict[str, Any]) -> list[FieldError]:
    return _validate_job_spec(obj.get("spec"), "spec")


_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _check_cronjob(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec.schedule")]
    errs: list[FieldError] = []
    schedule = spec.get("schedule")
    if isinstance(schedule, str) and schedule:
        fields = schedule.split()
        if fields and fields[0].startswith(("TZ=", "CRON_TZ=")):
            errs.append(invalid("spec.schedule", schedule,
                                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
        elif not (len(fields) == 5 or (len(fields) == 1 and fields[0] in _CRON_MACROS)
                  or (len(fields) == 2 and fields[0] == "@every")):
            errs.append(invalid("spec.schedule", schedule,
                                f"expected exactly 5 fields, found {len(fields)}: {schedule}"))
    policy = spec.get("concurrencyPolicy")
    allowed = ["Allow", "Forbid", "Replace"]
    if isinstance(policy, str) and policy not in allowed:
        errs.append(not_supported("spec.concurrencyPolicy", policy, allowed))
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        errs += _validate_job_spec(job_template.get("spec"), "spec.jobTemplate.spec")
    return errs


def _check_pod(obj: dict[str, Any]) -> list[FieldError]:
    return validate_pod_spec(obj.get("spec"), "spec")


_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_AFFINITIES = ["ClientIP", "None"]


def _check_service(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    errs: list[FieldError] = []
    stype = spec.get("type") or "ClusterIP"
    if stype not in _SERVICE_TYPES:
        errs.append(not_supported("spec.type", stype, _SERVICE_TYPES))
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if not ports and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))
    if stype == "ExternalName" and not spec.get("externalName"):
        errs.append(required("spec.externalName"))
    names: set[str] = set()
    for i, p in _dicts(ports):
        pp = f"spec.ports[{i}]"
        pname = p.get("name")
        if len(ports) > 1 and not pname:
            errs.append(required(f"{pp}.name"))
        elif isinstance(pname, str) and pname:
            errs += [invalid(f"{pp}.name", pname, m) for m in dns1123_label(pname)]
            if pname in names:
                errs.append(duplicate(f"{pp}.name", pname))
            names.add(pname)
        port = p.get("port")
        if isinstance(port, int) and not isinstance(port, bool):
            errs += [invalid(f"{pp}.port", port, m) for m in port_number(port)]
        elif port is None:
            errs.append(invalid(f"{pp}.port", 0, "must be between 1 and 65535, inclusive"))
        proto = p.get("protocol")
        if isinstance(proto, str) and proto not in _PROTOCOLS:
            errs.append(not_supported(f"{pp}.protocol", proto, _PROTOCOLS))
        target = p.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool) and target != 0:
            errs += [invalid(f"{pp}.targetPort", target, m) for m in port_number(target)]
        elif isinstance(target, str) and target and not target.isdigit():
            errs += [invalid(f"{pp}.targetPort", target, m) for m in port_name(target)]
        node_port = p.get("nodePort")
        if node_port and stype not in ("NodePort", "LoadBalancer"):
            errs.append(forbidden(f"{pp}.nodePort", "may not be used when `type` is 'ClusterIP'"))
    affinity = spec.get("sessionAffinity")
    if isinstance(affinity, str) and affinity not in _AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", affinity, _AFFINITIES))
    errs += validate_labels(spec.get("selector"), "spec.selector")
    return errs


_MAX_DATA = 1024 * 1024


def _check_data(kind: str) -> Callable[[dict[str, Any]], list[FieldError]]:
    def check(obj: dict[str, Any]) -> list[FieldError]:
        errs: list[FieldError] = []
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        other_field = "binaryData" if kind == "ConfigMap" else "stringData"
        other = obj.get(other_field) if isinstance(obj.get(other_field), dict) else {}
        total = 0
        for fname, mapping in (("data", data), (other_field, other)):
            for key, value in mapping.items():
                errs += [invalid(f"{fname}[{key}]", key, m) for m in config_key(key)]
                total += len(key) + (len(value) if isinstance(value, str) else 0)
        if kind == "ConfigMap":
            for key in data:
                if key in other:
                    errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
            if total > _MAX_DATA:
                errs.append(too_long("", _MAX_DATA))
        elif total > _MAX_DATA:
            errs.append(too_long("data", _MAX_DATA))
        return errs

    return check


def _check_namespace(obj: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, f in enumerate(((obj.get("spec") or {}).get("finalizers")) or []):
        if isinstance(f, str) and "/" not in f and f != "kubernetes":
            errs.append(invalid(f"spec.finalizers[{i}]", f,
                                "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


_KIND_RULES: dict[str, Callable[[dict[str, Any]], list[FieldError]]] = {
    "Pod": _check_pod,
    "Deployment": _workload("deployment", ["Always"]),
    "ReplicaSet": _workload("deployment", ["Always"], template_required=False),
    "StatefulSet": _workload("statefulset", ["Always"]),
    "DaemonSet": _workload("daemonset", ["Always"]),
    "Job": _check_job,
    "CronJob": _check_cronjob,
    "Service": _check_service,
    "ConfigMap": _check_data("ConfigMap"),
    "Secret": _check_data("Secret"),
    "Namespace": _check_namespace,
}
