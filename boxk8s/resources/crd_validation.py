"""Validation of custom resources against their CRD version, with the apiserver's messages.

The steps of apiextensions-apiserver's customResourceStrategy.Validate (registry/customresource/
strategy.go, validator.go), in order:
- metadata, as every object's (ValidateObjectMetaAccessor);
- the OpenAPI schema, as kube-openapi's SchemaValidator words it and kubeOpenAPIResultToFieldErrors
  turns it into field errors (apiserver/validation/validation.go): e.g. `spec.replicas: Invalid
  value: "string": spec.replicas in body must be of type integer: "string"`, `spec.size:
  Unsupported value: "huge": supported values: "small", "large"`, `spec.name: Invalid value: "A":
  spec.name in body should match '^[a-z]+$'`, `spec.image: Required value`;
- the scale subresource's paths (ValidateScaleSpec/Status);
- embedded resources' apiVersion, kind and metadata (schema/objectmeta/validation.go);
- list-type set and map uniqueness (schema/listtype/validation.go);
- x-kubernetes-validations CEL rules (crd_cel.py).
The schema walk names paths as kube-openapi does (`spec.labels.app` for a map entry); the later
steps as field.Path does (`spec.labels[app]`).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
import uuid
from datetime import datetime
from typing import Any

from boxk8s.resources import crd_cel
from boxk8s.resources.crd_structural import CONTAINERS, NUMBERS, SNode
from boxk8s.resources.custom import CustomVersion
from boxk8s.resources.field_errors import (
    INVALID,
    TYPE_INVALID,
    FieldError,
    duplicate,
    go_value,
    invalid,
    not_supported,
    required,
    too_long,
)
from boxk8s.resources.names import dns1035_label, dns1123_subdomain
from boxk8s.resources.validation_common import validate_metadata

TOO_MANY = "FieldValueTooMany"
MAX_INT32 = 2**31 - 1


def validate(obj: dict[str, Any], cv: CustomVersion, old: dict[str, Any] | None = None) -> list[FieldError]:
    """All the errors of a custom resource about to be stored (`old`: the stored one on an update,
    which transition rules compare with)."""
    errs: list[FieldError] = []
    md = obj.get("metadata")
    errs += validate_metadata(md if isinstance(md, dict) else {}, dns1123_subdomain)
    check_value(obj, cv.root, "", errs, root=True)
    if cv.scale is not None:
        errs += scale_errors(obj, cv)
    if cv.root.extras:
        _extras(obj, cv.root, "", errs, old if old is not None else crd_cel.NO_OLD, root=True,
                mode="all" if old is not None else "plain")
    return errs


def transition_errors(obj: dict[str, Any], cv: CustomVersion, old: dict[str, Any]) -> list[FieldError]:
    """The errors of the transition rules only (those naming oldSelf), comparing with `old`."""
    if not cv.root.extras:
        return []
    errs: list[FieldError] = []
    _extras(obj, cv.root, "", errs, old, root=True, mode="transitions")
    return errs


# ---------------------------------------------------------------------------------------------
# The schema (kube-openapi validate), paths as kube-openapi names them.


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def go_float(f: float) -> str:
    """Go's %v of a float64: the shortest repr, in e-notation from 1e+06 (and below 1e-04)."""
    if f == 0:
        return "0"
    if math.isinf(f) or math.isnan(f):
        return "+Inf" if f > 0 else ("-Inf" if f < 0 else "NaN")
    r = repr(float(f))
    mantissa, _, exp_part = r.partition("e")
    neg = mantissa.startswith("-")
    mantissa = mantissa.lstrip("-")
    int_part, _, frac = mantissa.partition(".")
    digits = (int_part + frac).lstrip("0")
    lead_zeros = len(int_part + frac) - len((int_part + frac).lstrip("0"))
    exp10 = len(int_part) - 1 + (int(exp_part) if exp_part else 0) - lead_zeros
    digits = digits.rstrip("0") or "0"
    sign = "-" if neg else ""
    if exp10 < -4 or exp10 >= 6:  # strconv's shortest %g decides with precision 6
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'+' if exp10 >= 0 else '-'}{abs(exp10):02d}"
    if exp10 >= 0:
        whole = digits[: exp10 + 1].ljust(exp10 + 1, "0")
        rest = digits[exp10 + 1:]
        return sign + whole + ("." + rest if rest else "")
    return sign + "0." + "0" * (-exp10 - 1) + digits


def _num_text(bound: float, value: Any) -> str:
    """A bound as kube-openapi prints it: an int64 for integer data, a float64 otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(bound))
    return go_float(bound)


def _type_error(path: str, value: Any, expected: str, shown: str) -> FieldError:
    detail = f"{path} in body must be of type {expected}: {json.dumps(shown)}"
    return FieldError(path, f"Invalid value: {go_value(value)}: {detail}", TYPE_INVALID)


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(path, f"Invalid value: {go_value(value)}: {detail}", INVALID)


def _too_many(path: str, actual: int, limit: int) -> FieldError:
    return FieldError(path, f"Too many: {actual}: must have at most {limit} items", TOO_MANY)


def _sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_value(value: Any, s: SNode, path: str, errs: list[FieldError], root: bool = False) -> None:
    """One node: type, value validations, then the children (kube-openapi's SchemaValidator)."""
    if value is None:
        if (s.type or s.int_or_string) and not s.nullable:
            name = ",".join(s.type_names)
            errs.append(_type_error(path, "null", name, "null"))
        if s.enum is not None and None not in s.enum:
            errs.append(not_supported(path, None, [_enum_text(v) for v in s.enum]))
        return
    names = s.type_names
    if names:
        jt = _json_type(value)
        ok = jt in names or (jt == "number" and "integer" in names and float(value).is_integer()) or (
            jt == "integer" and "number" in names)
        if not ok:
            errs.append(_type_error(path, jt, ",".join(names), jt))
            return
    if s.all_of or s.any_of or s.one_of or s.not_ is not None:
        _junctors(value, s, path, errs)
    if isinstance(value, str):
        _check_string(value, s, path, errs)
    elif isinstance(value, NUMBERS) and not isinstance(value, bool):
        _check_number(value, s, path, errs)
    elif isinstance(value, list):
        _check_list(value, s, path, errs)
    if s.enum is not None and not _in_enum(value, s.enum):
        errs.append(not_supported(path, value, [_enum_text(v) for v in s.enum]))
    if isinstance(value, dict):
        _check_object(value, s, path, errs, root)


def _enum_text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def _in_enum(value: Any, enum: list[Any]) -> bool:
    for e in enum:
        if value == e and isinstance(value, bool) == isinstance(e, bool):
            return True
    return False


def _check_string(value: str, s: SNode, path: str, errs: list[FieldError]) -> None:
    if s.max_length is not None and len(value) > s.max_length:
        errs.append(too_long(path, s.max_length))
    elif s.min_length is not None and len(value) < s.min_length:
        errs.append(_invalid(path, value, f"{path} in body should be at least {s.min_length} chars long"))
    elif s.pattern:
        if s.regex is None:
            errs.append(_invalid(path, value, f"{path} in body should match '{s.pattern}, but pattern is invalid: "
                                              f"{s.pattern_error}'"))
        elif not s.regex.search(value):
            errs.append(_invalid(path, value, f"{path} in body should match '{s.pattern}'"))
    if s.format and not _format_ok(s.format, value):
        errs.append(_type_error(path, value, s.format, value))


def _check_number(value: int | float, s: SNode, path: str, errs: list[FieldError]) -> None:
    if s.multiple_of is not None and s.multiple_of > 0:
        factor = s.multiple_of
        if isinstance(value, int) and float(factor).is_integer():
            bad = value % int(factor) != 0
        else:
            q = (1 / factor * value) if factor < 1 else (value / factor)
            bad = not float(q).is_integer()
        if bad:
            errs.append(_invalid(path, value, f"{path} in body should be a multiple of {_num_text(factor, value)}"))
    if s.minimum is not None:
        low = int(s.minimum) if isinstance(value, int) else s.minimum
        if value < low or (s.exclusive_minimum and value <= low):
            word = "greater than" if s.exclusive_minimum else "greater than or equal to"
            errs.append(_invalid(path, value, f"{path} in body should be {word} {_num_text(s.minimum, value)}"))
    if s.maximum is not None:
        high = int(s.maximum) if isinstance(value, int) else s.maximum
        if value > high or (s.exclusive_maximum and value >= high):
            word = "less than" if s.exclusive_maximum else "less than or equal to"
            errs.append(_invalid(path, value, f"{path} in body should be {word} {_num_text(s.maximum, value)}"))


def _check_list(value: list[Any], s: SNode, path: str, errs: list[FieldError]) -> None:
    items = s.items
    if items is not None:
        quick = items.quick if items.quick is not None else _quick(items)
        for i, v in enumerate(value):
            if quick and quick(v):
                continue
            check_value(v, items, f"{path}[{i}]", errs)
    if s.min_items is not None and len(value) < s.min_items:
        errs.append(_invalid(path, len(value), f"{path} in body should have at least {s.min_items} items"))
    if s.max_items is not None and len(value) > s.max_items:
        errs.append(_too_many(path, len(value), s.max_items))


def _check_object(value: dict[str, Any], s: SNode, path: str, errs: list[FieldError], root: bool) -> None:
    n = len(value)
    if s.min_properties is not None and n < s.min_properties:
        errs.append(_invalid(path, n, f"{path} in body should have at least {s.min_properties} properties"))
        return
    if s.max_properties is not None and n > s.max_properties:
        errs.append(_too_many(path, n, s.max_properties))
        return
    props = s.props
    extra = s.additional
    quicks = s.quicks if s.quicks is not None else _quicks(s)
    for k, v in value.items() if props or extra is not None else ():  # nothing to check below: no walk
        passes = quicks.get(k)
        if passes is not None and passes(v):
            continue  # a scalar that passes every check: no path to build, nothing to report
        child = props.get(k)
        if child is not None:
            if root and k in ("apiVersion", "kind", "metadata"):
                if k == "metadata":
                    _check_root_metadata(v, child, errs)
                continue
        elif extra is not None:
            child = extra
        else:
            continue
        quick = child.quick if child.quick is not None else _quick(child)
        if quick and quick(v):
            continue  # a scalar that passes every check: no path to build, nothing to report
        check_value(v, child, _sub(path, k), errs)
    for k in s.required:
        if k not in value:
            errs.append(required(_sub(path, k)))


def _quicks(s: SNode) -> dict[str, Any]:
    s.quicks = {k: q for k, c in s.props.items() if (q := (c.quick if c.quick is not None else _quick(c)))}
    if s.quicks.keys() & {"apiVersion", "kind", "metadata"}:  # the root's are checked apart
        s.quicks = {k: q for k, q in s.quicks.items() if k not in ("apiVersion", "kind", "metadata")}
    return s.quicks  # type: ignore[no-any-return]


def _quick(s: SNode) -> Any:
    """A test that a scalar value passes all of `s`'s checks, built once per node; False for what it
    cannot judge (containers, junctors, formats): those take the full walk."""
    s.quick = _build_quick(s) or False
    return s.quick


def _build_quick(s: SNode) -> Any:
    if s.all_of or s.any_of or s.one_of or s.not_ is not None or s.format or s.pattern_error or s.multiple_of:
        return None
    if s.int_or_string:
        return _quick_types({int, str}) if s.enum is None and not _has_bounds(s) else None
    if s.type == "string":
        return _quick_string(s)
    if s.type == "integer":
        return _quick_integer(s) if s.enum is None else None
    if s.type == "boolean":
        return _quick_types({bool}) if s.enum is None else None
    if s.type == "number" and s.enum is None and not _has_bounds(s):
        return _quick_types({int, float})
    return None


def _has_bounds(s: SNode) -> bool:
    return s.minimum is not None or s.maximum is not None or s.min_length is not None or s.max_length is not None \
        or s.regex is not None


def _quick_types(allowed: set[type]) -> Any:
    def quick(v: Any) -> bool:
        return type(v) in allowed
    return quick


def _quick_string(s: SNode) -> Any:
    enum = s.enum
    if enum is not None and not all(isinstance(e, str) for e in enum):
        return None
    choices = frozenset(enum) if enum is not None else None
    longest, shortest, regex = s.max_length, s.min_length, s.regex

    def quick(v: Any) -> bool:
        if type(v) is not str:
            return False
        if choices is not None and v not in choices:
            return False
        if longest is not None and len(v) > longest:
            return False
        if shortest is not None and len(v) < shortest:
            return False
        return regex is None or regex.search(v) is not None
    return quick


def _quick_integer(s: SNode) -> Any:
    """Integers within bounds (bounds truncated to integers, as kube-openapi's MinimumInt does);
    floats take the full walk."""
    if s.exclusive_minimum or s.exclusive_maximum:
        return None
    low = int(s.minimum) if s.minimum is not None else None
    high = int(s.maximum) if s.maximum is not None else None

    def quick(v: Any) -> bool:
        return type(v) is int and (low is None or v >= low) and (high is None or v <= high)
    return quick


def _check_root_metadata(md: Any, s: SNode, errs: list[FieldError]) -> None:
    """Only name and generateName may be restricted at the root (structural schema rule)."""
    if not isinstance(md, dict):
        return
    for k in ("name", "generateName"):
        child = s.props.get(k)
        if child is not None and k in md:
            check_value(md[k], child, f"metadata.{k}", errs)


def _junctors(value: Any, s: SNode, path: str, errs: list[FieldError]) -> None:
    """allOf, anyOf, oneOf and not over value validations (kube-openapi's schemaPropsValidator)."""
    for sub in s.all_of:
        check_value(value, sub, path, errs)
    if s.any_of:
        if not any(_passes(value, sub, path) for sub in s.any_of):
            errs.append(_invalid(path, value, f"{path} in body must validate at least one schema (anyOf)"))
    if s.one_of:
        passing = sum(1 for sub in s.one_of if _passes(value, sub, path))
        if passing != 1:
            errs.append(_invalid(path, value, f"{path} in body must validate one and only one schema (oneOf)"))
    if s.not_ is not None and _passes(value, s.not_, path):
        errs.append(_invalid(path, value, f"{path} in body must not validate the schema (not)"))


def _passes(value: Any, s: SNode, path: str) -> bool:
    found: list[FieldError] = []
    check_value(value, s, path, found)
    return not found


# Formats the apiserver checks (apiextensions-apiserver/pkg/apiserver/validation/formats.go); others
# are stripped from the schema before validating, so they never fail.
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DURATION_RE = re.compile(r"^(-?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w))+$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOSTNAME_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$")
_MAC_RE = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
_HEXCOLOR_RE = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB_RE = re.compile(r"^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$")
_BSON_RE = re.compile(r"^[0-9a-fA-F]{24}$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")


def _uuid(version: int | None) -> Any:
    def check(v: str) -> bool:
        try:
            u = uuid.UUID(v)
        except ValueError:
            return False
        return version is None or u.version == version
    return check


def _ip(version: int) -> Any:
    def check(v: str) -> bool:
        try:
            return ipaddress.ip_address(v).version == version
        except ValueError:
            return False
    return check


def _cidr(v: str) -> bool:
    try:
        ipaddress.ip_network(v, strict=False)
    except ValueError:
        return False
    return "/" in v


def _base64(v: str) -> bool:
    try:
        base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _datetime(v: str) -> bool:
    if not _DATETIME_RE.match(v):
        return False
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


_FORMATS: dict[str, Any] = {
    "bsonobjectid": _BSON_RE.match, "uri": _URI_RE.match, "email": _EMAIL_RE.match,
    "hostname": _HOSTNAME_RE.match, "ipv4": _ip(4), "ipv6": _ip(6), "cidr": _cidr, "mac": _MAC_RE.match,
    "uuid": _uuid(None), "uuid3": _uuid(3), "uuid4": _uuid(4), "uuid5": _uuid(5),
    "hexcolor": _HEXCOLOR_RE.match, "rgbcolor": _RGB_RE.match, "byte": _base64, "password": lambda v: True,
    "date": _DATE_RE.match, "duration": _DURATION_RE.match, "datetime": _datetime, "date-time": _datetime,
}


def _format_ok(fmt: str, value: str) -> bool:
    check = _FORMATS.get(fmt)
    return True if check is None else bool(check(value))


# ---------------------------------------------------------------------------------------------
# The scale subresource's paths (validator.go ValidateScaleSpec / ValidateScaleStatus).


def nested(obj: Any, path: str) -> tuple[Any, bool]:
    """The value at a JSON path such as `.spec.replicas` (unstructured.NestedFieldNoCopy)."""
    cur = obj
    for part in path.lstrip(".").split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None, False
        cur = cur[part]
    return cur, True


def _type_name(value: Any) -> str:
    return {"boolean": "bool", "integer": "int64", "number": "float64", "string": "string",
            "array": "[]interface {}", "object": "map[string]interface {}"}[_json_type(value)]


def _accessor(path: str) -> str:
    """unstructured's jsonPath(fields): the fields joined after a leading dot."""
    return "." + path.lstrip(".")


def _plain(value: Any) -> str:
    """Go's %v of a JSON value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_plain(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_plain(v) for v in value) + "]"
    return "<nil>" if value is None else str(value)


def _replicas_error(obj: dict[str, Any], path: str) -> FieldError | None:
    value, found = nested(obj, path)
    if not found:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return invalid(path, 0, f"{_accessor(path)} accessor error: {_plain(value)} is of the type "
                                f"{_type_name(value)}, expected int64")
    if value < 0:
        return invalid(path, value, "should be a non-negative integer")
    if value > MAX_INT32:
        return invalid(path, value, f"should be less than or equal to {MAX_INT32}")
    return None


def scale_errors(obj: dict[str, Any], cv: CustomVersion) -> list[FieldError]:
    assert cv.scale is not None
    errs = [e for e in (_replicas_error(obj, cv.scale.spec_replicas_path),
                        _replicas_error(obj, cv.scale.status_replicas_path)) if e is not None]
    if cv.scale.label_selector_path:
        value, found = nested(obj, cv.scale.label_selector_path)
        if found and not isinstance(value, str):
            errs.append(invalid(cv.scale.label_selector_path, "",
                                f"{_accessor(cv.scale.label_selector_path)} accessor error: {_plain(value)} is of "
                                f"the type {_type_name(value)}, expected string"))
    return errs


# ---------------------------------------------------------------------------------------------
# Embedded resources, set and map lists, CEL rules: paths as field.Path names them.


def _fchild(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _extras(value: Any, s: SNode, path: str, errs: list[FieldError], old: Any, root: bool = False,
            mode: str = "plain") -> None:
    """mode: "plain" (no old object: transition rules wait), "all" (with the old object),
    "transitions" (only the rules naming oldSelf: the rest was checked already)."""
    transitions_only = mode == "transitions"
    if value is None:
        return
    if s.rules:
        if s.cel is None:
            s.cel = crd_cel.compile_rules(s.rules)
        rules = tuple(c for c in s.cel if c.transition) if transitions_only else s.cel
        if rules:
            view = _cel_view(value) if root else value
            old_view = _cel_view(old) if root and isinstance(old, dict) else old
            errs += crd_cel.evaluate(rules, view, old_view, "object" if root else (s.type or ""), path or "<nil>",
                                     skip_transitions=mode == "plain")
    if isinstance(value, dict):
        if s.embedded and not root and not transitions_only:
            errs += _embedded_errors(value, path)
        old_map = old if isinstance(old, dict) else None
        for k, child in s.extras_props:  # only the properties with something to check below
            if k in value and not (root and k in ("apiVersion", "kind", "metadata")):
                _extras(value[k], child, _fchild(path, k), errs, _old(old_map, k), mode=mode)
        extra = s.additional
        if extra is not None and extra.extras:
            props = s.props
            for k, v in value.items():
                if k not in props:
                    _extras(v, extra, f"{path}[{k}]", errs, _old(old_map, k), mode=mode)
    elif isinstance(value, list):
        if not transitions_only:
            if s.list_type == "set":
                errs += _set_errors(value, path)
            elif s.list_type == "map":
                errs += _map_list_errors(value, s.map_keys, path)
        it = s.items
        if it is not None and it.extras:
            olds = _correlate(value, old, s) if it.rules else {}
            for i, v in enumerate(value):
                _extras(v, it, f"{path}[{i}]", errs, olds.get(i, crd_cel.NO_OLD), mode=mode)


def _old(old_map: dict[str, Any] | None, key: str) -> Any:
    if old_map is None or key not in old_map:
        return crd_cel.NO_OLD
    return old_map[key]


def _correlate(items: list[Any], old: Any, s: SNode) -> dict[int, Any]:
    """Old items of a map list by their keys (transition rules see oldSelf only where upstream
    correlates: list-type map)."""
    if s.list_type != "map" or not isinstance(old, list) or not s.map_keys:
        return {}
    by_key = {_map_key(o, s.map_keys): o for o in old if isinstance(o, dict)}
    return {i: by_key[_map_key(v, s.map_keys)] for i, v in enumerate(items)
            if isinstance(v, dict) and _map_key(v, s.map_keys) in by_key}


def _map_key(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    return json.dumps([item.get(k) for k in keys], sort_keys=True)


def _cel_view(obj: dict[str, Any]) -> dict[str, Any]:
    """What a rule at the root sees: apiVersion, kind, metadata.name and generateName, the rest."""
    view = dict(obj)
    md = obj.get("metadata")
    if isinstance(md, dict):
        view["metadata"] = {k: md[k] for k in ("name", "generateName") if k in md}
    return view


def _path_segment(name: str) -> list[str]:
    """path.ValidatePathSegmentName: embedded objects' names need only be usable in a URL path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _embedded_errors(x: dict[str, Any], path: str) -> list[FieldError]:
    """validateEmbeddedResource: apiVersion and kind required, metadata an ObjectMeta."""
    errs: list[FieldError] = []
    for key in ("apiVersion", "kind"):
        if key not in x:
            errs.append(required(_fchild(path, key)))
    api_version, kind = x.get("apiVersion"), x.get("kind")
    if "apiVersion" in x:
        if not isinstance(api_version, str):
            errs.append(invalid(_fchild(path, "apiVersion"), api_version, "must be a string"))
        elif not api_version:
            errs.append(required(_fchild(path, "apiVersion")))
        elif api_version.count("/") > 1:
            errs.append(invalid(_fchild(path, "apiVersion"), api_version,
                                f"unexpected GroupVersion string: {api_version}"))
    if "kind" in x:
        if not isinstance(kind, str):
            errs.append(invalid(_fchild(path, "kind"), kind, "must be a string"))
        elif not kind:
            errs.append(required(_fchild(path, "kind")))
        elif msgs := dns1035_label(kind.lower()):
            errs.append(invalid(_fchild(path, "kind"), kind,
                                "may have mixed case, but should otherwise match: " + ",".join(msgs)))
    md = x.get("metadata")
    if isinstance(md, dict):
        errs += validate_metadata(md, _path_segment, path=_fchild(path, "metadata"), need_name=False)
    elif "metadata" in x:
        errs.append(invalid(_fchild(path, "metadata"), md, "must be an object"))
    return errs


def _set_key(x: Any) -> Any:
    """What identifies an item of a set (or a map list's keys): scalars by type and value, a map of
    scalars by its sorted items, anything else by its canonical JSON."""
    if isinstance(x, dict):
        if all(not isinstance(v, CONTAINERS) for v in x.values()):
            return ("map", tuple(sorted((k, type(v).__name__, v) for k, v in x.items())))
        return ("json", json.dumps(x, sort_keys=True, separators=(",", ":")))
    if isinstance(x, list):
        return ("json", json.dumps(x, sort_keys=True, separators=(",", ":")))
    return (type(x).__name__, x)


def _set_errors(items: list[Any], path: str) -> list[FieldError]:
    """x-kubernetes-list-type: set: the second appearance of each repeated item."""
    seen: dict[Any, int] = {}
    errs = []
    for i, x in enumerate(items):
        key = _set_key(x)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            if isinstance(x, dict):
                errs.append(FieldError(f"{path}[{i}]", f"Duplicate value: {_go_map(x)}", "FieldValueDuplicate"))
            else:
                errs.append(duplicate(f"{path}[{i}]", x))
    return errs


def _go_map(x: dict[str, Any]) -> str:
    """A map as field errors print it (Go's %#v of a map[string]interface {})."""
    inner = ", ".join(f"{json.dumps(k)}:{_go_literal(v)}" for k, v in sorted(x.items()))
    return "map[string]interface {}{" + inner + "}"


def _go_literal(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, dict):
        return _go_map(v)
    if v is None:
        return "interface {}(nil)"
    return json.dumps(v)


def _map_list_errors(items: list[Any], keys: tuple[str, ...], path: str) -> list[FieldError]:
    """x-kubernetes-list-type: map: items are objects whose keys are unique."""
    for i, x in enumerate(items):
        if x is not None and not isinstance(x, dict):
            return [invalid(f"{path}[{i}]", x, "must be an object for an array of list-type map")]
    if len(items) <= 1:
        return []
    seen: dict[Any, int] = {}
    errs = []
    for i, x in enumerate(items):
        present = {k: x[k] for k in keys if isinstance(x, dict) and k in x}
        key = _set_key(present)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            errs.append(FieldError(f"{path}[{i}]", f"Duplicate value: {_go_map(present)}", "FieldValueDuplicate"))
    return errs
