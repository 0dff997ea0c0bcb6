"""Ingress routing: the examples table of the Ingress documentation, hosts and wildcards, classes."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.proxy.ingress_plan import Backend, is_ours, plan_ingress_table, route, service_port

Obj = dict[str, Any]


def path(p: str, service: str, kind: str = "Prefix", port: Any = 80) -> Obj:
    key = "number" if isinstance(port, int) else "name"
    return {"path": p, "pathType": kind, "backend": {"service": {"name": service, "port": {key: port}}}}


def ingress(name: str, rules: list[Obj], *, default: str | None = None, created: str = "2026-01-01T00:00:00Z",
            **spec: Any) -> Obj:
    body: Obj = {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
                 "spec": {"rules": rules, **spec}}
    if default:
        body["spec"]["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return body


def served(paths: list[Obj], request: str, host: str = "") -> str | None:
    table = plan_ingress_table([ingress("i", [{"http": {"paths": paths}}], default="default-backend")])
    found = route(table, host or "any.example", request)
    return found.service if found else None


# https://kubernetes.io/docs/concepts/services-networking/ingress/#examples
@pytest.mark.parametrize(("paths", "request_path", "expected"), [
    ([path("/", "root")], "/anything/at/all", "root"),  # Prefix / matches all paths
    ([path("/foo", "exact", "Exact")], "/foo", "exact"),
    ([path("/foo", "exact", "Exact")], "/bar", "default-backend"),
    ([path("/foo", "exact", "Exact")], "/foo/", "default-backend"),  # Exact: no trailing slash forgiven
    ([path("/foo/", "exact", "Exact")], "/foo", "default-backend"),
    ([path("/foo", "p")], "/foo", "p"),  # Prefix: /foo matches /foo and /foo/
    ([path("/foo", "p")], "/foo/", "p"),
    ([path("/foo/", "p")], "/foo", "p"),  # ...and /foo/ matches /foo
    ([path("/aaa/bb", "p")], "/aaa/bbb", "default-backend"),  # elements, not characters
    ([path("/aaa/bbb", "p")], "/aaa/bbb", "p"),
    ([path("/aaa/bbb/", "p")], "/aaa/bbb", "p"),  # matches, ignores the trailing slash
    ([path("/aaa/bbb", "p")], "/aaa/bbb/", "p"),
    ([path("/aaa/bbb", "p")], "/aaa/bbb/ccc", "p"),  # a subpath
    ([path("/aaa/bbb", "p")], "/aaa/bbbxyz", "default-backend"),  # no string prefix
    ([path("/", "root"), path("/aaa", "aaa")], "/aaa/ccc", "aaa"),  # the longest matching prefix
    ([path("/", "root"), path("/aaa", "aaa"), path("/aaa/bbb", "bbb")], "/aaa/bbb", "bbb"),
    ([path("/", "root"), path("/aaa", "aaa"), path("/aaa/bbb", "bbb")], "/ccc", "root"),
    ([path("/aaa", "aaa")], "/ccc", "default-backend"),
    ([path("/foo", "prefix"), path("/foo", "exact", "Exact")], "/foo", "exact"),  # Exact beats Prefix at a tie
    ([path("/foo", "impl", "ImplementationSpecific")], "/foo/bar", "impl"),  # a Prefix here
])
def test_the_documentations_examples(paths: list[Obj], request_path: str, expected: str) -> None:
    assert served(paths, request_path) == expected


def test_hosts_exact_then_wildcard_then_any() -> None:
    table = plan_ingress_table([ingress("i", [
        {"host": "foo.bar.com", "http": {"paths": [path("/", "exact-host")]}},
        {"host": "*.bar.com", "http": {"paths": [path("/", "wildcard")]}},
        {"http": {"paths": [path("/only-here", "no-host")]}},
    ])])

    def svc(host: str, p: str = "/") -> str | None:
        found = route(table, host, p)
        return found.service if found else None

    assert svc("foo.bar.com") == "exact-host"
    assert svc("FOO.bar.com:8080") == "exact-host"  # case and port do not matter
    assert svc("baz.bar.com") == "wildcard"  # one label stands for the *
    assert svc("baz.foo.bar.com") is None  # not two
    assert svc("bar.com") is None  # nor none
    assert svc("other.example", "/only-here/x") == "no-host"
    assert svc("other.example") is None  # no default backend: a 404


def test_an_exact_host_without_a_matching_path_falls_back_to_the_wildcard() -> None:
    table = plan_ingress_table([ingress("i", [
        {"host": "api.app.localhost", "http": {"paths": [path("/v1", "api")]}},
        {"host": "*.app.localhost", "http": {"paths": [path("/", "web")]}},
    ])])
    assert route(table, "api.app.localhost", "/v1/x") == Backend("ns/i", "ns", "api", 80)
    assert route(table, "api.app.localhost", "/") == Backend("ns/i", "ns", "web", 80)


def test_several_ingresses_merge_and_the_older_wins_a_conflict() -> None:
    older = ingress("old", [{"host": "a.localhost", "http": {"paths": [path("/", "first")]}}],
                    created="2026-01-01T00:00:00Z")
    newer = ingress("new", [{"host": "a.localhost", "http": {"paths": [path("/", "second"), path("/api", "api")]}}],
                    created="2026-02-01T00:00:00Z")
    table = plan_ingress_table([newer, older])
    assert route(table, "a.localhost", "/").service == "first"  # type: ignore[union-attr]
    assert route(table, "a.localhost", "/api/v1").service == "api"  # type: ignore[union-attr]


@pytest.mark.parametrize(("spec", "annotations", "ours"), [
    ({}, {}, True),  # no class: ours is the default class
    ({"ingressClassName": "boxk8s"}, {}, True),
    ({"ingressClassName": "nginx"}, {}, False),
    ({}, {"kubernetes.io/ingress.class": "nginx"}, False),  # the deprecated annotation still counts
])
def test_which_ingresses_are_ours(spec: Obj, annotations: Obj, ours: bool) -> None:
    assert is_ours({"metadata": {"name": "i", "annotations": annotations}, "spec": spec}) is ours


def test_other_classes_and_deleting_ingresses_are_not_served() -> None:
    theirs = ingress("theirs", [{"http": {"paths": [path("/", "x")]}}], ingressClassName="nginx")
    going = ingress("going", [{"http": {"paths": [path("/", "y")]}}])
    going["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert route(plan_ingress_table([theirs, going]), "h", "/") is None


def test_backend_ports_by_number_or_name() -> None:
    svc = {"spec": {"ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 9000}]}}
    assert service_port(svc, 9000) == {"name": "admin", "port": 9000}
    assert service_port(svc, "http") == {"name": "http", "port": 80}
    assert service_port(svc, "missing") is None and service_port(svc, 81) is None
    table = plan_ingress_table([ingress("i", [{"http": {"paths": [path("/", "web", port="http")]}}])])
    assert route(table, "h", "/") == Backend("ns/i", "ns", "web", "http")
