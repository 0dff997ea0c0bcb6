"""ValidatingAdmissionPolicy decisions (admission_policy_plan.py) over plain objects, as upstream's
validator.go and dispatcher.go decide them."""

from __future__ import annotations

from typing import Any

from boxk8s.resources.admission_policy_authz import authorizer_value
from boxk8s.resources.admission_policy_cel import syntax_error, to_cel
from boxk8s.resources.admission_policy_plan import (
    Decision,
    Denial,
    Outcome,
    activation_for,
    apply_actions,
    denial_message,
    hooks_of,
    plan_invocations,
    validate,
)
from boxk8s.resources.admission_webhook_match import Request

RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"]}


def policy(name: str = "p", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [RULE]}, **spec}}


def binding(name: str, policy_name: str = "p", actions: tuple[str, ...] = ("Deny",), **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"policyName": policy_name, "validationActions": list(actions), **spec}}


def deploy_request(replicas: int = 3, name: str = "web") -> Request:
    obj = {"metadata": {"name": name, "labels": {"app": name}}, "spec": {"replicas": replicas}}
    return Request("CREATE", "apps", "v1", "deployments", "", "Deployment", "default", name, obj, None)


def run(pol: dict[str, Any], replicas: int = 3, params: Any = None) -> Any:
    base = {"object": to_cel({"metadata": {"name": "web"}, "spec": {"replicas": replicas}}), "oldObject": None,
            "request": to_cel({"operation": "CREATE"}), "namespaceObject": None}
    return validate(pol, activation_for(base, pol, to_cel(params) if params is not None else None))


def test_plan_pairs_policies_with_their_matching_bindings() -> None:
    policies = [policy("p"), policy("lonely"), policy("other", matchConstraints={"resourceRules": [
        {**RULE, "resources": ["statefulsets"]}]})]
    bindings = [binding("b2"), binding("b1"), binding("narrow", matchResources={"objectSelector": {
        "matchLabels": {"app": "api"}}}), binding("ob", "other")]
    invocations, denials = plan_invocations(hooks_of(policies, bindings), deploy_request(), {})
    assert [(i.policy["metadata"]["name"], i.binding["metadata"]["name"]) for i in invocations] == [
        ("p", "b1"), ("p", "b2")]
    assert denials == []


def test_plan_selector_error_follows_failure_policy() -> None:
    broken = {"resourceRules": [RULE], "namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "X"}]}}
    _, denials = plan_invocations(hooks_of([policy(matchConstraints=broken)], [binding("b")]), deploy_request(), {})
    assert len(denials) == 1 and denials[0].message.startswith("failed to configure policy: ")
    _, denials = plan_invocations(hooks_of([policy(matchConstraints=broken, failurePolicy="Ignore")],
                                           [binding("b")]), deploy_request(), {})
    assert denials == []


def test_validation_messages() -> None:
    rules = [
        {"expression": "object.spec.replicas < 2"},  # default message
        {"expression": "object.spec.replicas < 2", "message": "  too many  "},
        {"expression": "object.spec.replicas < 2", "message": "fallback", "messageExpression": "'got ' + "
         "string(object.spec.replicas)", "reason": "Forbidden"},
        {"expression": "object.spec.replicas < 2", "message": "fallback", "messageExpression": "1"},  # not a string
        {"expression": "object.spec.replicas < 2", "message": "fallback", "messageExpression": "'a\\nb'"},
        {"expression": "object.spec.replicas < 9"},
    ]
    decisions = run(policy(validations=rules)).decisions
    assert decisions == [
        Decision(True, "failed expression: object.spec.replicas < 2", "Invalid", 0),
        Decision(True, "too many", "Invalid", 1),
        Decision(True, "got 3", "Forbidden", 2),
        Decision(True, "fallback", "Invalid", 3),
        Decision(True, "fallback", "Invalid", 4),
        Decision(False, "", "", 5),
    ]


def test_errors_follow_failure_policy() -> None:
    rules = [{"expression": "object.spec.nothere > 1"}, {"expression": "nosuch(1)"}]
    fail = run(policy(validations=rules)).decisions
    assert fail[0] == Decision(True, "expression 'object.spec.nothere > 1' resulted in error: no such key: nothere",
                               "", 0)
    assert fail[1].deny and fail[1].message.startswith(
        "compilation error: compilation failed: ERROR: <input>:1:1: undeclared reference to 'nosuch'")
    ignore = run(policy(validations=rules, failurePolicy="Ignore")).decisions
    assert [d.deny for d in ignore] == [False, False]


def test_match_conditions() -> None:
    rules = [{"expression": "false"}]
    skipped = policy(validations=rules, matchConditions=[{"name": "a", "expression": "object.spec.nothere"},
                                                         {"name": "b", "expression": "false"}])
    assert run(skipped).decisions == []  # a false condition wins over an error
    erring = policy(validations=rules, matchConditions=[{"name": "a", "expression": "object.spec.nothere"}])
    assert run(erring).decisions == [
        Decision(True, "expression 'object.spec.nothere' resulted in error: no such key: nothere")]
    erring["spec"]["failurePolicy"] = "Ignore"
    assert run(erring).decisions == []
    applies = policy(validations=rules, matchConditions=[{"name": "a", "expression": "true"}])
    assert [d.deny for d in run(applies).decisions] == [True]


def test_variables_are_lazy_and_see_params() -> None:
    pol = policy(validations=[{"expression": "variables.ok"}, {"expression": "variables.broken"}],
                 variables=[{"name": "limit", "expression": "int(params.data.max)"},
                            {"name": "ok", "expression": "object.spec.replicas <= variables.limit"},
                            {"name": "broken", "expression": "nosuch()"},
                            {"name": "unused", "expression": "object.spec.nothere"}])
    decisions = run(pol, replicas=3, params={"data": {"max": "5"}}).decisions
    assert decisions[0] == Decision(False, "", "", 0)
    assert decisions[1].deny and ('composited variable "broken" fails to compile: compilation failed: '
                                  "ERROR: <input>:1:1: undeclared reference to 'nosuch'") in decisions[1].message


def test_audit_annotations() -> None:
    pol = policy(validations=[{"expression": "true"}], auditAnnotations=[
        {"key": "replicas", "valueExpression": "'replicas: ' + string(object.spec.replicas)"},
        {"key": "none", "valueExpression": "null"},
        {"key": "number", "valueExpression": "1"}])
    result = run(pol)
    assert result.annotations == [("replicas", "replicas: 3")]
    assert result.annotation_errors == [
        "valueExpression '1' resulted in unsupported return type: int. Return type must be either string or null."]


def test_actions() -> None:
    result = run(policy(validations=[{"expression": "false", "message": "no"}]))
    out = Outcome()
    apply_actions(policy(), binding("b", actions=("Warn", "Audit")), result, out)
    assert out.denials == []
    assert out.warnings == ["Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': no"]
    assert out.audits == ['validation.policy.admission.k8s.io/validation_failure=[{"message": "no", "policy": "p", '
                          '"binding": "b", "expressionIndex": 0, "validationActions": ["Warn", "Audit"]}]']
    apply_actions(policy(), binding("b"), result, out)
    assert out.denials == [Denial("p", "b", "no", "Invalid")]
    assert denial_message(out.denials[0]) == "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no"
    assert denial_message(Denial("p", "", "bad")) == "ValidatingAdmissionPolicy 'p' denied request: bad"


def test_syntax_errors_for_the_policy_validation() -> None:
    assert syntax_error("object.spec.replicas <= 3") is None
    assert syntax_error("object.?spec.orValue(1) > 0") is None  # beyond cel-python's grammar: never refused
    assert syntax_error("1 +") == "compilation failed: ERROR: <input>:1:3: Syntax error\n | 1 +\n | ..^"


def test_authorizer_library() -> None:
    asked: list[tuple[str, dict[str, str]]] = []

    def check(user: Any, spec: Any) -> tuple[bool, str]:
        asked.append((user["username"], dict(spec)))
        return spec.get("resource") == "pods", "" if spec.get("resource") == "pods" else "no rule"

    request_resource = {"apiGroup": "apps", "apiVersion": "v1", "resource": "deployments", "subresource": "",
                        "namespace": "ns", "name": "web"}
    base = {"object": None, "oldObject": None, "request": None, "namespaceObject": None,
            "authorizer": authorizer_value({"username": "alice"}, check, request_resource)}
    pol = policy(validations=[
        {"expression": "authorizer.group('').resource('pods').namespace('ns').name('p').check('get').allowed()"},
        {"expression": "authorizer.requestResource.check('update').allowed()"},
        {"expression": "authorizer.requestResource.check('update').reason() == 'no rule'"},
        {"expression": "authorizer.serviceAccount('ns', 'sa').path('/healthz').check('get').allowed()"},
        {"expression": "authorizer.group('apps').check('get').allowed()"},  # no resource: not a check
    ])
    decisions = validate(pol, activation_for(base, pol, None)).decisions
    assert [d.deny for d in decisions] == [False, True, False, True, True]
    assert "no such overload" in decisions[4].message
    assert asked == [
        ("alice", {"apiGroup": "", "resource": "pods", "namespace": "ns", "name": "p", "verb": "get"}),
        ("alice", {**request_resource, "verb": "update"}),
        ("alice", {**request_resource, "verb": "update"}),
        ("system:serviceaccount:ns:sa", {"path": "/healthz", "verb": "get"}),
    ]
    # without an authorizer (in-process writers) everything is allowed
    base["authorizer"] = authorizer_value({}, None, request_resource)
    assert [d.deny for d in validate(pol, activation_for(base, pol, None)).decisions][:4] == [False, False, True, False]
