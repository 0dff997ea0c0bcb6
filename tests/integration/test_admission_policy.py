"""ValidatingAdmissionPolicy through the API and the real kubectl: params (a ConfigMap, a custom
resource), validation actions, selectors, match conditions, message expressions, variables and
failure policies, each refusal worded as the apiserver's."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import assert_status, configmap, deployment
from tests.integration.crd_fixtures import CrdEnv, crd_env, install, widget_crd
from tests.integration.test_auth import RBAC, SA_SUBJECT, secured_cluster
from tests.integration.test_auth import binding as auth_binding
from tests.integration.waiting import wait_for_condition

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

ADMISSION = "/apis/admissionregistration.k8s.io/v1"
POLICIES = f"{ADMISSION}/validatingadmissionpolicies"
BINDINGS = f"{ADMISSION}/validatingadmissionpolicybindings"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"

DEPLOYMENT_RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                   "resources": ["deployments"]}


def policy(name: str, validations: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"matchConstraints": {"resourceRules": [DEPLOYMENT_RULE]}, "validations": validations}
    body.update(spec)
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name}, "spec": body}


def binding(name: str, policy_name: str, actions: tuple[str, ...] = ("Deny",), **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": policy_name, "validationActions": list(actions), **spec}}


def dump(*objs: object) -> str:
    return yaml.safe_dump_all(objs)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[CrdEnv]:
    async with crd_env(tmp_path) as e:
        yield e


async def create(env: CrdEnv, *objs: dict[str, Any]) -> None:
    for obj in objs:
        path = POLICIES if obj["kind"] == "ValidatingAdmissionPolicy" else BINDINGS
        await env.api.ok("POST", path, body=obj)


async def post_deployment(env: CrdEnv, dep: dict[str, Any], ns: str = "default") -> tuple[int, Any]:
    code, body, _ = await env.api.post(DEPLOYMENTS.format(ns=ns), dep)
    return code, body


async def test_configmap_param_refuses_too_many_replicas(env: CrdEnv) -> None:
    await env.api.ok("POST", "/api/v1/namespaces/default/configmaps",
                     body=configmap("replica-limit", {"maxReplicas": "3"}))
    await create(env, policy(
        "max-replicas", [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)"}],
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"}),
        binding("max-replicas-default", "max-replicas",
                paramRef={"name": "replica-limit", "namespace": "default", "parameterNotFoundAction": "Deny"}))

    expected = ("ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-default' denied request: "
                "failed expression: object.spec.replicas <= int(params.data.maxReplicas)")
    code, out, err = await env.kubectl("apply", "-f", "-", stdin=dump(deployment("web", replicas=5)))
    assert code == 1, (out, err)
    assert err.strip() == f'The deployments "web" is invalid: : {expected}'

    code, status = await post_deployment(env, deployment("web", replicas=5))
    assert_status(code, status, 422, "Invalid")
    assert status["message"] == f'deployments.apps "web" is forbidden: {expected}'
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments",
                                 "causes": [{"message": expected}]}

    out = await env.ok("apply", "-f", "-", stdin=dump(deployment("web", replicas=3)))
    assert out.strip() == "deployment.apps/web created"
    # an update is judged too, and a new param value counts from the next request on
    four, nine = '{"spec": {"replicas": 4}}', '{"spec": {"replicas": 9}}'
    code, _, err = await env.kubectl("patch", "deployment", "web", "-p", four)
    assert code == 1 and expected in err, err
    await env.ok("patch", "configmap", "replica-limit", "-p", '{"data": {"maxReplicas": "4"}}')
    await env.ok("patch", "deployment", "web", "-p", four)
    # without its binding the policy does nothing
    await env.ok("delete", "validatingadmissionpolicybinding", "max-replicas-default")
    await env.ok("patch", "deployment", "web", "-p", nine)


async def test_custom_resource_param_selected_by_label(env: CrdEnv) -> None:
    await install(env.api, widget_crd())
    for name, replicas, team in (("small", 2, "a"), ("large", 6, "b")):
        await env.api.ok("POST", "/apis/example.com/v1/namespaces/default/widgets", body={
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name, "labels": {"limit": "yes", "team": team}},
            "spec": {"image": "nginx", "replicas": replicas}})
    await create(env, policy(
        "widget-limit", [{"expression": "object.spec.replicas <= params.spec.replicas",
                          "messageExpression": "'at most ' + string(params.spec.replicas) + ' replicas'"}],
        paramKind={"apiVersion": "example.com/v1", "kind": "Widget"}),
        # every selected param judges the object: the smallest limit wins
        binding("widget-limit", "widget-limit", paramRef={"selector": {"matchLabels": {"limit": "yes"}},
                                                          "parameterNotFoundAction": "Deny"}))
    code, status = await post_deployment(env, deployment("web", replicas=3))
    assert_status(code, status, 422, "Invalid")
    assert status["message"].endswith("denied request: at most 2 replicas")
    assert (await post_deployment(env, deployment("web", replicas=2)))[0] == 201


async def test_warn_action_is_a_kubectl_warning(env: CrdEnv) -> None:
    await create(env, policy("replicas", [{"expression": "object.spec.replicas <= 2", "message": "too many replicas"}]),
                 binding("replicas-warn", "replicas", ("Warn", "Audit")))
    code, out, err = await env.kubectl("apply", "-f", "-", stdin=dump(deployment("web", replicas=5)))
    assert code == 0, err
    assert out.strip() == "deployment.apps/web created"
    assert err.strip() == ("Warning: Validation failed for ValidatingAdmissionPolicy 'replicas' with binding "
                           "'replicas-warn': too many replicas")


async def test_namespace_and_object_selectors(env: CrdEnv) -> None:
    for ns, labels in (("prod", {"env": "prod"}), ("dev", {"env": "dev"})):
        await env.api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": ns, "labels": labels}})
    await create(env, policy("one-replica", [{"expression": "object.spec.replicas == 1"}],
                             matchConstraints={"resourceRules": [DEPLOYMENT_RULE],
                                               "objectSelector": {"matchExpressions": [
                                                   {"key": "exempt", "operator": "DoesNotExist"}]}}),
                 binding("one-replica-prod", "one-replica",
                         matchResources={"namespaceSelector": {"matchLabels": {"env": "prod"}}}))
    code, status = await post_deployment(env, deployment("web", replicas=2), "prod")
    assert_status(code, status, 422, "Invalid")
    assert (await post_deployment(env, deployment("web", replicas=2), "dev"))[0] == 201
    exempt = deployment("exempt", replicas=2)
    exempt["metadata"]["labels"]["exempt"] = "true"
    assert (await post_deployment(env, exempt, "prod"))[0] == 201
    # the namespace's labels are read as they are now
    await env.api.ok("PATCH", "/api/v1/namespaces/dev", body={"metadata": {"labels": {"env": "prod"}}},
                     content_type="application/merge-patch+json")
    code, _ = await post_deployment(env, deployment("other", replicas=2), "dev")
    assert code == 422


async def test_match_conditions_variables_message_expression_and_reason(env: CrdEnv) -> None:
    await create(env, policy(
        "replicas", [{"expression": "variables.replicas <= variables.limit",
                      "messageExpression": "'replicas ' + string(variables.replicas) + ' over ' + "
                                           "string(variables.limit) + ' for ' + request.userInfo.username",
                      "reason": "Forbidden"}],
        # a policy with a paramKind bound without a paramRef sees params as null
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
        variables=[{"name": "replicas", "expression": "object.spec.replicas"},
                   {"name": "limit", "expression": "params == null ? 2 : int(params.data.limit)"}],
        matchConditions=[{"name": "not-exempt", "expression": "object.metadata.name != 'exempt'"},
                         {"name": "in-namespace", "expression": "namespaceObject.metadata.name == 'default'"}]),
        binding("replicas", "replicas"))
    code, status = await post_deployment(env, deployment("web", replicas=3))
    assert_status(code, status, 403, "Forbidden")
    assert status["message"] == ('deployments.apps "web" is forbidden: ValidatingAdmissionPolicy \'replicas\' with '
                                 "binding 'replicas' denied request: replicas 3 over 2 for kubernetes-admin")
    assert (await post_deployment(env, deployment("exempt", replicas=3)))[0] == 201
    assert (await post_deployment(env, deployment("web", replicas=2)))[0] == 201


@pytest.mark.parametrize("failure", ["Fail", "Ignore"])
async def test_missing_param_follows_failure_policy(env: CrdEnv, failure: str) -> None:
    await create(env, policy("needs-param", [{"expression": "object.spec.replicas <= int(params.data.max)"}],
                             paramKind={"apiVersion": "v1", "kind": "ConfigMap"}, failurePolicy=failure),
                 binding("deny-missing", "needs-param",
                         paramRef={"name": "absent", "parameterNotFoundAction": "Deny"}),
                 binding("allow-missing", "needs-param",
                         paramRef={"name": "absent", "parameterNotFoundAction": "Allow"}))
    code, status = await post_deployment(env, deployment("web", replicas=1))
    if failure == "Ignore":
        assert code == 201, status
        return
    assert_status(code, status, 422, "Invalid")
    assert status["message"] == (
        "deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'needs-param' with binding "
        "'deny-missing' denied request: failed to configure binding: no params found for policy binding "
        "with `Deny` parameterNotFoundAction")


@pytest.mark.parametrize("failure", ["Fail", "Ignore"])
async def test_unknown_function_follows_failure_policy(env: CrdEnv, failure: str) -> None:
    await create(env, policy("broken", [{"expression": "nosuch(object.spec.replicas)"}], failurePolicy=failure),
                 binding("broken", "broken"))
    code, out, err = await env.kubectl("apply", "-f", "-", stdin=dump(deployment("web", replicas=1)))
    if failure == "Ignore":
        assert code == 0 and out.strip() == "deployment.apps/web created", err
        return
    assert code == 1
    assert ("ValidatingAdmissionPolicy 'broken' with binding 'broken' denied request: compilation error: "
            "compilation failed: ERROR: <input>:1:1: undeclared reference to 'nosuch' (in container '')") in err, err


async def test_expression_that_does_not_parse_is_refused_when_written(env: CrdEnv) -> None:
    code, _, err = await env.kubectl("apply", "-f", "-", stdin=dump(policy("typo", [{"expression": "1 +"}])))
    assert code == 1
    assert ('The ValidatingAdmissionPolicy "typo" is invalid: spec.validations[0].expression: Invalid value: '
            '"1 +": compilation failed: ERROR: <input>:1:3: Syntax error') in err, err


async def test_authorizer_asks_rbac_for_the_requesting_user(tmp_path: Path) -> None:
    async with secured_cluster(tmp_path) as cluster:
        await cluster.ok("POST", f"{RBAC}/namespaces/team/roles", {"metadata": {"name": "cm-writer"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]})
        await cluster.ok("POST", f"{RBAC}/namespaces/team/rolebindings",
                         auth_binding("reader-cm", "Role", "cm-writer", SA_SUBJECT))
        rule = {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}
        await cluster.ok("POST", POLICIES, policy("secret-admins", [
            {"expression": "authorizer.requestResource.check('create').allowed()"},
            {"expression": "authorizer.group('').resource('secrets').namespace(object.metadata.namespace)"
                           ".check('delete').allowed()", "message": "only those who may delete secrets"},
            {"expression": "request.userInfo.username != 'kubernetes-admin' || !authorizer.serviceAccount("
                           "'team', 'reader').group('').resource('secrets').check('delete').allowed()"},
        ], matchConstraints={"resourceRules": [rule]}))
        await cluster.ok("POST", BINDINGS, binding("secret-admins", "secret-admins"))
        token = await cluster.token("team", "reader")

        async def refused() -> Any:
            code, body = await cluster.call("POST", "/api/v1/namespaces/team/configmaps", configmap("mine"),
                                            token=token)
            assert code == 422, (code, body)
            return body
        body = await wait_for_condition(refused, 15.0)  # the RoleBinding reaches RBAC's cache
        assert body["message"] == ('configmaps "mine" is forbidden: ValidatingAdmissionPolicy \'secret-admins\' '
                                   "with binding 'secret-admins' denied request: only those who may delete secrets")
        await cluster.ok("POST", "/api/v1/namespaces/team/configmaps", configmap("admins"))


async def test_old_object_on_update(env: CrdEnv) -> None:
    await create(env, policy("no-scale-down", [
        {"expression": "request.operation == 'CREATE' ? oldObject == null : "
                       "object.spec.replicas >= oldObject.spec.replicas",
         "messageExpression": "request.operation + ' from ' + string(oldObject.spec.replicas)"}]),
        binding("no-scale-down", "no-scale-down"))
    assert (await post_deployment(env, deployment("web", replicas=3)))[0] == 201
    code, _, err = await env.kubectl("patch", "deployment", "web", "-p", '{"spec": {"replicas": 2}}')
    assert code == 1 and "denied request: UPDATE from 3" in err, err
    await env.ok("patch", "deployment", "web", "-p", '{"spec": {"replicas": 4}}')


async def test_delete_is_judged_on_the_old_object(env: CrdEnv) -> None:
    rule = {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["DELETE"], "resources": ["configmaps"]}
    await create(env, policy("keep-protected", [
        {"expression": "object == null && !(has(oldObject.metadata.labels) && "
                       "oldObject.metadata.labels['protected'] == 'true')",
         "message": "protected", "reason": "Forbidden"}], matchConstraints={"resourceRules": [rule]}),
        binding("keep-protected", "keep-protected"))
    await env.api.ok("POST", "/api/v1/namespaces/default/configmaps", body=configmap("keep", labels={"protected": "true"}))
    await env.api.ok("POST", "/api/v1/namespaces/default/configmaps", body=configmap("drop"))
    code, _, err = await env.kubectl("delete", "configmap", "keep")
    assert code == 1
    assert err.strip() == ('Error from server (Forbidden): configmaps "keep" is forbidden: ValidatingAdmissionPolicy '
                           "'keep-protected' with binding 'keep-protected' denied request: protected")
    out = await env.ok("delete", "configmap", "drop")
    assert out.strip() == 'configmap "drop" deleted'
