"""matchConditions of admission webhooks: CEL expressions over `object`, `oldObject` and `request`,
evaluated with cel-python, imported on the first condition (as crd_cel.py does).

As matchconditions.Matcher.Match: every condition must be true for the webhook to be called; a
false one skips it at once; errors (and no false) fail the match — the webhook's failurePolicy
decides (Ignore: skipped; Fail: the request is refused). `authorizer` and the Kubernetes CEL
libraries are not available: a condition using them fails to evaluate.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]


class ConditionError(Exception):
    """Conditions that could not be evaluated; str() lists them as the apiserver does."""


@functools.cache
def _celpy() -> Any:
    import celpy  # a dependency of boxk8s; its parser costs 50 ms, so only when a condition exists
    return celpy


@functools.lru_cache(maxsize=256)
def _program(expression: str) -> Any:
    celpy = _celpy()
    env = celpy.Environment()
    return env.program(env.compile(expression))


def conditions_match(conditions: Iterable[Obj], obj: Obj | None, old: Obj | None, request: Obj) -> bool:
    celpy = _celpy()
    activation = {"object": celpy.json_to_cel(obj), "oldObject": celpy.json_to_cel(old),
                  "request": celpy.json_to_cel(request)}
    problems: list[str] = []
    for condition in conditions:
        name, expression = str(condition.get("name") or ""), str(condition.get("expression") or "")
        try:
            value = _program(expression).evaluate(activation)
        except Exception as e:  # CELParseError, CELEvalError, or what cel-python cannot do
            problems.append(f"failed to evaluate match condition {name!r}: {_first_line(e)}")
            continue
        if isinstance(value, Exception):
            problems.append(f"failed to evaluate match condition {name!r}: {_first_line(value)}")
        elif not isinstance(value, bool) and value.__class__.__name__ != "BoolType":
            problems.append(f"failed to evaluate match condition {name!r}: the expression must return a bool")
        elif not bool(value):
            return False
    if problems:
        raise ConditionError(problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]")
    return True


def _first_line(e: Exception) -> str:
    text = str(e.args[0]) if e.args else str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__
