"""Authentication and RBAC over the real HTTPS API of an assembled cluster (fake nodes): the admin
token, ServiceAccount tokens (TokenRequest, bound, expired), anonymous requests, RBAC with upstream's
403, impersonation, the review kinds, the root CA ConfigMap and the token volume of a pod."""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from boxk8s.cluster import running
from boxk8s.cluster.components import Components
from boxk8s.config import ClusterSettings
from boxk8s.controllers.rootcacert import RootCACertPublisher
from boxk8s.kubelet.settings import NodeSettings
from boxk8s.kubelet.volumes import pod_dir
from boxk8s.tls import ensure_credentials
from tests.integration.controllers_harness import FAST
from tests.integration.samples import SAMPLES
from tests.integration.waiting import wait_for_condition

Obj = dict[str, Any]
DEADLINE = 15.0
ISSUER = "https://kubernetes.default.svc.cluster.local"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@dataclass
class Cluster:
    c: Components
    session: aiohttp.ClientSession
    admin: str

    async def call(self, method: str, path: str, body: Any = None, *, token: str | None = "admin",
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {self.admin if token == 'admin' else token}"
        async with self.session.request(method, path, json=body, headers=hdrs) as resp:
            raw = await resp.read()
            is_json = resp.content_type == "application/json"
            return resp.status, json.loads(raw) if raw and is_json else raw

    async def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        code, got = await self.call(method, path, body, **kw)
        assert 200 <= code < 300, (method, path, code, got)
        return got

    async def token(self, namespace: str, account: str, spec: Obj | None = None) -> str:
        answer = await self.ok("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
                               {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec or {}})
        return str(answer["status"]["token"])


@contextlib.asynccontextmanager
async def secured_cluster(tmp: Path) -> AsyncIterator[Cluster]:
    settings = ClusterSettings(state_dir=tmp, port=0, cluster_name="test", ingress_port=0, ingress_tls_port=0,
                               stop_timeout=DEADLINE)
    ca = ensure_credentials(tmp).ca_pem  # what assemble() will find
    publisher = functools.partial(RootCACertPublisher, ca_pem=ca)
    async with running(settings, controllers=[publisher], nodes=[NodeSettings("node-1", fake=True)], kubelet=FAST,
                       proxy=False) as c:
        assert c.api is not None and c.credentials is not None
        connector = aiohttp.TCPConnector(ssl=c.credentials.client_ssl_context())
        async with aiohttp.ClientSession(f"https://127.0.0.1:{c.api.bound_port}", connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=DEADLINE)) as session:
            cluster = Cluster(c, session, c.credentials.token)
            await cluster.ok("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})
            await cluster.ok("POST", "/api/v1/namespaces/team/serviceaccounts", {"metadata": {"name": "reader"}})
            yield cluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with secured_cluster(tmp_path) as c:
        yield c


READER = "system:serviceaccount:team:reader"
LIST_PODS_REFUSED = (f'pods is forbidden: User "{READER}" cannot list resource "pods" in API group "" '
                     'in the namespace "team"')
VIEW = {"metadata": {"name": "pod-viewer"}, "rules": [
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}]}


def binding(name: str, role_kind: str, role: str, *subjects: Obj, namespace: str = "team") -> Obj:
    return {"metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": list(subjects)}


SA_SUBJECT = {"kind": "ServiceAccount", "name": "reader", "namespace": "team"}


async def eventually(check: Any) -> Any:
    return await wait_for_condition(check, DEADLINE)


async def test_the_admin_token_anonymous_and_a_bad_token(cluster: Cluster) -> None:
    assert (await cluster.call("GET", "/api/v1/namespaces/team/pods"))[0] == 200
    # anonymous requests are allowed on the health paths only (KEP-4633's conditions): elsewhere a 401
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods", token=None)
    assert (code, body["reason"], body["message"]) == (401, "Unauthorized", "Unauthorized")
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods", token="not-a-token")
    assert (code, body["reason"], body["message"]) == (401, "Unauthorized", "Unauthorized")
    assert (await cluster.call("GET", "/healthz", token=None))[0] == 200
    assert (await cluster.call("GET", "/healthz", token="not-a-token"))[0] == 401  # never anonymous
    # what RBAC says of system:anonymous where a cluster lets it in (the union of authorizers stays upstream's)
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods",
                                    headers={"Impersonate-User": "system:anonymous"})
    assert (code, body["message"]) == (403, 'pods is forbidden: User "system:anonymous" cannot list resource '
                                            '"pods" in API group "" in the namespace "team"')


async def test_a_service_account_is_refused_then_allowed_by_a_binding(cluster: Cluster) -> None:
    token = await cluster.token("team", "reader")
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods", token=token)
    assert (code, body["message"], body["details"]) == (403, LIST_PODS_REFUSED, {"kind": "pods"})
    await cluster.ok("POST", f"{RBAC}/clusterroles", VIEW)
    await cluster.ok("POST", f"{RBAC}/namespaces/team/rolebindings",
                     binding("reader-view", "ClusterRole", "pod-viewer", SA_SUBJECT))

    async def allowed() -> bool:
        return (await cluster.call("GET", "/api/v1/namespaces/team/pods", token=token))[0] == 200
    await eventually(allowed)
    code, body = await cluster.call("GET", "/api/v1/namespaces/default/pods", token=token)  # another namespace
    assert code == 403 and 'in the namespace "default"' in body["message"]
    code, body = await cluster.call("DELETE", "/api/v1/namespaces/team/pods/x", token=token)
    assert code == 403 and 'cannot delete resource "pods"' in body["message"]


async def test_resource_names_subresources_and_non_resource_urls(cluster: Cluster) -> None:
    token = await cluster.token("team", "reader")
    for name in ("app-config", "other"):
        await cluster.ok("POST", "/api/v1/namespaces/team/configmaps", {"metadata": {"name": name}, "data": {}})
    await cluster.ok("POST", f"{RBAC}/namespaces/team/roles", {"metadata": {"name": "one"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}]})
    await cluster.ok("POST", f"{RBAC}/clusterroles", {"metadata": {"name": "logs"}, "rules": [
        {"nonResourceURLs": ["/logs/*"], "verbs": ["get"]}]})
    await cluster.ok("POST", f"{RBAC}/namespaces/team/rolebindings", binding("one", "Role", "one", SA_SUBJECT))
    await cluster.ok("POST", f"{RBAC}/clusterrolebindings",
                     binding("logs", "ClusterRole", "logs", SA_SUBJECT, namespace=""))

    async def allowed() -> bool:
        return (await cluster.call("GET", "/api/v1/namespaces/team/configmaps/app-config", token=token))[0] == 200
    await eventually(allowed)
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/configmaps/other", token=token)
    assert (code, body["message"]) == (403, f'configmaps "other" is forbidden: User "{READER}" cannot get resource '
                                            '"configmaps" in API group "" in the namespace "team"')
    assert (await cluster.call("GET", "/api/v1/namespaces/team/configmaps", token=token))[0] == 403
    named = "/api/v1/namespaces/team/configmaps?fieldSelector=metadata.name%3Dapp-config"
    assert (await cluster.call("GET", named, token=token))[0] == 200  # a list of one name is that name
    assert (await cluster.call("POST", "/api/v1/namespaces/team/serviceaccounts/reader/token",
                               {"spec": {}}, token=token))[0] == 201
    assert (await cluster.call("GET", "/logs/kube.log", token=token))[0] == 404  # allowed, and not served
    code, body = await cluster.call("GET", "/logs", token=token)  # `/logs/*` is not `/logs`
    assert (code, body["message"]) == (403, f'forbidden: User "{READER}" cannot get path "/logs"')
    assert (await cluster.call("GET", "/apis/apps/v1", token=token))[0] == 200  # system:discovery, by default
    assert (await cluster.call("GET", "/version", token=token))[0] == 200  # system:public-info-viewer
    assert (await cluster.call("GET", "/version", token=None))[0] == 401  # anonymous: the health paths only


async def test_an_expired_token_and_a_deleted_pods_token_are_refused(cluster: Cluster) -> None:
    await cluster.ok("POST", f"{RBAC}/clusterroles", VIEW)
    await cluster.ok("POST", f"{RBAC}/namespaces/team/rolebindings",
                     binding("reader-view", "ClusterRole", "pod-viewer", SA_SUBJECT))
    issuer = cluster.c.resources.token_issuer
    assert issuer is not None
    issuer.clock = lambda: time.time() - 2 * 3600  # a token issued two hours ago, for one hour
    try:
        expired = await cluster.token("team", "reader", {"expirationSeconds": 3600})
    finally:
        issuer.clock = time.time
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods", token=expired)
    assert (code, body["reason"]) == (401, "Unauthorized")
    review = await cluster.ok("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": expired}})
    assert review["status"] == {"authenticated": False, "user": {},
                                "error": "[invalid bearer token, service account token has expired]"}

    await cluster.ok("POST", "/api/v1/namespaces/team/pods", {"metadata": {"name": "p"}, "spec": {
        "serviceAccountName": "reader", "containers": [{"name": "c", "image": "busybox"}]}})
    bound = await cluster.token("team", "reader", {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p"}})

    async def allowed() -> bool:
        return (await cluster.call("GET", "/api/v1/namespaces/team/pods", token=bound))[0] == 200
    await eventually(allowed)
    review = await cluster.ok("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": bound}})
    pod_uid = (await cluster.ok("GET", "/api/v1/namespaces/team/pods/p"))["metadata"]["uid"]
    assert review["status"]["authenticated"] is True
    assert review["status"]["audiences"] == [ISSUER]
    user = review["status"]["user"]
    assert (user["username"], user["groups"]) == (READER, ["system:serviceaccounts", "system:serviceaccounts:team",
                                                           "system:authenticated"])
    assert user["extra"]["authentication.kubernetes.io/pod-name"] == ["p"]
    assert user["extra"]["authentication.kubernetes.io/pod-uid"] == [pod_uid]
    await cluster.ok("DELETE", "/api/v1/namespaces/team/pods/p?gracePeriodSeconds=0")

    async def refused() -> bool:
        return (await cluster.call("GET", "/api/v1/namespaces/team/pods", token=bound))[0] == 401
    await eventually(refused)


async def test_token_request_refusals(cluster: Cluster) -> None:
    path = "/api/v1/namespaces/team/serviceaccounts/{}/token"
    code, body = await cluster.call("POST", path.format("nobody"), {"spec": {}})
    assert (code, body["message"]) == (404, 'serviceaccounts "nobody" not found')
    code, body = await cluster.call("POST", path.format("reader"), {"spec": {"expirationSeconds": 60}})
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"].endswith("spec.expirationSeconds: Invalid value: 60: may not specify a duration less "
                                    "than 10 minutes")
    await cluster.ok("POST", "/api/v1/namespaces/team/pods", {"metadata": {"name": "q"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}]}})
    code, body = await cluster.call("POST", path.format("reader"), {"spec": {
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "q"}}})
    assert (code, body["message"]) == (400, 'cannot bind token for serviceaccount "reader" to pod running with '
                                            'serviceaccount "default"')


async def test_access_reviews(cluster: Cluster) -> None:
    await cluster.ok("POST", f"{RBAC}/clusterroles", VIEW)
    await cluster.ok("POST", f"{RBAC}/namespaces/team/rolebindings",
                     binding("reader-view", "ClusterRole", "pod-viewer", SA_SUBJECT))
    sar = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

    async def reader_may(verb: str) -> bool:
        answer = await cluster.ok("POST", sar, {"spec": {"user": READER, "resourceAttributes": {
            "namespace": "team", "verb": verb, "resource": "pods"}}})
        return bool(answer["status"]["allowed"])
    assert await eventually(lambda: reader_may("list"))
    assert not await reader_may("delete")
    answer = await cluster.ok("POST", sar, {"spec": {"user": READER, "resourceAttributes": {
        "namespace": "team", "verb": "get", "resource": "pods"}}})
    assert answer["status"] == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "reader-view/team" of '
                                                            'ClusterRole "pod-viewer" to ServiceAccount "reader/team"'}
    assert answer["kind"] == "SubjectAccessReview" and answer["apiVersion"] == "authorization.k8s.io/v1"
    code, body = await cluster.call("POST", sar, {"spec": {"resourceAttributes": {"verb": "get"}}})
    assert (code, body["message"]) == (422, 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: '
                                            'Invalid value: "": at least one of user or group must be specified')

    ssar = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    answer = await cluster.ok("POST", ssar, {"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
    assert answer["status"] == {"allowed": True}  # the admin: system:masters
    as_reader = {"Impersonate-User": READER}

    async def reader_may_watch() -> bool:
        answer = await cluster.ok("POST", ssar, {"spec": {"resourceAttributes": {
            "namespace": "team", "verb": "watch", "resource": "pods"}}}, headers=as_reader)
        return answer["status"]["allowed"] is True
    await eventually(reader_may_watch)
    answer = await cluster.ok("POST", ssar, {"spec": {"nonResourceAttributes": {"verb": "get", "path": "/logs"}}},
                              headers=as_reader)
    assert answer["status"] == {"allowed": False}

    lsar = "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews"
    answer = await cluster.ok("POST", lsar, {"metadata": {"namespace": "team"}, "spec": {"user": READER,
                              "resourceAttributes": {"namespace": "team", "verb": "list", "resource": "pods"}}})
    assert answer["status"]["allowed"] is True
    code, body = await cluster.call("POST", lsar, {"spec": {"user": READER, "resourceAttributes": {
        "namespace": "default", "verb": "list", "resource": "pods"}}})
    assert code == 422 and "spec.resourceAttributes.namespace" in body["message"]

    rules = await cluster.ok("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                             {"spec": {"namespace": "team"}}, headers=as_reader)
    resource_rules = rules["status"]["resourceRules"]
    assert resource_rules[-1] == VIEW["rules"][0]  # the RoleBinding's, after the ClusterRoleBindings' (system:basic-user…)
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in resource_rules
    assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} in \
        rules["status"]["nonResourceRules"]
    assert rules["status"]["incomplete"] is False

    whoami = await cluster.ok("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {}, headers=as_reader)
    assert whoami["status"]["userInfo"] == {"username": READER, "groups": [
        "system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]}


async def test_impersonation_needs_permission(cluster: Cluster) -> None:
    token = await cluster.token("team", "reader")
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods", token=token,
                                    headers={"Impersonate-User": "jane"})
    assert (code, body["message"]) == (403, f'users "jane" is forbidden: User "{READER}" cannot impersonate resource '
                                            '"users" in API group "" at the cluster scope')
    code, body = await cluster.call("GET", "/api/v1/namespaces/team/pods", headers={"Impersonate-User": READER})
    assert (code, body["message"]) == (403, LIST_PODS_REFUSED)


async def test_discovery_lists_the_reviews_create_only(cluster: Cluster) -> None:
    authz = await cluster.ok("GET", "/apis/authorization.k8s.io/v1")
    assert {r["name"]: (r["verbs"], r["namespaced"]) for r in authz["resources"]} == {
        "localsubjectaccessreviews": (["create"], True), "selfsubjectaccessreviews": (["create"], False),
        "selfsubjectrulesreviews": (["create"], False), "subjectaccessreviews": (["create"], False)}
    core = await cluster.ok("GET", "/api/v1")
    token = next(r for r in core["resources"] if r["name"] == "serviceaccounts/token")
    assert (token["kind"], token["group"], token["version"], token["verbs"]) == (
        "TokenRequest", "authentication.k8s.io", "v1", ["create"])
    code, _ = await cluster.call("GET", "/apis/authorization.k8s.io/v1/subjectaccessreviews")
    assert code == 405


async def test_a_pod_gets_its_token_volume_with_a_valid_token(cluster: Cluster) -> None:
    ca = await eventually(lambda: cluster.ok("GET", "/api/v1/namespaces/team/configmaps/kube-root-ca.crt"))
    assert cluster.c.credentials is not None
    assert ca["data"]["ca.crt"] == cluster.c.credentials.ca_pem.decode()
    pod = await cluster.ok("POST", "/api/v1/namespaces/team/pods", {"metadata": {"name": "web"}, "spec": {
        "serviceAccountName": "reader", "containers": [{"name": "c", "image": "busybox"}]}})
    volume = pod["spec"]["volumes"][0]
    assert volume["name"].startswith("kube-api-access-")
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"name": volume["name"], "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    files = pod_dir(cluster.c.settings.state_dir, pod["metadata"]["uid"]) / "volumes" / volume["name"]

    async def written() -> bool:
        return (files / "token").is_file() and (files / "token").stat().st_size > 0
    await eventually(written)
    assert (files / "namespace").read_text() == "team"
    assert (files / "ca.crt").read_text() == ca["data"]["ca.crt"]
    review = await cluster.ok("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                              {"spec": {"token": (files / "token").read_text()}})
    assert review["status"]["user"]["username"] == READER
    assert review["status"]["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]

    await cluster.ok("PATCH", "/api/v1/namespaces/team/serviceaccounts/reader",
                     {"automountServiceAccountToken": False}, headers={"Content-Type": "application/merge-patch+json"})
    quiet = await cluster.ok("POST", "/api/v1/namespaces/team/pods", {"metadata": {"name": "quiet"}, "spec": {
        "serviceAccountName": "reader", "containers": [{"name": "c", "image": "busybox"}]}})
    assert "volumes" not in quiet["spec"]


async def test_a_certificate_signing_request_records_who_asked(cluster: Cluster) -> None:
    token = await cluster.token("team", "reader")
    await cluster.ok("POST", f"{RBAC}/clusterroles", {"metadata": {"name": "csr-creator"}, "rules": [
        {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"], "verbs": ["create"]}]})
    await cluster.ok("POST", f"{RBAC}/clusterrolebindings",
                     binding("csr-creator", "ClusterRole", "csr-creator", SA_SUBJECT, namespace=""))
    csr = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": "mine"}, "spec": {**SAMPLES["CertificateSigningRequest"]["spec"],
                                                 "username": "someone-else", "groups": ["system:masters"]}}

    async def created() -> Obj:
        code, body = await cluster.call("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr,
                                        token=token)
        assert code == 201, body
        return body  # type: ignore[no-any-return]
    got = await eventually(created)
    assert (got["spec"]["username"], got["spec"]["groups"]) == (
        READER, ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"])
    assert got["spec"]["uid"]  # the account's uid
