"""The JSONPath of Kubernetes printer columns (client-go/util/jsonpath), the part CRDs use.

A path such as `.spec.replicas`, `.status.conditions[?(@.type=="Ready")].status`,
`.spec.containers[*].image`, `.metadata.labels['app\\.kubernetes\\.io/name']` or `.items[0:2]`
is parsed once and evaluated on plain JSON; missing keys give no result (AllowMissingKeys), as the
apiserver's table convertor asks.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

_OPS = ("==", "!=", "<=", ">=", "<", ">")
_NAME = re.compile(r"[A-Za-z0-9_\-/]+")
_LEADING = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None
    index: bool  # a single index, not a range


@dataclass(frozen=True)
class _Filter:
    path: tuple[Any, ...]  # relative to @
    op: str  # "" for an existence test
    value: Any


class JSONPathError(ValueError):
    pass


@functools.lru_cache(maxsize=512)
def parse(text: str) -> tuple[Any, ...]:
    """The steps of a JSONPath (with or without the surrounding braces and leading `$`)."""
    s = text.strip()
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1].strip()
    if s.startswith("$"):
        s = s[1:]
    steps, pos = _steps(s, 0)
    if pos != len(s):
        raise JSONPathError(f"unrecognized character in action: {s[pos:]!r}")
    return tuple(steps)


def _steps(s: str, pos: int, stop: str = "") -> tuple[list[Any], int]:
    steps: list[Any] = []
    while pos < len(s) and s[pos] not in stop:
        c = s[pos]
        if c == ".":
            pos += 1
            if pos < len(s) and s[pos] == "*":
                steps.append(_Wildcard())
                pos += 1
                continue
            m = _NAME.match(s, pos)
            if not m:
                if pos >= len(s):
                    break  # a lone trailing dot: the current value
                raise JSONPathError(f"invalid field at {s[pos:]!r}")
            steps.append(_Field(m.group(0)))
            pos = m.end()
        elif c == "[":
            step, pos = _bracket(s, pos + 1)
            steps.append(step)
        elif c == " ":
            pos += 1
        else:
            m = _LEADING.match(s, pos)
            if not m or steps:
                raise JSONPathError(f"unrecognized character in action: {s[pos:]!r}")
            steps.append(_Field(m.group(0)))
            pos = m.end()
    return steps, pos


def _bracket(s: str, pos: int) -> tuple[Any, int]:
    end = _closing(s, pos)
    inner = s[pos:end].strip()
    pos = end + 1
    if inner == "*":
        return _Wildcard(), pos
    if inner[:1] in ("'", '"'):
        return _Field(_unquote(inner)), pos
    if inner.startswith("?(") and inner.endswith(")"):
        return _filter(inner[2:-1].strip()), pos
    if ":" in inner:
        parts = inner.split(":")
        start = int(parts[0]) if parts[0].strip() else None
        stop = int(parts[1]) if len(parts) > 1 and parts[1].strip() else None
        return _Slice(start, stop, False), pos
    try:
        return _Slice(int(inner), None, True), pos
    except ValueError as e:
        raise JSONPathError(f"invalid array index {inner!r}") from e


def _closing(s: str, pos: int) -> int:
    depth, quote, escaped = 0, "", False
    for i in range(pos, len(s)):
        c = s[i]
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            if depth == 0 and c == "]":
                return i
            depth -= 1
    raise JSONPathError("unterminated array")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _filter(expr: str) -> _Filter:
    for op in _OPS:
        idx = _find_op(expr, op)
        if idx >= 0:
            left, right = expr[:idx].strip(), expr[idx + len(op):].strip()
            return _Filter(_relative(left), op, _literal(right))
    return _Filter(_relative(expr), "", None)


def _find_op(expr: str, op: str) -> int:
    quote = ""
    for i in range(len(expr)):
        c = expr[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif expr.startswith(op, i):
            if op in ("<", ">") and expr[i + 1:i + 2] == "=":
                continue
            return i
    return -1


def _relative(text: str) -> tuple[Any, ...]:
    if not text.startswith("@"):
        raise JSONPathError(f"unrecognized filter {text!r}")
    steps, pos = _steps(text[1:], 0)
    return tuple(steps)


def _literal(text: str) -> Any:
    if text[:1] in ("'", '"'):
        return _unquote(text)
    try:
        return json.loads(text)
    except ValueError:
        return text


def find(data: Any, text: str) -> list[Any]:
    """Every value the path selects, in order (none for a missing key)."""
    return _eval([data], parse(text))


def _eval(current: list[Any], steps: tuple[Any, ...]) -> list[Any]:
    for step in steps:
        nxt: list[Any] = []
        for value in current:
            if isinstance(step, _Field):
                if isinstance(value, dict) and step.name in value:
                    nxt.append(value[step.name])
            elif isinstance(step, _Wildcard):
                if isinstance(value, dict):
                    nxt.extend(value[k] for k in sorted(value))
                elif isinstance(value, list):
                    nxt.extend(value)
            elif isinstance(step, _Slice):
                if isinstance(value, list):
                    if step.index:
                        i = step.start or 0
                        if -len(value) <= i < len(value):
                            nxt.append(value[i])
                    else:
                        nxt.extend(value[step.start:step.stop])
            elif isinstance(step, _Filter) and isinstance(value, list):
                nxt.extend(v for v in value if _matches(v, step))
        current = nxt
    return current


def _matches(item: Any, f: _Filter) -> bool:
    found = _eval([item], f.path)
    if not f.op:
        return bool(found)
    if not found:
        return False
    left = found[0]
    try:
        if f.op == "==":
            return bool(left == f.value)
        if f.op == "!=":
            return bool(left != f.value)
        if f.op == "<":
            return bool(left < f.value)
        if f.op == ">":
            return bool(left > f.value)
        if f.op == "<=":
            return bool(left <= f.value)
        return bool(left >= f.value)
    except TypeError:
        return False


def text(value: Any) -> str:
    """A result as the JSONPath printer prints it: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "<nil>"
    return json.dumps(value, separators=(",", ":"))
