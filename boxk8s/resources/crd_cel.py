"""CEL validation rules of custom resources (`x-kubernetes-validations`), evaluated with cel-python.

Follows apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go: a rule is evaluated with
`self` bound to the value at its schema node (and `oldSelf` to the stored value on an update; a
rule that names `oldSelf` is a transition rule, skipped when there is no old value unless
`optionalOldSelf`). A rule that evaluates to false gives `field.Invalid(path, <schema type>,
message)` (or Forbidden/Required/Duplicate per `reason`), its message being `message`, else
`failed rule: <rule>`; an evaluation error gives `<error> evaluating rule: <rule>`.

cel-python implements standard CEL, not the Kubernetes CEL libraries (quantity(), url(), isSorted(),
lowerAscii(), optionals, …) nor the apiserver's type checking and cost limits. A rule it cannot
compile, or one that calls what it does not know, is skipped with a warning in the log: never an
error the apiserver would not give, never a crash.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from dataclasses import dataclass
from typing import Any

from boxk8s.resources.field_errors import FieldError, duplicate, forbidden, invalid, required

log = logging.getLogger(__name__)

@functools.cache
def cel_library() -> Any:
    """cel-python, imported on the first rule (its parser costs 50 ms at start-up); None when missing
    (a dependency of boxk8s: without it rules are skipped, and said so, rather than failing)."""
    try:
        import celpy
    except ImportError:  # pragma: no cover - the package is a dependency
        return None
    return celpy

_USER_ERRORS = ("no such member", "no such key", "index out of", "division by zero", "modulus by zero",
                "integer overflow", "return error for overflow")


@dataclass(frozen=True)
class Compiled:
    rule: dict[str, Any]
    program: Any  # None: cel-python cannot run this rule
    message_program: Any
    transition: bool  # names oldSelf


_env: Any = None
_warned: set[str] = set()


def available() -> bool:
    return importlib.util.find_spec("celpy") is not None


def environment() -> Any:
    global _env
    if _env is None and cel_library() is not None:
        _env = cel_library().Environment()
    return _env


def _warn_once(rule: str, why: str) -> None:
    if rule not in _warned:
        _warned.add(rule)
        log.warning("x-kubernetes-validations rule %r is skipped: %s", rule, why)


def _program(text: str) -> Any:
    env = environment()
    if env is None:
        _warn_once(text, "the CEL library (cel-python) is not installed")
        return None
    try:
        return env.program(env.compile(text))
    except Exception as e:  # CELParseError, or what cel-python raises on syntax it lacks
        _warn_once(text, f"cel-python cannot compile it ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
        return None


def compile_rules(rules: tuple[dict[str, Any], ...]) -> tuple[Compiled, ...]:
    out = []
    for rule in rules:
        text = str(rule.get("rule") or "")
        expr = rule.get("messageExpression")
        out.append(Compiled(rule, _program(text), _program(str(expr)) if expr else None, "oldSelf" in text))
    return tuple(out)


def syntax_error(text: str) -> str | None:
    """The parse error of a rule cel-python can parse and finds wrong; None when it parses (or when
    cel-python cannot tell: those are skipped at run time, not refused)."""
    env = environment()
    if env is None:
        return None
    try:
        env.compile(text)
    except cel_library().CELParseError as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else "syntax error"
    except Exception:
        return None
    return None


def _rule_text(rule: dict[str, Any]) -> str:
    message = str(rule.get("message") or "").strip()
    return message or str(rule.get("rule") or "").strip()


def _default_message(rule: dict[str, Any]) -> str:
    message = str(rule.get("message") or "").strip()
    return message or f"failed rule: {str(rule.get('rule') or '').strip()}"


def _error(path: str, type_name: str, detail: str, reason: str | None) -> FieldError:
    if reason == "FieldValueForbidden":
        return forbidden(path, detail)
    if reason == "FieldValueRequired":
        return required(path, detail)
    if reason == "FieldValueDuplicate":
        return duplicate(path, type_name)
    return invalid(path, type_name, detail)


def _child(path: str, field_path: str) -> str:
    rel = field_path.strip().lstrip(".")
    if not rel:
        return path
    return f"{path}.{rel}" if path and path != "<nil>" else rel


def evaluate(compiled: tuple[Compiled, ...], value: Any, old: Any, type_name: str, path: str,
             skip_transitions: bool = False) -> list[FieldError]:
    """The errors of the rules of one schema node for `value` (`old`: the stored value, or
    NO_OLD when there is none). `skip_transitions`: leave the rules naming oldSelf to
    the update's own pass."""
    errs: list[FieldError] = []
    activation: dict[str, Any] | None = None
    for c in compiled:
        rule = c.rule
        if c.program is None:
            continue
        if c.transition and (skip_transitions or (old is NO_OLD and not rule.get("optionalOldSelf"))):
            continue
        if activation is None:
            activation = {"self": cel_library().json_to_cel(value)}
            if old is not NO_OLD:
                activation["oldSelf"] = cel_library().json_to_cel(old)
        try:
            result = c.program.evaluate(activation)
        except cel_library().CELEvalError as e:
            result = e
        except Exception as e:  # a cel-python shortcoming is never the client's error
            _warn_once(str(rule.get("rule")), f"cel-python failed on it ({type(e).__name__})")
            continue
        if isinstance(result, cel_library().CELEvalError):  # raised or returned: cel-python does both
            failure = _eval_error(result, rule, path, type_name)
            if failure is not None:
                errs.append(failure)
            continue
        if result is True or (result.__class__.__name__ == "BoolType" and bool(result)):
            continue
        where = _child(path, str(rule.get("fieldPath") or ""))
        detail = _default_message(rule)
        if c.message_program is not None:
            detail = _message(c.message_program, activation) or detail
        errs.append(_error(where, type_name, detail, rule.get("reason")))
    return errs


def _eval_error(e: Exception, rule: dict[str, Any], path: str, type_name: str) -> FieldError | None:
    """An evaluation error the apiserver reports (no such key, overflow, …) as its field error; any
    other (a function cel-python lacks) is logged and the rule skipped."""
    text = cel_go_words(str(e.args[0]) if e.args else str(e))
    if text.startswith(_USER_ERRORS):
        return invalid(path, type_name, f"{text} evaluating rule: {_rule_text(rule)}")
    _warn_once(str(rule.get("rule")), f"cel-python cannot evaluate it ({text[:120]})")
    return None


def cel_go_words(text: str) -> str:
    """cel-python's wording of an evaluation error as cel-go words it (`no such key: min`,
    `undeclared reference to 'f' (in container '')`)."""
    m = re.match(r"no such member in mapping: '(.*)'", text)
    if m:
        return f"no such key: {m.group(1)}"
    m = re.match(r"undeclared reference to '([^']*)'", text)
    return f"undeclared reference to '{m.group(1)}' (in container '')" if m else text


def _message(program: Any, activation: dict[str, Any]) -> str:
    try:
        value = program.evaluate(activation)
    except Exception:
        return ""
    return str(value).strip() if isinstance(value, str) else ""


class _NoOld:
    def __repr__(self) -> str:
        return "NO_OLD"


NO_OLD: Any = _NoOld()
