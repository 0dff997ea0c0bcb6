"""RequestInfoFactory.NewRequestInfo, with the cases of upstream's requestinfo_test.go."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from boxk8s.api.auth.requestinfo import RequestInfo, exact_match, request_info


def info(method: str, url: str) -> RequestInfo:
    parts = urlsplit(url)
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(k, v)
    return request_info(method, parts.path, query)


# method, url, verb, prefix, group, version, namespace, resource, subresource, name, parts
SUCCESS = [
    ("GET", "/api/v1/namespaces", "list", "api", "", "v1", "", "namespaces", "", "", ["namespaces"]),
    ("GET", "/api/v1/namespaces/other", "get", "api", "", "v1", "other", "namespaces", "", "other", ["namespaces", "other"]),
    ("GET", "/api/v1/namespaces/other/pods", "list", "api", "", "v1", "other", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]),
    ("HEAD", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]),
    ("GET", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", ["pods"]),
    ("HEAD", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", ["pods"]),
    # a Namespace object is in its own namespace (so a RoleBinding there may grant reading it)
    ("PATCH", "/api/v1/namespaces/new-namespace", "patch", "api", "", "v1", "new-namespace", "namespaces", "",
     "new-namespace", ["namespaces", "new-namespace"]),
    # special verbs
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "api", "", "v1", "other", "pods",
     "", "foo", ["pods", "foo", "subpath", "not", "a", "subresource"]),
    ("GET", "/api/v1/watch/pods", "watch", "api", "", "v1", "", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/pods?watch=true", "watch", "api", "", "v1", "", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/pods?watch=false", "list", "api", "", "v1", "", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/watch/namespaces/other/pods", "watch", "api", "", "v1", "other", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "api", "", "v1", "other", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods?watch=0", "list", "api", "", "v1", "other", "pods", "", "", ["pods"]),
    # subresource identification
    ("GET", "/api/v1/namespaces/other/pods/foo/status", "get", "api", "", "v1", "other", "pods", "status", "foo",
     ["pods", "foo", "status"]),
    ("GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "api", "", "v1", "other", "pods", "proxy", "foo",
     ["pods", "foo", "proxy", "subpath"]),
    ("PUT", "/api/v1/namespaces/other/finalize", "update", "api", "", "v1", "other", "namespaces", "finalize", "other",
     ["namespaces", "other", "finalize"]),
    ("PUT", "/api/v1/namespaces/other/status", "update", "api", "", "v1", "other", "namespaces", "status", "other",
     ["namespaces", "other", "status"]),
    # verb identification
    ("PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]),
    ("POST", "/api/v1/namespaces/other/pods", "create", "api", "", "v1", "other", "pods", "", "", ["pods"]),
    # deletecollection verb identification
    ("DELETE", "/api/v1/nodes", "deletecollection", "api", "", "v1", "", "nodes", "", "", ["nodes"]),
    ("DELETE", "/api/v1/namespaces", "deletecollection", "api", "", "v1", "", "namespaces", "", "", ["namespaces"]),
    ("DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "api", "", "v1", "other", "pods", "", "", ["pods"]),
    ("DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "apis", "extensions", "v1", "other", "pods",
     "", "", ["pods"]),
    # api group and version identification
    ("POST", "/apis/extensions/v1/namespaces/other/pods", "create", "apis", "extensions", "v1", "other", "pods", "", "",
     ["pods"]),
    ("POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "apis", "extensions", "v1beta3", "other", "pods",
     "", "", ["pods"]),
    # what kubectl sends here
    ("POST", "/api/v1/namespaces/ns/serviceaccounts/sa/token", "create", "api", "", "v1", "ns", "serviceaccounts",
     "token", "sa", ["serviceaccounts", "sa", "token"]),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "create", "apis", "authorization.k8s.io", "v1",
     "", "selfsubjectaccessreviews", "", "", ["selfsubjectaccessreviews"]),
]


@pytest.mark.parametrize(("method", "url", "verb", "prefix", "group", "version", "namespace", "resource",
                          "subresource", "name", "parts"), SUCCESS)
def test_resource_requests(method: str, url: str, verb: str, prefix: str, group: str, version: str, namespace: str,
                           resource: str, subresource: str, name: str, parts: list[str]) -> None:
    got = info(method, url)
    assert got.is_resource_request
    assert (got.verb, got.api_prefix, got.api_group, got.api_version, got.namespace, got.resource, got.subresource,
            got.name, list(got.parts)) == (verb, prefix, group, version, namespace, resource, subresource, name, parts)


@pytest.mark.parametrize("url", ["/", "/api/version/", "/apis/group/version/", "/badprefix/version/resource",
                                 "/apis/version/resource", "/healthz", "/version", "/apis", "/api"])
def test_non_resource_requests_keep_the_lowercase_method_and_path(url: str) -> None:
    got = info("GET", url)
    assert not got.is_resource_request
    assert (got.verb, got.path) == ("get", url)


@pytest.mark.parametrize(("url", "expected"), [
    ("/api/version/resource", True), ("/apis/group/version/resource/name/subresource", True),
    ("/api/version/resource/name/subresource", True), ("/apis/batch/v1/job", True), ("/apis/batch/v1/job/foo", True),
    ("/apis/batch/v1/job/foo/scale", True), ("/not-api/version/resource", False), ("/apis/extensions/v1beta1", False),
    ("/apis/extensions/v1beta1/", False), ("/api/version", False), ("/api", False), ("/", False), ("", False),
])
def test_get_non_api_request_info(url: str, expected: bool) -> None:
    assert info("GET", url).is_resource_request is expected


# TestFieldSelectorParsing: a list or watch naming one object by metadata.name is for that name.
@pytest.mark.parametrize(("url", "name", "verb"), [
    ("/apis/group/version/resource", "", "list"),
    ("/apis/group/version/resource?fieldSelector=metadata.name=name1", "name1", "list"),
    ("/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1", "name1", "watch"),
    ("/apis/group/version/resource?fieldSelector=foo=bar", "", "list"),
    ("/apis/group/version/resource?fieldSelector=metadata.name=name1,foo", "", "list"),
    ("/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true", "", "watch"),
    ("/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false", "", "list"),
    ("/apis/group/version/resource?fieldSelector=metadata.name==name1,spec.nodeName=n", "name1", "list"),
    ("/apis/group/version/resource?fieldSelector=metadata.name!=name1", "", "list"),
    ("/apis/group/version/resource?fieldSelector=metadata.name=a/b", "", "list"),  # not a valid path segment
])
def test_field_selector_parsing(url: str, name: str, verb: str) -> None:
    got = info("GET", url)
    assert (got.name, got.verb) == (name, verb)


def test_exact_match_of_selectors() -> None:
    assert exact_match("metadata.name=x", "metadata.name") == "x"
    assert exact_match("a=b,metadata.name=x", "metadata.name") == "x"
    assert exact_match("metadata.namespace=x", "metadata.name") is None
    assert exact_match("broken", "metadata.name") is None
