"""Which webhooks a request calls and what their answers mean (admission_webhook_match.py), as the
tables of upstream's predicates/rules, namespace and object matchers and request tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.resources.admission_webhook_match import (
    InvalidResponse,
    Request,
    calling_failed,
    denied,
    exempt,
    hooks_of,
    needs_namespace_labels,
    own_namespace_labels,
    plan_invocation,
    plan_reinvocation,
    rule_matches,
    verify_response,
)

Obj = dict[str, Any]


def req(operation: str = "CREATE", group: str = "", version: str = "v1", resource: str = "pods",
        subresource: str = "", namespace: str = "ns", kind: str = "Pod", labels: dict[str, str] | None = None,
        old_labels: dict[str, str] | None = None) -> Request:
    obj = {"metadata": {"name": "x", "labels": labels or {}}}
    old = {"metadata": {"name": "x", "labels": old_labels}} if old_labels is not None else None
    return Request(operation, group, version, resource, subresource, kind, namespace, "x", obj, old)


def rule(operations: list[str] | None = None, groups: list[str] | None = None, versions: list[str] | None = None,
         resources: list[str] | None = None, scope: str | None = None) -> Obj:
    r: Obj = {"operations": operations or ["*"], "apiGroups": groups or ["*"], "apiVersions": versions or ["*"],
              "resources": resources or ["*"]}
    if scope:
        r["scope"] = scope
    return r


@pytest.mark.parametrize(("the_rule", "request_", "matches"), [
    (rule(), req(), True),
    (rule(operations=["UPDATE"]), req(), False),
    (rule(operations=["CREATE", "UPDATE"]), req(operation="UPDATE"), True),
    (rule(groups=["apps"]), req(), False),
    (rule(groups=["apps"]), req(group="apps", resource="deployments"), True),
    (rule(versions=["v1beta1"]), req(), False),
    (rule(resources=["pods"]), req(subresource="status"), False),  # a subresource must be named
    (rule(resources=["pods/status"]), req(subresource="status"), True),
    (rule(resources=["pods/*"]), req(subresource="log"), True),
    (rule(resources=["pods/*"]), req(), True),  # sub "*" matches no subresource too (rules.Matcher.resource)
    (rule(resources=["*/status"]), req(resource="deployments", subresource="status"), True),
    (rule(resources=["*/*"]), req(), True),  # "all resources and their subresources"
    (rule(resources=["*"]), req(subresource="status"), False),
    (rule(scope="Namespaced"), req(), True),
    (rule(scope="Namespaced"), req(namespace=""), False),
    (rule(scope="Cluster"), req(namespace=""), True),
    (rule(scope="Cluster"), req(), False),
    # a Namespace is cluster-scoped, though its requests carry its own name as namespace
    (rule(scope="Cluster"), req(resource="namespaces", namespace="ns"), True),
    (rule(scope="Namespaced"), req(resource="namespaces", namespace="ns"), False),
])
def test_rules(the_rule: Obj, request_: Request, matches: bool) -> None:
    assert rule_matches(the_rule, request_) is matches


def webhook(**fields: Any) -> Obj:
    return {"name": "a.example.com", "clientConfig": {"url": "https://h/"}, "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "rules": [rule(resources=["pods"])], **fields}


def config(name: str, *hooks: Obj) -> Obj:
    return {"metadata": {"name": name}, "webhooks": list(hooks)}


def test_configurations_in_name_order_then_their_webhooks_with_defaults() -> None:
    hooks = hooks_of([config("b", webhook(name="b1")), config("a", webhook(name="a1"), webhook(name="a2"))], True)
    assert [h.name for h in hooks] == ["a1", "a2", "b1"]
    h = hooks[0]
    assert (h.failure_policy, h.match_policy, h.timeout, h.reinvocation) == ("Fail", "Equivalent", 10, "Never")
    assert hooks_of([config("c", webhook(timeoutSeconds=99))], False)[0].timeout == 30


def test_selectors() -> None:
    [h] = hooks_of([config("c", webhook(namespaceSelector={"matchLabels": {"env": "prod"}},
                                        objectSelector={"matchExpressions": [{"key": "app", "operator": "Exists"}]}))],
                   False)
    assert needs_namespace_labels([h], req())
    assert plan_invocation(h, req(labels={"app": "x"}), {"env": "prod"}) is not None
    assert plan_invocation(h, req(labels={"app": "x"}), {"env": "dev"}) is None
    assert plan_invocation(h, req(labels={}), {"env": "prod"}) is None
    assert plan_invocation(h, req(labels={}, old_labels={"app": "x"}), {"env": "prod"}) is not None  # the old one counts
    cluster = req(resource="nodes", namespace="", labels={"app": "x"})
    assert not needs_namespace_labels([h], cluster)  # cluster-scoped: never exempted by namespace
    assert plan_invocation(h, cluster, None) is None  # (not in the rules anyway)


def test_a_namespace_is_judged_by_its_own_new_labels() -> None:
    r = req(resource="namespaces", kind="Namespace", labels={"env": "prod"})
    assert own_namespace_labels(r) == {"env": "prod"}
    assert own_namespace_labels(req(operation="DELETE", resource="namespaces")) is None


def test_match_policy_equivalent_tries_the_other_served_versions() -> None:
    hooks = hooks_of([config("c", webhook(rules=[rule(groups=["autoscaling"], versions=["v1"],
                                                       resources=["horizontalpodautoscalers"])]))], False)
    r = req(group="autoscaling", version="v2", resource="horizontalpodautoscalers", kind="HorizontalPodAutoscaler")

    def equivalents(group: str, resource: str) -> list[tuple[str, str]]:
        return [("v1", "HorizontalPodAutoscaler"), ("v2", "HorizontalPodAutoscaler")]
    inv = plan_invocation(hooks[0], r, None, equivalents)
    assert inv is not None and (inv.version, inv.kind) == ("v1", "HorizontalPodAutoscaler")
    exact = hooks_of([config("c", webhook(matchPolicy="Exact", rules=hooks[0].rules))], False)[0]
    assert plan_invocation(exact, r, None, equivalents) is None


def test_the_admission_configuration_kinds_are_exempt() -> None:
    assert exempt("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")
    assert exempt("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding")
    assert not exempt("", "Pod")


def answer(**response: Any) -> Obj:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": "u", **response}}


def test_verify_response() -> None:
    ops = [{"op": "add", "path": "/metadata/labels/a", "value": "b"}]
    patch = base64.b64encode(json.dumps(ops).encode()).decode()
    result = verify_response("u", True, answer(allowed=True, patchType="JSONPatch", patch=patch, warnings=["w"]))
    assert result.allowed and result.patch == ops and result.warnings == ("w",)
    for body, message in [
        (answer(allowed=True, uid="other"), 'expected response.uid="u", got "other"'),
        ({**answer(allowed=True), "apiVersion": "admission.k8s.io/v1beta1"},
         "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got "
         "admission.k8s.io/v1beta1, Kind=AdmissionReview"),
        (answer(allowed=True, patch=patch), "webhook returned response.patch but not response.patchType"),
        (answer(allowed=True, patchType="JSONPatch"), "webhook returned response.patchType but not response.patch"),
        ({"kind": "AdmissionReview"}, "webhook response was absent"),
    ]:
        with pytest.raises(InvalidResponse) as e:
            verify_response("u", True, body)
        assert str(e.value) == message
    with pytest.raises(InvalidResponse, match="validating webhook may not return response.patch"):
        verify_response("u", False, answer(allowed=True, patchType="JSONPatch", patch=patch))


def test_denials_in_the_apiservers_words() -> None:
    err = denied("a.example.com", {"message": "no", "code": 403, "reason": "Forbidden"})
    assert (err.code, err.status()["message"], err.status()["reason"]) == (
        403, 'admission webhook "a.example.com" denied the request: no', "Forbidden")
    bare = denied("a.example.com", None)
    assert bare.code == 400 and bare.status()["message"] == 'admission webhook "a.example.com" denied the request without explanation'
    assert "reason" not in bare.status()
    assert denied("a", {"reason": "Nope", "code": 200}).status()["message"] == 'admission webhook "a" denied the request: Nope'
    failed = calling_failed("a", "failed to call webhook: boom")
    assert isinstance(failed, errors.InternalError)
    assert failed.status()["message"] == 'Internal error occurred: failed calling webhook "a": failed to call webhook: boom'
    assert failed.status()["details"]["causes"] == [{"message": 'failed calling webhook "a": failed to call webhook: boom'}]


@pytest.mark.parametrize(("invoked", "again"), [
    ([("a", False, True), ("b", True, False)], {"a"}),  # a later change asks a again
    ([("a", True, True), ("b", False, False)], set()),  # its own change does not
    ([("a", False, False), ("b", True, False)], set()),  # Never
    ([("a", False, True), ("b", True, True), ("c", True, False)], {"a", "b"}),
    ([("a", False, True)], set()),
])
def test_reinvocation(invoked: list[tuple[str, bool, bool]], again: set[str]) -> None:
    assert plan_reinvocation(invoked) == again


class _Configurations:
    """What the plugin reads of the resource layer: the stored configurations (as an older apiserver
    may have stored them: sideEffects Some or Unknown are refused for new ones since v1)."""

    def __init__(self, *items: Obj) -> None:
        self.items = list(items)

    async def list(self, rt: Any, namespace: str | None) -> tuple[list[Obj], Obj]:
        return (self.items if rt.plural == "validatingwebhookconfigurations" else []), {}


async def test_a_dry_run_is_refused_by_a_webhook_with_side_effects() -> None:
    from boxk8s.resources import registry
    from boxk8s.resources.admission_plugins import Attributes
    from boxk8s.resources.admission_webhook import Webhooks

    stored = {"metadata": {"name": "c", "resourceVersion": "1"},
              "webhooks": [webhook(name="effects.example.com", sideEffects="Some")]}
    pods = registry.find("", "v1", "pods")
    attrs = Attributes("CREATE", pods, "ns", {"metadata": {"name": "p"}}, dry_run=True)
    with pytest.raises(errors.BadRequest) as e:
        await Webhooks().validate(attrs, _Configurations(stored))  # type: ignore[arg-type]
    assert e.value.message == 'admission webhook "effects.example.com" does not support dry run'
