"""Go renderings of the values field errors quote, for the kinds whose upstream validation passes
structs, slices or IntOrStrings to field.Invalid (field.Error.ErrorBody prints those with %#v), and
the name rules the cluster-level kinds use besides DNS names, and the small accessors their checks share.
"""

from __future__ import annotations

import json
from typing import Any

from boxk8s.resources.field_errors import INVALID, FieldError, invalid


def invalid_shown(path: str, shown: str, detail: str) -> FieldError:
    """field.Invalid with the value already rendered as Go would print it."""
    return FieldError(path, f"Invalid value: {shown}" + (f": {detail}" if detail else ""), INVALID)


def go_quote(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def go_struct(type_name: str, fields: list[tuple[str, Any]]) -> str:
    """%#v of a struct of strings and ints: `pkg.Type{A:"x", B:1}`."""
    inner = ", ".join(f"{k}:{go_quote(v) if isinstance(v, str) else v}" for k, v in fields)
    return f"{type_name}{{{inner}}}"


def go_strings(values: Any) -> str:
    """%#v of a []string (or a slice of string-kinded values, named by Go as the type's name)."""
    items = values if isinstance(values, list) else []
    return "[]string{" + ", ".join(go_quote(v) for v in items) + "}"


def go_typed_strings(type_name: str, values: Any) -> str:
    items = values if isinstance(values, list) else []
    return f"[]{type_name}{{" + ", ".join(go_quote(v) for v in items) + "}"


def go_bytes(text: str) -> str:
    """%#v of a []byte."""
    return "[]byte{" + ", ".join(f"0x{b:x}" for b in text.encode()) + "}"


def int_or_string(value: Any) -> str:
    """%#v of an intstr.IntOrString (IntOrString's String() has a pointer receiver, so a value prints raw)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"intstr.IntOrString{{Type:0, IntVal:{value}, StrVal:\"\"}}"
    return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"


def immutable(path: str, new: Any, old: Any, shown: str | None = None) -> list[FieldError]:
    """ValidateImmutableField: `field is immutable` when the value changed."""
    if new == old:
        return []
    if shown is not None:
        return [invalid_shown(path, shown, "field is immutable")]
    return [invalid(path, new, "field is immutable")]


def spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's spec, {} when absent or not an object (the schema checks report that)."""
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def as_int(value: Any) -> int | None:
    """The value when it is an integer (JSON true is not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def path_segment_name(name: str) -> list[str]:
    """path.IsValidPathSegmentName: what RBAC names, scale targets and metric names must be."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def any_name(name: str) -> list[str]:
    """ValidateCertificateRequestName: "We don't care what you call your certificate requests"."""
    return []

