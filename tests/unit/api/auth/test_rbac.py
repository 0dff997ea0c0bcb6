"""The RBAC decision, with the cases of upstream's plugin/pkg/auth/authorizer/rbac/rbac_test.go
(TestAuthorizer, TestRuleMatches) and the resolver's subject rules and reasons (rule.go)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.api.auth.rbac import Attributes, Rule, aggregate, authorize, build_policy, rule_allows, rules_for
from boxk8s.api.auth.user import UserInfo

Obj = dict[str, Any]


def rule(verbs: str, groups: str = "", resources: str = "", urls: str = "", names: str = "") -> Obj:
    """newRule: comma-separated lists (an empty string is a list of one empty string, as strings.Split)."""
    out: Obj = {"verbs": verbs.split(","), "apiGroups": groups.split(","), "resources": resources.split(","),
                "nonResourceURLs": urls.split(",")}
    if names:
        out["resourceNames"] = names.split(",")
    return out


def cluster_role(name: str, *rules: Obj) -> Obj:
    return {"metadata": {"name": name}, "rules": list(rules)}


def role(namespace: str, name: str, *rules: Obj) -> Obj:
    return {"metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def subjects(*specs: str) -> list[Obj]:
    out = []
    for spec in specs:
        kind, _, name = spec.partition(":")
        if kind == "ServiceAccount":
            namespace, _, name = name.rpartition("/")
            out.append({"kind": kind, "name": name, **({"namespace": namespace} if namespace else {})})
        else:
            out.append({"kind": kind, "name": name, "apiGroup": "rbac.authorization.k8s.io"})
    return out


def crb(name: str, role_name: str, *specs: str) -> Obj:
    return {"metadata": {"name": name}, "roleRef": {"kind": "ClusterRole", "name": role_name},
            "subjects": subjects(*specs)}


def rb(namespace: str, name: str, role_kind: str, role_name: str, *specs: str) -> Obj:
    return {"metadata": {"name": name, "namespace": namespace}, "roleRef": {"kind": role_kind, "name": role_name},
            "subjects": subjects(*specs)}


def res(user: str, groups: str, verb: str, resource: str, subresource: str = "", namespace: str = "",
        group: str = "", name: str = "") -> Attributes:
    return Attributes(UserInfo(user, groups=tuple(g for g in groups.split(",") if g)), verb, True, namespace, group,
                      "", resource, subresource, name)


def url(user: str, groups: str, verb: str, path: str) -> Attributes:
    return Attributes(UserInfo(user, groups=tuple(g for g in groups.split(",") if g)), verb, False, path=path)


# TestAuthorizer: (policy objects, should pass, should fail)
AUTHORIZER_CASES = [
    (
        {"cluster_roles": [cluster_role("admin", rule("*", "*", "*", "*"))],
         "role_bindings": [rb("ns1", "b", "ClusterRole", "admin", "User:admin", "Group:admins")]},
        [res("admin", "", "get", "Pods", namespace="ns1"), res("admin", "", "watch", "Pods", namespace="ns1"),
         res("admin", "group1", "watch", "Foobar", namespace="ns1"), res("joe", "admins", "watch", "Foobar", namespace="ns1"),
         res("joe", "group1,admins", "watch", "Foobar", namespace="ns1")],
        [res("admin", "", "GET", "Pods", namespace="ns2"), res("admin", "", "GET", "Nodes"),
         res("admin", "admins", "GET", "Pods", namespace="ns2"), res("admin", "admins", "GET", "Nodes")],
    ),
    (  # non-resource URLs
        {"cluster_roles": [cluster_role("non-resource-url-getter", rule("get", urls="/apis")),
                           cluster_role("non-resource-url", rule("*", urls="/apis")),
                           cluster_role("non-resource-url-prefix", rule("get", urls="/apis/*"))],
         "cluster_role_bindings": [crb("a", "non-resource-url-getter", "User:foo", "Group:bar"),
                                   crb("b", "non-resource-url", "User:admin", "Group:admin"),
                                   crb("c", "non-resource-url-prefix", "User:prefixed", "Group:prefixed")]},
        [url("foo", "", "get", "/apis"), url("", "bar", "get", "/apis"), url("admin", "", "get", "/apis"),
         url("", "admin", "get", "/apis"), url("admin", "", "watch", "/apis"), url("", "admin", "watch", "/apis"),
         url("prefixed", "", "get", "/apis/v1"), url("", "prefixed", "get", "/apis/v1"),
         url("prefixed", "", "get", "/apis/v1/foobar"), url("", "prefixed", "get", "/apis/v1/foorbar")],
        [url("foo", "", "watch", "/apis"), url("", "bar", "watch", "/apis"), url("foo", "", "get", "/api/v1"),
         url("", "bar", "get", "/api/v1"), url("admin", "", "get", "/api/v1"), url("", "admin", "get", "/api/v1"),
         url("prefixed", "", "get", "/api/v1"), url("", "prefixed", "get", "/api/v1")],
    ),
    (  # subresource resolution: pods does not give pods/status
        {"cluster_roles": [cluster_role("admin", rule("*", "*", "pods", "*"))],
         "role_bindings": [rb("ns1", "b", "ClusterRole", "admin", "User:admin", "Group:admins")]},
        [res("admin", "", "get", "pods", namespace="ns1")],
        [res("admin", "", "get", "pods", "status", namespace="ns1")],
    ),
    (  # and pods/status does not give pods
        {"cluster_roles": [cluster_role("admin", rule("*", "*", "pods/status", "*"))],
         "role_bindings": [rb("ns1", "b", "ClusterRole", "admin", "User:admin", "Group:admins")]},
        [res("admin", "", "get", "pods", "status", namespace="ns1")],
        [res("admin", "", "get", "pods", namespace="ns1")],
    ),
    (  # a Role of the binding's namespace; ServiceAccount subjects, their namespace defaulting to the binding's
        {"roles": [role("ns1", "reader", rule("get,list", "", "configmaps"))],
         "role_bindings": [rb("ns1", "b", "Role", "reader", "ServiceAccount:sa", "ServiceAccount:other/sb")]},
        [res("system:serviceaccount:ns1:sa", "", "list", "configmaps", namespace="ns1"),
         res("system:serviceaccount:other:sb", "", "get", "configmaps", namespace="ns1")],
        [res("system:serviceaccount:ns1:sa", "", "list", "configmaps", namespace="ns2"),
         res("system:serviceaccount:ns1:sb", "", "list", "configmaps", namespace="ns1"),
         res("system:serviceaccount:ns1:sa", "", "delete", "configmaps", namespace="ns1"),
         res("sa", "", "list", "configmaps", namespace="ns1")],
    ),
    (  # a ClusterRoleBinding's ServiceAccount subject needs its namespace
        {"cluster_roles": [cluster_role("r", rule("get", "", "nodes"))],
         "cluster_role_bindings": [crb("a", "r", "ServiceAccount:sa"), crb("b", "r", "ServiceAccount:ns/sb")]},
        [res("system:serviceaccount:ns:sb", "", "get", "nodes")],
        [res("system:serviceaccount:ns:sa", "", "get", "nodes"), res("system:serviceaccount::sa", "", "get", "nodes")],
    ),
    (  # resourceNames: only those objects; a list or create names none
        {"cluster_roles": [cluster_role("one", rule("get,update,list", "", "configmaps", names="app-config"))],
         "cluster_role_bindings": [crb("a", "one", "User:u")]},
        [res("u", "", "get", "configmaps", namespace="x", name="app-config"),
         res("u", "", "list", "configmaps", namespace="x", name="app-config")],
        [res("u", "", "get", "configmaps", namespace="x", name="other"), res("u", "", "list", "configmaps", namespace="x"),
         res("u", "", "create", "configmaps", namespace="x")],
    ),
    (  # */scale: every resource's scale subresource
        {"cluster_roles": [cluster_role("scaler", rule("update", "*", "*/scale"))],
         "cluster_role_bindings": [crb("a", "scaler", "Group:ops")]},
        [res("x", "ops", "update", "deployments", "scale", "n", "apps")],
        [res("x", "ops", "update", "deployments", "", "n", "apps"), res("x", "ops", "update", "deployments", "status", "n", "apps")],
    ),
]


@pytest.mark.parametrize(("objects", "should_pass", "should_fail"), AUTHORIZER_CASES)
def test_authorizer(objects: dict[str, list[Obj]], should_pass: list[Attributes], should_fail: list[Attributes]) -> None:
    policy = build_policy(**objects)
    for attrs in should_pass:
        assert authorize(policy, attrs).allowed, f"incorrectly restricted {attrs}"
    for attrs in should_fail:
        assert not authorize(policy, attrs).allowed, f"incorrectly passed {attrs}"


def req(verb: str, group: str = "", resource: str = "", subresource: str = "", name: str = "") -> Attributes:
    return Attributes(UserInfo("u"), verb, True, "", group, "", resource, subresource, name)


def nonres(verb: str, path: str) -> Attributes:
    return Attributes(UserInfo("u"), verb, False, path=path)


# TestRuleMatches: rule → {request: expected}
RULE_CASES = [
    ("star verb, exact match other", {"verbs": ["*"], "apiGroups": ["group1"], "resources": ["resource1"]},
     {req("verb1", "group1", "resource1"): True, req("verb1", "group2", "resource1"): False,
      req("verb1", "group1", "resource2"): False, req("verb1", "group2", "resource2"): False,
      req("verb2", "group1", "resource1"): True, req("verb2", "group2", "resource1"): False,
      req("verb2", "group1", "resource2"): False, req("verb2", "group2", "resource2"): False}),
    ("star group, exact match other", {"verbs": ["verb1"], "apiGroups": ["*"], "resources": ["resource1"]},
     {req("verb1", "group1", "resource1"): True, req("verb1", "group2", "resource1"): True,
      req("verb1", "group1", "resource2"): False, req("verb1", "group2", "resource2"): False,
      req("verb2", "group1", "resource1"): False, req("verb2", "group2", "resource1"): False}),
    ("star resource, exact match other", {"verbs": ["verb1"], "apiGroups": ["group1"], "resources": ["*"]},
     {req("verb1", "group1", "resource1"): True, req("verb1", "group2", "resource1"): False,
      req("verb1", "group1", "resource2"): True, req("verb1", "group2", "resource2"): False,
      req("verb2", "group1", "resource1"): False}),
    ("tuple expansion", {"verbs": ["verb1", "verb2"], "apiGroups": ["group1", "group2"],
                         "resources": ["resource1", "resource2"]},
     {req(v, g, r): True for v in ("verb1", "verb2") for g in ("group1", "group2") for r in ("resource1", "resource2")}),
    ("subresource expansion", {"verbs": ["*"], "apiGroups": ["*"], "resources": ["resource1/subresource1"]},
     {req("verb1", "group1", "resource1", "subresource1"): True, req("verb1", "group2", "resource1", "subresource2"): False,
      req("verb1", "group1", "resource2", "subresource1"): False, req("verb2", "group1", "resource1", "subresource1"): True}),
    ("star nonresource, exact match other", {"verbs": ["verb1"], "nonResourceURLs": ["*"]},
     {nonres("verb1", "/foo"): True, nonres("verb1", "/foo/bar"): True, nonres("verb1", "/foo/bar/one"): True,
      nonres("verb2", "/foo"): False, nonres("verb2", "/foo/bar"): False}),
    ("star nonresource subpath", {"verbs": ["verb1"], "nonResourceURLs": ["/foo/*"]},
     {nonres("verb1", "/foo"): False, nonres("verb1", "/foo/bar"): True, nonres("verb1", "/foo/baz"): True,
      nonres("verb1", "/foo/bar/one"): True, nonres("verb1", "/notfoo"): False, nonres("verb1", "/notfoo/bar"): False}),
    ("star verb, exact nonresource", {"verbs": ["*"], "nonResourceURLs": ["/foo", "/foo/bar/one"]},
     {nonres("verb1", "/foo"): True, nonres("verb1", "/foo/bar"): False, nonres("verb1", "/foo/bar/one"): True,
      nonres("verb2", "/foo"): True, nonres("verb2", "/foo/baz/one"): False}),
    ("resource names", {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a", "b"]},
     {req("get", "", "secrets", name="a"): True, req("get", "", "secrets", name="c"): False,
      req("get", "", "secrets"): False}),
]


@pytest.mark.parametrize(("name", "raw", "expected"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_matches(name: str, raw: Obj, expected: dict[Attributes, bool]) -> None:
    compiled = Rule.of(raw)
    for attrs, allowed in expected.items():
        assert rule_allows(attrs, compiled) is allowed, (name, attrs)


def test_the_reason_names_the_binding_and_subject_that_allowed() -> None:
    policy = build_policy(
        cluster_roles=[cluster_role("view", rule("get,list", "", "pods"))],
        role_bindings=[rb("team", "reader-view", "ClusterRole", "view", "ServiceAccount:reader")],
        cluster_role_bindings=[crb("ops-view", "view", "Group:ops")])
    got = authorize(policy, res("system:serviceaccount:team:reader", "", "list", "pods", namespace="team"))
    assert got.reason == 'RBAC: allowed by RoleBinding "reader-view/team" of ClusterRole "view" to ServiceAccount "reader/team"'
    got = authorize(policy, res("joe", "ops", "list", "pods", namespace="team"))
    assert got.reason == 'RBAC: allowed by ClusterRoleBinding "ops-view" of ClusterRole "view" to Group "ops"'


def test_a_missing_role_is_the_reason_of_a_refusal() -> None:
    policy = build_policy(role_bindings=[rb("team", "a", "ClusterRole", "view", "User:u"),
                                         rb("team", "b", "Role", "gone", "User:u"),
                                         rb("team", "c", "Role", "gone", "Group:g")])
    assert authorize(policy, res("u", "", "list", "pods", namespace="team")).reason == (
        'RBAC: [clusterrole.rbac.authorization.k8s.io "view" not found, role.rbac.authorization.k8s.io "gone" not found]')
    assert authorize(policy, res("v", "g", "list", "pods", namespace="team")).reason == (
        'RBAC: role.rbac.authorization.k8s.io "gone" not found')
    assert authorize(policy, res("w", "", "list", "pods", namespace="team")).reason == ""


def test_a_role_binding_never_gives_cluster_scope_or_other_namespaces() -> None:
    policy = build_policy(cluster_roles=[cluster_role("all", rule("*", "*", "*"))],
                          role_bindings=[rb("team", "a", "ClusterRole", "all", "User:u")])
    assert authorize(policy, res("u", "", "delete", "secrets", namespace="team")).allowed
    assert not authorize(policy, res("u", "", "list", "secrets")).allowed  # all namespaces
    assert not authorize(policy, res("u", "", "get", "nodes")).allowed
    assert not authorize(policy, url("u", "", "get", "/healthz")).allowed


def test_rules_for_collects_every_binding_of_the_user() -> None:
    policy = build_policy(
        cluster_roles=[cluster_role("view", rule("get", "", "pods")), cluster_role("disc", rule("get", urls="/api"))],
        roles=[role("team", "cm", rule("list", "", "configmaps"))],
        role_bindings=[rb("team", "a", "Role", "cm", "User:u"), rb("team", "b", "Role", "missing", "User:u"),
                       rb("other", "c", "ClusterRole", "view", "User:u")],
        cluster_role_bindings=[crb("d", "disc", "Group:system:authenticated")])
    rules, errors = rules_for(policy, UserInfo("u", groups=("system:authenticated",)), "team")
    assert [r.source for r in rules] == [rule("get", urls="/api"), rule("list", "", "configmaps")]
    assert errors == ['role.rbac.authorization.k8s.io "missing" not found']


def test_aggregate_reads_as_utilerrors() -> None:
    assert aggregate(["a"]) == "a"
    assert aggregate(["a", "b", "a"]) == "[a, b]"
    assert aggregate(["a", "a"]) == "a"
