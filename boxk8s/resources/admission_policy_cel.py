"""CEL for admission policies: expressions compiled once, the variables they see, results worded
as upstream's (k8s.io/apiserver/pkg/admission/plugin/cel: filter.go, composition.go).

cel-python (through crd_cel, imported on the first expression) evaluates standard CEL and the
authorizer library (admission_policy_authz.py), not the other Kubernetes libraries (quantity(),
url(), lowerAscii(), optionals, …) nor cel-go's type checking. What cel-go refuses at compile time (an unknown function or variable) cel-python only
finds when evaluating: it is reported as upstream reports a compilation error, so the policy's
failurePolicy decides, as for an expression that does not parse.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s.resources import admission_policy_authz, crd_cel
from boxk8s.resources.crd_cel import cel_go_words, cel_library, environment

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True)
class Program:
    text: str
    program: Any  # None when it does not compile
    error: str = ""  # the compilation error, worded as cel-go's


@dataclass(frozen=True)
class Result:
    value: Any = None
    error: str = ""  # filter.go's evaluation.Error
    cause: str = ""  # the CEL error itself, without the expression
    compile_error: bool = False


def _caret(text: str, line: int, column: int) -> str:
    """cel-go's error location display: the source line, then dots up to a caret."""
    lines = text.splitlines() or [""]
    src = lines[min(max(line, 1), len(lines)) - 1]
    return f"\n | {src}\n | {'.' * max(column - 1, 0)}^"


@functools.lru_cache(maxsize=4096)
def compile_expression(text: str) -> Program:
    env = environment()
    if env is None:
        return Program(text, None, "compilation failed: the CEL library (cel-python) is not installed")
    try:
        return Program(text, env.program(env.compile(text), functions=admission_policy_authz.functions()))
    except cel_library().CELParseError as e:
        line, column = getattr(e, "line", 1) or 1, getattr(e, "column", 1) or 1
        return Program(text, None, f"compilation failed: ERROR: <input>:{line}:{column}: Syntax error"
                                   + _caret(text, line, column))
    except Exception as e:  # what cel-python raises on syntax it lacks
        return Program(text, None, f"compilation failed: ERROR: <input>:1:1: {str(e).splitlines()[0][:200]}")


def syntax_error(text: str) -> str | None:
    """The compilation error of an expression that does not parse, for the policy's validation
    (upstream compiles every expression of a policy when it is written). None when it parses, and
    for the optional syntax (`.?`, `[?`) cel-python's grammar lacks: those fail when evaluated."""
    if ".?" in text or "[?" in text or crd_cel.syntax_error(text) is None:
        return None
    return compile_expression(text).error or None


def _undeclared(text: str, message: str) -> str:
    """An undeclared reference found at evaluation, as cel-go's compiler reports it."""
    name = message.split("'")[1] if message.count("'") >= 2 else ""
    at = text.find(name) if name else -1
    column = at + 1 if at >= 0 else 1
    line = text.count("\n", 0, max(at, 0)) + 1
    if line > 1:
        column = at - text.rfind("\n", 0, at)
    return f"compilation failed: ERROR: <input>:{line}:{column}: {message}" + _caret(text, line, column)


def evaluate(program: Program, activation: Mapping[str, Any]) -> Result:
    """One expression (filter.go's ForInput, per expression): its value, or its error."""
    if program.program is None:
        return Result(error=f"compilation error: {program.error}", cause=program.error, compile_error=True)
    cel = cel_library()
    try:
        value = program.program.evaluate(activation)
    except cel.CELEvalError as e:
        value = e
    except Exception as e:  # a cel-python shortcoming: an error the failure policy handles, never a 500
        log.warning("cel-python failed on %r: %s: %s", program.text, type(e).__name__, e)
        return Result(error=f"expression '{program.text}' resulted in error: {type(e).__name__}: {e}")
    if isinstance(value, cel.CELEvalError):
        message = cel_go_words(str(value.args[0]) if value.args else str(value))
        if message.startswith("undeclared reference to"):
            cause = _undeclared(program.text, message)
            return Result(error=f"compilation error: {cause}", cause=cause, compile_error=True)
        return Result(error=f"expression '{program.text}' resulted in error: {message}", cause=message)
    return Result(value=value)


def is_true(value: Any) -> bool:
    """celtypes.True: a CEL bool that is true (an int 1 or a string is not)."""
    return value.__class__.__name__ == "BoolType" and bool(value)


def as_string(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def to_cel(value: Any) -> Any:
    return cel_library().json_to_cel(value)


@functools.cache
def _lazy_map_type() -> type:
    """A CEL map whose values are computed on first access (composition.go's lazy.MapValue)."""
    base = cel_library().celtypes.MapType

    class LazyMap(base):  # type: ignore[misc,valid-type]
        def __init__(self, compute: Mapping[str, Callable[[], Any]]) -> None:
            st = cel_library().celtypes.StringType
            super().__init__({st(k): None for k in compute})
            self._compute = compute
            self._values: dict[str, Any] = {}

        def __getitem__(self, key: Any) -> Any:
            name = str(key)
            if name not in self._compute:
                return super().__getitem__(key)
            if name not in self._values:
                self._values[name] = self._compute[name]()
            return self._values[name]

    return LazyMap


def variables(definitions: list[tuple[str, Program]], activation: dict[str, Any]) -> Any:
    """The `variables` map: each variable evaluated once, when an expression first reads it, in
    the activation that holds `variables` itself (a variable may use earlier ones). A variable in
    error makes the expressions that read it fail with that error (a CEL error value)."""
    cel = cel_library()

    def compute(name: str, program: Program) -> Callable[[], Any]:
        def value() -> Any:
            result = evaluate(program, activation)
            if result.compile_error:
                return cel.CELEvalError(f'composited variable "{name}" fails to compile: {result.cause}')
            return cel.CELEvalError(result.cause or result.error) if result.error else result.value
        return value

    return _lazy_map_type()({name: compute(name, program) for name, program in definitions})
