"""Field errors: the causes of a 422 Invalid, worded as the apiserver words them.

`FieldError` and its constructors mirror k8s.io/apimachinery/pkg/util/validation/field
(field.Required, field.Invalid, …), so that messages clients print match a real cluster's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
