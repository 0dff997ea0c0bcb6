"""matchConditions of admission webhooks: CEL expressions over `object`, `oldObject` and `request`,
evaluated as the policies' expressions are (admission_policy_cel.py: cel-python, imported on the
first expression; upstream shares k8s.io/apiserver/pkg/admission/plugin/cel between the two).

As matchconditions.Matcher.Match: every condition must be true for the webhook to be called; a
false one skips it at once; errors (and no false) fail the match — the webhook's failurePolicy
decides (Ignore: skipped; Fail: the request is refused). `authorizer` and the Kubernetes CEL
libraries are not available: a condition using them fails to evaluate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from boxk8s.resources.admission_policy_cel import compile_expression, evaluate, is_true, to_cel

Obj = dict[str, Any]


class ConditionError(Exception):
    """Conditions that could not be evaluated; str() lists them as the apiserver does."""


def conditions_match(conditions: Iterable[Obj], obj: Obj | None, old: Obj | None, request: Obj) -> bool:
    activation = {"object": to_cel(obj), "oldObject": to_cel(old), "request": to_cel(request)}
    problems: list[str] = []
    for condition in conditions:
        name, expression = str(condition.get("name") or ""), str(condition.get("expression") or "")
        result = evaluate(compile_expression(expression), activation)
        if result.error:
            problems.append(f"failed to evaluate match condition {name!r}: {_first_line(result.cause or result.error)}")
        elif result.value.__class__.__name__ != "BoolType":
            problems.append(f"failed to evaluate match condition {name!r}: the expression must return a bool")
        elif not is_true(result.value):
            return False
    if problems:
        raise ConditionError(problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]")
    return True


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "error"
