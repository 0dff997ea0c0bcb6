"""Label and field selectors, parsed and matched the way apimachinery does it.

Label selectors follow `k8s.io/apimachinery/pkg/labels` (the string syntax `a=b,c in (x,y),!d`)
and `metav1.LabelSelector` (matchLabels + matchExpressions). Field selectors follow
`k8s.io/apimachinery/pkg/fields` plus the per-kind field label conversions the apiserver
registers. Error messages keep upstream's wording, because clients print them verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s.errors import BadRequest

# --- requirements ---------------------------------------------------------------------------

EXISTS = "exists"
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
GREATER_THAN = "gt"
LESS_THAN = "lt"

BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            return _compare(self, labels)
        return False

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


def _compare(req: Requirement, labels: Mapping[str, str]) -> bool:
    if req.key not in labels or len(req.values) != 1:
        return False
    try:
        have, want = int(labels[req.key]), int(req.values[0])
    except ValueError:
        return False
    return have > want if req.operator == GREATER_THAN else have < want


@dataclass(frozen=True)
class Selector:
    """A parsed label selector: call it with a label dict; `str()` gives the canonical form."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False  # a nil LabelSelector selects nothing

    def __call__(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# --- validation (k8s.io/apimachinery/pkg/util/validation) ------------------------------------

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _qualified_name_errors(value: str) -> list[str]:
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) > 2:
        return [
            "a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        errs += _prefix_errors(parts[0])
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def _prefix_errors(prefix: str) -> list[str]:
    if not prefix:
        return ["prefix part must be non-empty"]
    errs = []
    if len(prefix) > 253:
        errs.append("prefix part must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.match(prefix):
        errs.append("prefix part " + _regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def _label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _invalid(path: str, value: str, errs: list[str]) -> str:
    """field.Invalid(...).Error(): `<path>: Invalid value: "<value>": <details>`."""
    return f'{path}: Invalid value: "{_go_escape(value)}": ' + "; ".join(errs)


def _go_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _requirement(key: str, op: str, values: tuple[str, ...], key_path: str = "key") -> Requirement:
    """labels.NewRequirement: validate the key, the value count and each value."""
    problems: list[str] = []
    if errs := _qualified_name_errors(key):
        problems.append(_invalid(key_path, key, errs))
    for i, v in enumerate(values):
        if op in (GREATER_THAN, LESS_THAN) and not re.fullmatch(r"[-+]?\d+", v):
            problems.append(_invalid(f"values[{i}]", v, ["for 'Gt', 'Lt' operators, the value must be an integer"]))
        if errs := _label_value_errors(v):
            problems.append(_invalid(f"values[{i}][{key}]", v, errs))
    if problems:
        raise _SyntaxError(problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]")
    return Requirement(key, op, values)


# --- lexer and parser (labels.Parse) ----------------------------------------------------------

_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")
_KEYWORDS = {"in": IN, "notin": NOT_IN}
_SYMBOLS = ("!=", "==", "=", "!", "(", ")", ",", ">", "<")

_ID = "id"
_END = "end"
_ERROR = "error"


class _SyntaxError(Exception):
    pass


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kind is _ID, _END, _ERROR, a keyword or a symbol."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while True:
        while i < len(text) and text[i] in _WHITESPACE:
            i += 1
        if i >= len(text):
            tokens.append((_END, ""))
            return tokens
        if text[i] in _SPECIAL:
            tok, i = _lex_symbol(text, i)
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIAL and text[j] not in _WHITESPACE:
                j += 1
            word = text[i:j]
            tok, i = (_KEYWORDS.get(word, _ID), word), j
        tokens.append(tok)


def _lex_symbol(text: str, i: int) -> tuple[tuple[str, str], int]:
    """Longest run of special characters that is still a known symbol (scanSpecialSymbol)."""
    best: str | None = None
    j = i
    while j < len(text) and text[j] in _SPECIAL:
        candidate = text[i : j + 1]
        if candidate in _SYMBOLS:
            best = candidate
        elif best is not None:
            break
        j += 1
    if best is None:
        return (_ERROR, f"error expected: keyword found '{text[i:j]}'"), j
    return (best, best), i + len(best)


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        return self._as_context(self.items[self.pos], values)

    def consume(self, values: bool = True) -> tuple[str, str]:
        item = self.items[self.pos]
        self.pos += 1
        return self._as_context(item, values)

    @staticmethod
    def _as_context(item: tuple[str, str], values: bool) -> tuple[str, str]:
        # 'in' and 'notin' are plain identifiers where a value is expected
        if values and item[0] in (IN, NOT_IN):
            return _ID, item[1]
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok == _END:
                return reqs
            if tok not in (_ID, "!"):
                raise _SyntaxError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except _SyntaxError as e:
                raise _SyntaxError(f"unable to parse requirement: {e}") from None
            tok, lit = self.consume()
            if tok == _END:
                return reqs
            if tok != ",":
                raise _SyntaxError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self.lookahead()
            if tok2 not in (_ID, "!"):
                raise _SyntaxError(f"found '{lit2}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        key, op = self.key_and_inferred_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return _requirement(key, op, ())
        op = self.operator()
        values = self.set_values() if op in (IN, NOT_IN) else self.exact_value()
        return _requirement(key, op, values)

    def key_and_inferred_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == "!":
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _ID:
            raise _SyntaxError(f"found '{lit}', expected: identifier")
        if errs := _qualified_name_errors(lit):
            raise _SyntaxError(_invalid("<nil>", lit, errs))
        if self.lookahead()[0] in (_END, ",") and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.consume(values=False)
        ops = {IN: IN, NOT_IN: NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS,
               ">": GREATER_THAN, "<": LESS_THAN}
        if tok not in ops:
            return _raise(f"found '{lit}', expected: {', '.join(BINARY_OPERATORS)}")
        return ops[tok]

    def set_values(self) -> tuple[str, ...]:
        tok, lit = self.consume()
        if tok != "(":
            raise _SyntaxError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok == ")":
            self.consume()
            return ("",)
        if tok not in (_ID, ","):
            raise _SyntaxError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.consume()[0] != ")":
            raise _SyntaxError(f"found '{lit}', expected: ')'")
        return tuple(sorted(values))

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == ")":
                    return values
                if tok2 != ",":
                    raise _SyntaxError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == ",":
                if not values:
                    values.add("")  # "(,"
                tok2, _ = self.lookahead()
                if tok2 == ")":
                    values.add("")
                    return values
                if tok2 == ",":
                    self.consume()
                    values.add("")
            else:
                raise _SyntaxError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> tuple[str, ...]:
        tok, _ = self.lookahead()
        if tok in (_END, ","):
            return ("",)
        tok, lit = self.consume()
        if tok == _ID:
            return (lit,)
        raise _SyntaxError(f"found '{lit}', expected: identifier")


def _raise(message: str) -> str:
    raise _SyntaxError(message)


def parse_label_selector(text: str) -> Selector:
    """Parse `?labelSelector=`; the result is callable on a labels dict. Raises BadRequest."""
    try:
        reqs = _Parser(text or "").parse()
    except _SyntaxError as e:
        raise BadRequest(str(e)) from e
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


# --- metav1.LabelSelector ---------------------------------------------------------------------

_EXPRESSION_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_label_selector(selector: Mapping[str, Any] | None) -> Selector:
    """metav1.LabelSelectorAsSelector: None selects nothing, {} selects everything."""
    if selector is None:
        return Selector(nothing=True)
    reqs: list[Requirement] = []
    try:
        for key, value in (selector.get("matchLabels") or {}).items():
            reqs.append(_requirement(key, EQUALS, (value,)))
        for expr in selector.get("matchExpressions") or []:
            reqs.append(_expression(expr))
    except _SyntaxError as e:
        raise BadRequest(str(e)) from e
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def _expression(expr: Mapping[str, Any]) -> Requirement:
    op = _EXPRESSION_OPERATORS.get(expr.get("operator", ""))
    if op is None:
        raise _SyntaxError(f'"{expr.get("operator", "")}" is not a valid label selector operator')
    values = tuple(expr.get("values") or ())
    if op in (IN, NOT_IN) and not values:
        raise _SyntaxError("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty")
    if op in (EXISTS, DOES_NOT_EXIST) and values:
        raise _SyntaxError("values: Invalid value: values set must be empty for exists and does not exist")
    return _requirement(expr.get("key", ""), op, values)


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Does a metav1.LabelSelector select these labels? An invalid selector selects nothing."""
    try:
        return selector_from_label_selector(selector)(labels)
    except BadRequest:
        return False


def selector_to_string(selector: Mapping[str, Any] | None) -> str:
    """LabelSelector → `app=web,tier in (a,b)`; "" when it selects everything (scale status)."""
    return str(selector_from_label_selector(selector))


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector, for Table cells: `<none>` when empty, `<error>` when invalid."""
    try:
        text = selector_to_string(selector)
    except BadRequest:
        return "<error>"
    return text or "<none>"


def format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels: `a=b,c=d` sorted by key, `<none>` when empty."""
    text = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
    return text or "<none>"


# --- field selectors --------------------------------------------------------------------------

FieldGetter = Callable[[Mapping[str, Any]], str]


def _path(*keys: str, default: str = "") -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str:
        cur: Any = obj
        for k in keys:
            cur = cur.get(k) if isinstance(cur, Mapping) else None
        if cur is None:
            return default
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


def _event_path(core: tuple[str, ...], new: tuple[str, ...]) -> FieldGetter:
    """Events are served as core/v1 and events.k8s.io/v1; read whichever shape the object has."""
    core_get, new_get = _path(*core), _path(*new)
    return lambda obj: core_get(obj) or new_get(obj)


_META: dict[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
_NAME_ONLY = {"metadata.name": _META["metadata.name"]}

_EVENT_FIELDS: dict[str, FieldGetter] = {
    **{f"involvedObject.{f}": _event_path(("involvedObject", f), ("regarding", f))
       for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"),
    "reportingComponent": _event_path(("reportingComponent",), ("reportingController",)),
    "source": _event_path(("source", "component"), ("deprecatedSource", "component")),
    "type": _path("type"),
}

# Kinds with a field label conversion registered in the apiserver (pkg/apis/*/v1/conversion.go).
# Everything else gets the default conversion: metadata.name and metadata.namespace only.
FIELD_SELECTORS: dict[str, dict[str, FieldGetter]] = {
    "Pod": {
        **_META,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork", default="false"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "Event": {**_META, **_EVENT_FIELDS},
    "Secret": {**_META, "type": _path("type")},
    "Node": {**_NAME_ONLY, "spec.unschedulable": _path("spec", "unschedulable", default="false")},
    "Namespace": {**_NAME_ONLY, "status.phase": _path("status", "phase")},
    "ReplicaSet": {**_META, "status.replicas": _path("status", "replicas", default="0")},
    "ReplicationController": {**_META, "status.replicas": _path("status", "replicas", default="0")},
    "Job": {**_META, "status.successful": _path("status", "succeeded", default="0")},
}
_ALIASES = {("Pod", "spec.host"): "spec.nodeName"}  # old v1 clients


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool
    get: FieldGetter

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return (self.get(obj) == self.value) != self.negate

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.negate else '='}{_escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def __call__(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def parse_field_selector(text: str, kind: str) -> FieldSelector:
    """Parse `?fieldSelector=` for objects of `kind`; the result is callable on an object."""
    reqs = []
    for term in sorted(_split_unescaped(text or "", ",")):
        if not term:
            continue
        field, op, raw = _split_term(text, term)
        value = _unescape_field_value(raw)
        field = _ALIASES.get((kind, field), field)
        reqs.append(FieldRequirement(field, value, op == "!=", _field_getter(kind, field)))
    return FieldSelector(tuple(reqs))


def _field_getter(kind: str, field: str) -> FieldGetter:
    fields = FIELD_SELECTORS.get(kind)
    if fields is None:
        if field in _META:
            return _META[field]
        raise BadRequest(f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"')
    if field not in fields:
        raise BadRequest(f"field label not supported: {field}")
    return fields[field]


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _split_term(selector: str, term: str) -> tuple[str, str, str]:
    escaped = False
    for i, ch in enumerate(term):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    raise BadRequest(f"invalid selector: '{selector}'; can't understand '{term}'")


def _unescape_field_value(raw: str) -> str:
    out: list[str] = []
    escaped = False
    for ch in raw:
        if escaped:
            if ch not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # upstream formats the rune with %v, which prints its code point
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
