"""ValidatingAdmissionPolicy decisions over plain data (k8s.io/apiserver/pkg/admission/plugin/policy).

- `plan_invocations`: which (policy, binding) pairs a request calls for (generic/policy_dispatcher.go
  Dispatch: the policy's matchConstraints, then each of its bindings' matchResources).
- `validate`: one policy for one binding and param (validating/validator.go Validate): its
  matchConditions, validations (message, messageExpression, reason) and auditAnnotations, under the
  policy's failurePolicy.
- `apply_actions`: the binding's validationActions over those decisions (validating/dispatcher.go):
  Deny refuses, Warn becomes a `Warning` header, Audit a log line.
- `denial_message`: the first refusal, as the apiserver words it.
The plugin (admission_policy.py) reads the objects and params these are given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources.admission_match import Equivalent, Match, Request, match_resources
from boxk8s.resources.admission_policy_cel import as_string, compile_expression, evaluate, is_true, variables

Obj = dict[str, Any]

INVALID = "Invalid"
MAX_MESSAGE_BYTES = 5000  # celconfig.MaxEvaluatedMessageExpressionSizeBytes
MAX_AUDIT_VALUE = 10 * 1024  # maxAuditAnnotationValueLength
FAILURE_ANNOTATION = "validation.policy.admission.k8s.io/validation_failure"


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def failure_policy(policy: Mapping[str, Any]) -> str:
    return str(_spec(policy).get("failurePolicy") or "Fail")


@dataclass(frozen=True)
class Invocation:
    policy: Obj
    binding: Obj
    match: Match  # the policy's: the resource and kind its rules named


@dataclass(frozen=True)
class Denial:
    policy: str
    binding: str  # "" for a policy's own configuration error
    message: str
    reason: str = INVALID


Hook = tuple[Obj, list[Obj]]  # a policy and its bindings (generic.PolicyHook)


def hooks_of(policies: Sequence[Obj], bindings: Sequence[Obj]) -> list[Hook]:
    """Each policy (by name) with its bindings (by name); a policy without any does nothing."""
    by_policy: dict[str, list[Obj]] = {}
    for binding in sorted(bindings, key=_name):
        by_policy.setdefault(str(_spec(binding).get("policyName") or ""), []).append(binding)
    return [(p, by_policy[_name(p)]) for p in sorted(policies, key=_name) if _name(p) in by_policy]


def plan_invocations(hooks: Sequence[Hook], req: Request, namespace_labels: Mapping[str, str] | None,
                     equivalents: Sequence[Equivalent] = ()) -> tuple[list[Invocation], list[Denial]]:
    """The policies whose constraints select the request, each with its bindings that do; and the
    configuration errors met on the way (already filtered by the failure policy)."""
    invocations: list[Invocation] = []
    denials: list[Denial] = []
    for policy, its in hooks:
        found = match_resources(_spec(policy).get("matchConstraints"), req, namespace_labels, equivalents)
        if found.error:
            denials += config_error(policy, None, found.error)
            continue
        if not found.matches:
            continue
        for binding in its:
            scope = _spec(binding).get("matchResources")
            bound = Match(True) if scope is None else match_resources(scope, req, namespace_labels, equivalents)
            if bound.error:
                denials += config_error(policy, binding, bound.error)
            elif bound.matches:
                invocations.append(Invocation(policy, binding, found))
    return invocations, denials


def config_error(policy: Obj, binding: Obj | None, error: str) -> list[Denial]:
    """addConfigError: refused under failurePolicy Fail, ignored under Ignore."""
    if failure_policy(policy) == "Ignore":
        return []
    what = "policy" if binding is None else "binding"
    return [Denial(_name(policy), _name(binding) if binding else "", f"failed to configure {what}: {error}")]


# --- validator.go ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    deny: bool
    message: str = ""
    reason: str = ""  # "" for an evaluation error (the dispatcher then says Invalid)
    index: int = 0  # of the validation


@dataclass
class Validation:
    decisions: list[Decision] = field(default_factory=list)
    annotations: list[tuple[str, str]] = field(default_factory=list)  # published audit annotations
    annotation_errors: list[str] = field(default_factory=list)  # refuse regardless of the actions


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error()."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def activation_for(base: Mapping[str, Any], policy: Obj, params: Any) -> dict[str, Any]:
    """The policy's activation: the request's variables plus `params` and its `variables`."""
    activation = dict(base)
    activation["params"] = params
    definitions = [(str(v.get("name") or ""), compile_expression(str(v.get("expression") or "")))
                   for v in _spec(policy).get("variables") or () if isinstance(v, Mapping)]
    activation["variables"] = variables(definitions, activation)
    return activation


def validate(policy: Obj, activation: Mapping[str, Any]) -> Validation:
    """validator.Validate for one param: nothing when a match condition is false."""
    spec = _spec(policy)
    fail = failure_policy(policy) != "Ignore"
    out = Validation()
    errors: list[str] = []
    for condition in spec.get("matchConditions") or ():
        result = evaluate(compile_expression(str(condition.get("expression") or "")), activation)
        if result.error:
            errors.append(result.error)
        elif result.value.__class__.__name__ == "BoolType" and not bool(result.value):
            return out  # a false condition: the policy does not apply
    if errors:
        if fail:
            out.decisions.append(Decision(True, _aggregate(errors)))
        return out
    for i, rule in enumerate(spec.get("validations") or ()):
        out.decisions.append(_validation(rule, i, activation, fail))
    for annotation in spec.get("auditAnnotations") or ():
        _audit_annotation(annotation, activation, fail, out)
    return out


def _validation(rule: Mapping[str, Any], index: int, activation: Mapping[str, Any], fail: bool) -> Decision:
    expression = str(rule.get("expression") or "")
    result = evaluate(compile_expression(expression), activation)
    if result.error:
        return Decision(fail, result.error, index=index)
    if is_true(result.value):
        return Decision(False, index=index)
    message = ""
    if rule.get("messageExpression"):
        shown = evaluate(compile_expression(str(rule["messageExpression"])), activation)
        text = as_string(shown.value) if not shown.error else None
        if text is not None:
            text = text.strip()
            if len(text.encode()) <= MAX_MESSAGE_BYTES and "\n" not in text:
                message = text
    if not message:
        message = str(rule.get("message") or "").strip()
    if not message:
        message = f"failed expression: {expression.strip()}"
    return Decision(True, message, str(rule.get("reason") or INVALID), index)


def _cel_type(value: Any) -> str:
    """The CEL type's name (cel-python's IntType is cel-go's int)."""
    return type(value).__name__.removesuffix("Type").lower()


def _audit_annotation(annotation: Mapping[str, Any], activation: Mapping[str, Any], fail: bool,
                      out: Validation) -> None:
    expression = str(annotation.get("valueExpression") or "")
    result = evaluate(compile_expression(expression), activation)
    if result.error:
        if fail:
            out.annotation_errors.append(result.error)
        return
    value = result.value
    if value is None:
        return
    text = as_string(value)
    if text is None:
        if fail:
            out.annotation_errors.append(
                f"valueExpression '{expression}' resulted in unsupported return type: {_cel_type(value)}. "
                "Return type must be either string or null.")
        return
    if text.strip():
        out.annotations.append((str(annotation.get("key") or ""), text.strip()[:MAX_AUDIT_VALUE]))


# --- dispatcher.go --------------------------------------------------------------------------------

@dataclass
class Outcome:
    denials: list[Denial] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    audits: list[str] = field(default_factory=list)  # log lines


def apply_actions(policy: Obj, binding: Obj, validation: Validation, out: Outcome) -> None:
    """Each refusing decision through the binding's validationActions; audit annotation errors
    refuse whatever the actions."""
    policy_name, binding_name = _name(policy), _name(binding)
    actions = _spec(binding).get("validationActions") or ()
    for decision in validation.decisions:
        if not decision.deny:
            continue
        for action in actions:
            if action == "Deny":
                out.denials.append(Denial(policy_name, binding_name, decision.message, decision.reason or INVALID))
            elif action == "Warn":
                out.warnings.append(f"Validation failed for ValidatingAdmissionPolicy '{policy_name}' "
                                    f"with binding '{binding_name}': {decision.message}")
            elif action == "Audit":
                value = [{"message": decision.message, "policy": policy_name, "binding": binding_name,
                          "expressionIndex": decision.index, "validationActions": list(actions)}]
                out.audits.append(f"{FAILURE_ANNOTATION}={json.dumps(value)}")
    for error in validation.annotation_errors:
        out.denials.append(Denial(policy_name, binding_name, error))
    for key, value in validation.annotations:
        out.audits.append(f"{policy_name}/{key}={value}")


def denial_message(denial: Denial) -> str:
    if denial.binding:
        return (f"ValidatingAdmissionPolicy '{denial.policy}' with binding '{denial.binding}' "
                f"denied request: {denial.message}")
    return f"ValidatingAdmissionPolicy '{denial.policy}' denied request: {denial.message}"
