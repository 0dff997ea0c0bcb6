"""The authorizer chain (system:masters first, then RBAC), the apiserver's 403 and impersonation."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from boxk8s import errors
from boxk8s.api.auth.authorizer import Authorizer, attributes_of, forbidden
from boxk8s.api.auth.impersonation import impersonate, wanted
from boxk8s.api.auth.rbac import Attributes, build_policy
from boxk8s.api.auth.requestinfo import request_info
from boxk8s.api.auth.user import ADMIN, ANONYMOUS_USER, UserInfo

SA = UserInfo("system:serviceaccount:default:x", groups=("system:serviceaccounts", "system:serviceaccounts:default",
                                                         "system:authenticated"))


def attrs(user: UserInfo, method: str, path: str, **query: str) -> Attributes:
    return attributes_of(user, request_info(method, path, query))


@pytest.mark.parametrize(("user", "method", "path", "query", "message"), [
    (SA, "GET", "/api/v1/namespaces/default/pods", {},
     'pods is forbidden: User "system:serviceaccount:default:x" cannot list resource "pods" in API group "" '
     'in the namespace "default"'),
    (SA, "GET", "/api/v1/namespaces/default/pods", {"watch": "true"},
     'pods is forbidden: User "system:serviceaccount:default:x" cannot watch resource "pods" in API group "" '
     'in the namespace "default"'),
    (SA, "GET", "/apis/apps/v1/deployments", {},
     'deployments.apps is forbidden: User "system:serviceaccount:default:x" cannot list resource "deployments" '
     'in API group "apps" at the cluster scope'),
    (SA, "GET", "/api/v1/namespaces/default/pods/web/log", {},
     'pods "web" is forbidden: User "system:serviceaccount:default:x" cannot get resource "pods/log" in API group "" '
     'in the namespace "default"'),
    (SA, "DELETE", "/api/v1/nodes", {},
     'nodes is forbidden: User "system:serviceaccount:default:x" cannot deletecollection resource "nodes" '
     'in API group "" at the cluster scope'),
    (ANONYMOUS_USER, "GET", "/", {}, 'forbidden: User "system:anonymous" cannot get path "/"'),
    (ANONYMOUS_USER, "GET", "/apis", {}, 'forbidden: User "system:anonymous" cannot get path "/apis"'),
])
def test_forbidden_reads_as_the_apiserver(user: UserInfo, method: str, path: str, query: dict[str, str],
                                          message: str) -> None:
    a = attrs(user, method, path, **query)
    decision = Authorizer(lambda: build_policy()).authorize(a)
    assert not decision.allowed
    err = forbidden(a, decision.reason)
    assert err.message == message
    assert err.code == 403 and err.reason == "Forbidden"
    assert err.status().get("details", {}).get("kind", "") == a.resource


def test_system_masters_may_do_anything_without_rbac() -> None:
    decision = Authorizer(lambda: build_policy()).authorize(attrs(ADMIN, "DELETE", "/api/v1/nodes"))
    assert decision.allowed and decision.reason == ""


def test_the_reason_follows_the_message() -> None:
    policy = build_policy(role_bindings=[{"metadata": {"name": "b", "namespace": "default"},
                                          "roleRef": {"kind": "ClusterRole", "name": "view"},
                                          "subjects": [{"kind": "ServiceAccount", "name": "x"}]}])
    a = attrs(SA, "GET", "/api/v1/namespaces/default/pods")
    decision = Authorizer(lambda: policy).authorize(a)
    assert forbidden(a, decision.reason).message.endswith(
        'in the namespace "default": RBAC: clusterrole.rbac.authorization.k8s.io "view" not found')


IMPERSONATOR = {"cluster_roles": [{"metadata": {"name": "imp"}, "rules": [
    {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users", "groups", "serviceaccounts"]}]}],
    "cluster_role_bindings": [{"metadata": {"name": "imp"}, "roleRef": {"kind": "ClusterRole", "name": "imp"},
                               "subjects": [{"kind": "User", "name": "boss"}]}]}


def as_user(requester: UserInfo, *headers: tuple[str, str], policy: dict[str, object] | None = None) -> UserInfo:
    authorizer = Authorizer(lambda: build_policy(**(policy or IMPERSONATOR)))  # type: ignore[arg-type]
    return impersonate(requester, CIMultiDict(headers), authorizer.authorize)


def test_without_headers_the_requester_stays() -> None:
    assert as_user(ADMIN) is ADMIN


def test_impersonating_a_service_account_gives_its_groups() -> None:
    got = as_user(UserInfo("boss"), ("Impersonate-User", "system:serviceaccount:ns:sa"))
    assert got == UserInfo("system:serviceaccount:ns:sa",
                           groups=("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"))


def test_impersonated_groups_are_the_authority() -> None:
    got = as_user(ADMIN, ("Impersonate-User", "jane"), ("Impersonate-Group", "dev"), ("Impersonate-Group", "qa"))
    assert got.name == "jane" and got.groups == ("dev", "qa", "system:authenticated")
    got = as_user(ADMIN, ("Impersonate-User", "system:serviceaccount:ns:sa"), ("Impersonate-Group", "g"))
    assert got.groups == ("g", "system:authenticated")
    got = as_user(ADMIN, ("Impersonate-User", "system:anonymous"))
    assert got.groups == ("system:unauthenticated",)
    got = as_user(ADMIN, ("Impersonate-User", "u"), ("Impersonate-Uid", "1234"), ("Impersonate-Extra-Scopes", "a"),
                  ("Impersonate-Extra-Scopes", "b"))
    assert (got.uid, got.extra) == ("1234", {"scopes": ("a", "b")})


def test_impersonation_needs_the_impersonate_verb_on_each_thing() -> None:
    with pytest.raises(errors.Forbidden) as err:
        as_user(SA, ("Impersonate-User", "jane"))
    assert err.value.message == ('users "jane" is forbidden: User "system:serviceaccount:default:x" cannot impersonate '
                                 'resource "users" in API group "" at the cluster scope')
    with pytest.raises(errors.Forbidden) as err:
        as_user(SA, ("Impersonate-User", "system:serviceaccount:ns:sa"))
    assert err.value.message == ('serviceaccounts "sa" is forbidden: User "system:serviceaccount:default:x" cannot '
                                 'impersonate resource "serviceaccounts" in API group "" in the namespace "ns"')
    with pytest.raises(errors.Forbidden) as err:  # boss may impersonate users and groups, not uids
        as_user(UserInfo("boss"), ("Impersonate-User", "u"), ("Impersonate-Uid", "1"))
    assert 'cannot impersonate resource "uids" in API group "authentication.k8s.io"' in err.value.message


def test_groups_without_a_user_are_refused() -> None:
    with pytest.raises(errors.InternalError) as err:
        wanted(CIMultiDict([("Impersonate-Group", "g")]))
    assert "without impersonating a user" in err.value.message
