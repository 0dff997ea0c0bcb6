"""Admission webhooks called by the in-process API: a webhook served over HTTPS by the test
process (clientConfig.url, or a Service whose EndpointSlice leads to it) refuses, mutates,
warns, times out or is down, and the API answers as the apiserver does; kubectl shows it."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import CM, configmap
from tests.integration.crd_fixtures import CrdEnv, crd_env
from tests.integration.webhook_server import WebhookServer, add_labels, allow, deny, webhook_server

Obj = dict[str, Any]
ADMISSION = "/apis/admissionregistration.k8s.io/v1"
VWC = f"{ADMISSION}/validatingwebhookconfigurations"
MWC = f"{ADMISSION}/mutatingwebhookconfigurations"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[CrdEnv]:
    async with crd_env(tmp_path) as e:
        yield e


@pytest.fixture
async def hook_server(tmp_path: Path) -> AsyncIterator[WebhookServer]:
    async with webhook_server(tmp_path / "webhook-pki") as s:
        yield s


def hook(name: str, client_config: Obj, *, resources: tuple[str, ...] = ("configmaps",),
         operations: tuple[str, ...] = ("CREATE",), **extra: Any) -> Obj:
    return {"name": name, "clientConfig": client_config, "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "rules": [{"operations": list(operations), "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": list(resources)}], **extra}


def configuration(kind: str, name: str, *hooks: Obj) -> Obj:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": list(hooks)}


async def validating(env: CrdEnv, name: str, *hooks: Obj) -> None:
    await env.api.ok("POST", VWC, body=configuration("ValidatingWebhookConfiguration", name, *hooks))


async def mutating(env: CrdEnv, name: str, *hooks: Obj) -> None:
    await env.api.ok("POST", MWC, body=configuration("MutatingWebhookConfiguration", name, *hooks))


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_validating_webhook_refuses_with_its_message_and_sees_the_request(
        env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/deny"] = deny("no thanks")
    await validating(env, "deny", hook("deny.example.com", hook_server.client_config("/deny")))
    code, body, _ = await env.api.post(CM, configmap("refused"))
    assert code == 403 and body["code"] == 403 and body["status"] == "Failure", body
    assert body["message"] == 'admission webhook "deny.example.com" denied the request: no thanks'
    assert "reason" not in body  # the webhook gave none: ToStatusErr adds none
    code, _, _ = await env.api.get(f"{CM}/refused")
    assert code == 404
    review = hook_server.reviews["/deny"][-1]
    assert review["apiVersion"] == "admission.k8s.io/v1" and review["kind"] == "AdmissionReview"
    request = review["request"]
    assert request["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert request["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert (request["operation"], request["name"], request["namespace"]) == ("CREATE", "refused", "default")
    assert request["object"]["metadata"]["name"] == "refused" and request["oldObject"] is None
    assert request["dryRun"] is False and request["options"]["kind"] == "CreateOptions"
    assert request["userInfo"]["username"]
    # updates are not in the rule: admitted
    hook_server.answers["/deny"] = allow
    await env.api.ok("POST", CM, body=configmap("kept"))
    hook_server.answers["/deny"] = deny("no thanks")
    await env.api.ok("PUT", f"{CM}/kept", body=configmap("kept", {"k": "changed"}))


async def test_kubectl_shows_the_denial_and_the_warnings(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/deny"] = lambda _: {"allowed": False, "warnings": ["think twice"],
                                              "status": {"message": "names must start with ok-", "code": 403,
                                                                     "reason": "Forbidden"}}
    await validating(env, "deny", hook("deny.example.com", hook_server.client_config("/deny")))
    code, _, err = await env.kubectl("create", "-f", "-", stdin=json.dumps(configmap("bad")))
    assert code == 1
    assert "Warning: think twice" in err
    assert ('Error from server (Forbidden): error when creating "STDIN": admission webhook "deny.example.com" '
            "denied the request: names must start with ok-") in err


async def test_a_mutating_webhook_adds_a_label_and_its_warning_reaches_kubectl(
        env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/label"] = add_labels({"team": "blue", "example.com/by": "webhook"}, warnings=["labelled"])
    await mutating(env, "label", hook("label.example.com", hook_server.client_config("/label")))
    code, body, resp = await env.api.post(CM, configmap("cm"))
    assert code == 201, body
    assert body["metadata"]["labels"] == {"team": "blue", "example.com/by": "webhook"}
    assert resp.headers.getall("Warning") == ['299 - "labelled"']
    stored = await env.api.ok("GET", f"{CM}/cm")
    assert stored["metadata"]["labels"] == {"team": "blue", "example.com/by": "webhook"}
    code, out, err = await env.kubectl("create", "configmap", "by-kubectl")
    assert code == 0 and "Warning: labelled" in err, (out, err)
    labels = json.loads((await env.kubectl("get", "cm", "by-kubectl", "-o", "json"))[1])["metadata"]["labels"]
    assert labels["team"] == "blue"


async def test_failure_policy_fail_refuses_and_ignore_admits_when_the_webhook_is_down(env: CrdEnv) -> None:
    port = closed_port()
    url = f"https://127.0.0.1:{port}/check"
    await validating(env, "down", hook("down.example.com", {"url": url}, failurePolicy="Fail"))
    code, body, _ = await env.api.post(CM, configmap("refused"))
    assert code == 500 and body["reason"] == "InternalError", body
    assert body["message"] == (
        'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: '
        f'Post "{url}?timeout=10s": dial tcp 127.0.0.1:{port}: connect: connection refused')
    code, _, err = await env.kubectl("create", "configmap", "by-kubectl")
    assert code == 1 and 'failed calling webhook "down.example.com"' in err
    config = await env.api.ok("GET", f"{VWC}/down")  # the configuration itself is never sent to webhooks
    config["webhooks"][0]["failurePolicy"] = "Ignore"
    await env.api.ok("PUT", f"{VWC}/down", body=config)
    await env.api.ok("POST", CM, body=configmap("admitted"))


async def test_a_webhook_that_does_not_answer_fails_within_its_timeout(
        env: CrdEnv, hook_server: WebhookServer) -> None:
    await validating(env, "slow", hook("slow.example.com", hook_server.client_config("/slow"), timeoutSeconds=1))
    code, body, _ = await env.api.post(CM, configmap("refused"))
    assert code == 500, body
    assert body["message"].endswith(
        f'failed to call webhook: Post "{hook_server.url("/slow")}?timeout=1s": context deadline exceeded')
    assert hook_server.reviews["/slow"]


async def test_broken_answers_fail_the_call(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/wrong-uid"] = lambda _: {"allowed": True, "uid": "not-yours"}
    await validating(env, "wrong", hook("wrong.example.com", hook_server.client_config("/wrong-uid")))
    code, body, _ = await env.api.post(CM, configmap("a"))
    assert code == 500 and "received invalid webhook response: expected response.uid=" in body["message"], body
    await env.api.ok("DELETE", f"{VWC}/wrong")
    await validating(env, "broken", hook("broken.example.com", hook_server.client_config("/broken")))
    code, body, _ = await env.api.post(CM, configmap("b"))
    assert code == 500 and 'an error on the server ("it broke")' in body["message"], body


async def test_a_wrong_ca_bundle_fails_the_tls_handshake(env: CrdEnv, hook_server: WebhookServer,
                                                          tmp_path: Path) -> None:
    async with webhook_server(tmp_path / "other-pki") as other:
        config = {"url": hook_server.url("/allow"), "caBundle": other.ca_bundle}
        await validating(env, "tls", hook("tls.example.com", config))
        code, body, _ = await env.api.post(CM, configmap("a"))
    assert code == 500 and body["message"].endswith(
        "tls: failed to verify certificate: x509: certificate signed by unknown authority"), body
    assert "/allow" not in hook_server.reviews


async def test_namespace_and_object_selectors(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/deny"] = deny("selected")
    await env.api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "guarded", "labels": {"guard": "on"}}})
    await validating(env, "ns", hook("ns.example.com", hook_server.client_config("/deny"),
                                     namespaceSelector={"matchLabels": {"guard": "on"}}))
    await env.api.ok("POST", CM, body=configmap("free"))  # default: not selected
    code, body, _ = await env.api.post("/api/v1/namespaces/guarded/configmaps", configmap("held"))
    assert code == 403 and "selected" in body["message"], body
    await env.api.ok("DELETE", f"{VWC}/ns")
    await validating(env, "obj", hook("obj.example.com", hook_server.client_config("/deny"),
                                      objectSelector={"matchExpressions": [{"key": "checked", "operator": "Exists"}]}))
    await env.api.ok("POST", CM, body=configmap("plain"))
    code, body, _ = await env.api.post(CM, configmap("marked", labels={"checked": "yes"}))
    assert code == 403, body


async def test_rules_with_subresources_and_wildcards(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/deny"] = deny("status is frozen")
    await validating(env, "status", {
        **hook("status.example.com", hook_server.client_config("/deny")),
        "rules": [{"operations": ["UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/status"]}]})
    ns = await env.api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "sub"}})
    await env.api.ok("PUT", "/api/v1/namespaces/sub", body={**ns, "metadata": {**ns["metadata"], "labels": {"a": "b"}}})
    current = await env.api.ok("GET", "/api/v1/namespaces/sub")
    code, body, _ = await env.api.put("/api/v1/namespaces/sub/status", body=current)
    assert code == 403 and body["message"].endswith("status is frozen"), body
    request = hook_server.reviews["/deny"][-1]["request"]
    assert request["subResource"] == "status" and request["oldObject"]["metadata"]["name"] == "sub"


async def test_match_conditions_choose_the_requests(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/deny"] = deny("conditioned")
    await validating(env, "cel", hook("cel.example.com", hook_server.client_config("/deny"), matchConditions=[
        {"name": "not-skipped", "expression": "object.metadata.name != 'skip-me'"},
        {"name": "creates", "expression": "request.operation == 'CREATE'"}]))
    await env.api.ok("POST", CM, body=configmap("skip-me"))
    code, _, _ = await env.api.post(CM, configmap("other"))
    assert code == 403


async def test_dry_run_requests_reach_webhooks_without_side_effects(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/label"] = add_labels({"dry": "run"})
    await mutating(env, "label", hook("label.example.com", hook_server.client_config("/label"),
                                      sideEffects="NoneOnDryRun"))
    body = await env.api.ok("POST", CM, body=configmap("dry"), params={"dryRun": "All"})
    assert body["metadata"]["labels"] == {"dry": "run"}
    request = hook_server.reviews["/label"][-1]["request"]
    assert request["dryRun"] is True and request["options"]["dryRun"] == ["All"]
    code, _, _ = await env.api.get(f"{CM}/dry")
    assert code == 404


async def test_reinvocation_if_needed_sees_a_later_webhooks_change(env: CrdEnv, hook_server: WebhookServer) -> None:
    def seen(request: Obj) -> dict[str, str]:
        labels = (request["object"]["metadata"].get("labels") or {})
        return {"seen-by-a": labels.get("b", "none")}
    hook_server.answers["/a"] = add_labels(seen)
    hook_server.answers["/b"] = add_labels({"b": "1"})
    await mutating(env, "1-a", hook("a.example.com", hook_server.client_config("/a"), reinvocationPolicy="IfNeeded"))
    await mutating(env, "2-b", hook("b.example.com", hook_server.client_config("/b")))
    body = await env.api.ok("POST", CM, body=configmap("again"))
    assert body["metadata"]["labels"] == {"seen-by-a": "1", "b": "1"}
    assert len(hook_server.reviews["/a"]) == 2 and len(hook_server.reviews["/b"]) == 1
    config = await env.api.ok("GET", f"{MWC}/1-a")
    config["webhooks"][0]["reinvocationPolicy"] = "Never"
    await env.api.ok("PUT", f"{MWC}/1-a", body=config)
    body = await env.api.ok("POST", CM, body=configmap("once"))
    assert body["metadata"]["labels"] == {"seen-by-a": "none", "b": "1"}


async def test_a_service_webhook_is_called_at_a_ready_endpoint_with_the_service_name(
        env: CrdEnv, tmp_path: Path) -> None:
    async with webhook_server(tmp_path / "svc-pki", hosts=("hooks.default.svc",)) as server:
        server.answers["/v"] = deny("from the service")
        await env.api.ok("POST", "/api/v1/namespaces/default/services", body={
            "metadata": {"name": "hooks"}, "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 9443}]}})
        config = {"service": {"name": "hooks", "namespace": "default", "path": "/v"}, "caBundle": server.ca_bundle}
        await validating(env, "svc", hook("svc.example.com", config))
        code, body, _ = await env.api.post(CM, configmap("a"))
        assert code == 500 and body["message"].endswith(
            'Post "https://hooks.default.svc:443/v?timeout=10s": no endpoints available for service "hooks"'), body
        await env.api.ok("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", body={
            "metadata": {"name": "hooks-1", "labels": {"kubernetes.io/service-name": "hooks"}},
            "addressType": "IPv4", "ports": [{"name": "https", "port": server.port, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]})
        code, body, _ = await env.api.post(CM, configmap("b"))
        assert code == 403 and body["message"].endswith("denied the request: from the service"), body


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
async def test_kubectl_can_remove_a_webhook_that_refuses_everything(env: CrdEnv) -> None:
    await validating(env, "all", {**hook("all.example.com", {"url": f"https://127.0.0.1:{closed_port()}/"}),
                                  "rules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
                                             "resources": ["*"]}]})
    code, _, err = await env.kubectl("create", "namespace", "blocked")
    assert code == 1 and "failed calling webhook" in err
    out = await env.ok("delete", "validatingwebhookconfiguration", "all")
    assert "deleted" in out
    await asyncio.wait_for(env.ok("create", "namespace", "open"), 30)


async def test_deletes_are_admitted_with_the_old_object(env: CrdEnv, hook_server: WebhookServer) -> None:
    await env.api.ok("POST", CM, body=configmap("keep-me"))
    hook_server.answers["/deny"] = deny("this one stays")
    await validating(env, "del", hook("del.example.com", hook_server.client_config("/deny"), operations=("DELETE",)))
    code, _, err = await env.kubectl("delete", "configmap", "keep-me")
    assert code == 1 and 'admission webhook "del.example.com" denied the request: this one stays' in err, err
    await env.api.ok("GET", f"{CM}/keep-me")
    request = hook_server.reviews["/deny"][-1]["request"]
    assert (request["operation"], request["name"], request["object"]) == ("DELETE", "keep-me", None)
    assert request["oldObject"]["metadata"]["name"] == "keep-me" and request["options"]["kind"] == "DeleteOptions"
    hook_server.answers["/deny"] = allow
    await env.ok("delete", "configmap", "keep-me")


async def test_updates_are_patched_too(env: CrdEnv, hook_server: WebhookServer) -> None:
    hook_server.answers["/label"] = add_labels({"touched": "yes"})
    await env.api.ok("POST", CM, body=configmap("cm", labels={"app": "x"}))
    await mutating(env, "label", hook("label.example.com", hook_server.client_config("/label"), operations=("UPDATE",)))
    body = await env.api.ok("PUT", f"{CM}/cm", body=configmap("cm", {"k": "new"}, labels={"app": "x"}))
    assert body["metadata"]["labels"] == {"app": "x", "touched": "yes"} and body["data"] == {"k": "new"}
    request = hook_server.reviews["/label"][-1]["request"]
    assert request["operation"] == "UPDATE" and request["oldObject"]["data"] == {"k": "v"}
    assert request["options"]["kind"] == "UpdateOptions"


async def test_match_policy_equivalent_sends_the_version_the_rule_names(
        env: CrdEnv, hook_server: WebhookServer) -> None:
    await validating(env, "hpa", {**hook("hpa.example.com", hook_server.client_config("/hpa")), "rules": [
        {"operations": ["CREATE"], "apiGroups": ["autoscaling"], "apiVersions": ["v1"],
         "resources": ["horizontalpodautoscalers"]}]})
    await env.api.ok("POST", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", body={
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 3}})
    request = hook_server.reviews["/hpa"][-1]["request"]
    assert request["kind"] == {"group": "autoscaling", "version": "v1", "kind": "HorizontalPodAutoscaler"}
    assert request["requestKind"]["version"] == "v2" and request["object"]["apiVersion"] == "autoscaling/v1"
    assert request["object"]["spec"]["maxReplicas"] == 3
