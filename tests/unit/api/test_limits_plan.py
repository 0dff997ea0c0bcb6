"""The API limits' pure decisions: admission, Go durations, request deadlines, health reports, and
the labels a request is counted under."""

from __future__ import annotations

import pytest

from boxk8s import errors
from boxk8s.api.auth.requestinfo import request_info
from boxk8s.api.health import Check, report
from boxk8s.api.limits import ApiLimits, is_long_running, parse_go_duration, plan_admission, request_deadline
from boxk8s.api.telemetry import clean_scope, dry_run_label, reported_verb

LIMITS = ApiLimits(max_requests_inflight=2, max_mutating_requests_inflight=1, max_watches_per_user=1)
PODS = "/api/v1/namespaces/ns/pods"


def info(method: str, path: str, **query: str):  # type: ignore[no-untyped-def]
    return request_info(method, path, query)


@pytest.mark.parametrize(("method", "path", "query", "long"), [
    ("GET", PODS, {"watch": "true"}, True),
    ("GET", "/api/v1/watch/pods", {}, True),
    ("GET", f"{PODS}/p/log", {}, True),
    ("POST", f"{PODS}/p/exec", {}, True),
    ("GET", f"{PODS}/p/portforward", {}, True),
    ("GET", f"{PODS}/p/attach", {}, True),
    ("GET", "/api/v1/namespaces/ns/services/s/proxy", {}, True),
    ("GET", PODS, {}, False),
    ("GET", PODS, {"watch": "false"}, False),
    ("POST", PODS, {}, False),
    ("GET", f"{PODS}/p/status", {}, False),
    ("GET", "/log", {}, False),  # a non-resource path named like a subresource
])
def test_long_running_is_upstreams(method: str, path: str, query: dict[str, str], long: bool) -> None:
    assert is_long_running(info(method, path, **query)) is long


def test_plan_admission() -> None:
    get, post, watch = info("GET", PODS), info("POST", PODS), info("GET", PODS, watch="1")
    plan = lambda i, **kw: plan_admission(i, **{"master": False, "read_only": 0, "mutating": 0,  # noqa: E731
                                                  "watches": 0, "limits": LIMITS, **kw})
    assert plan(get).kind == "readOnly" and not plan(get).refuse
    assert plan(get, read_only=1).refuse == ""
    assert plan(get, read_only=2).refuse == "inflight"
    assert plan(get, read_only=2, mutating=0, master=True).refuse == ""  # system:masters always get an answer
    assert plan(post, mutating=1).refuse == "inflight" and plan(post, mutating=1).kind == "mutating"
    assert plan(post, read_only=2).refuse == ""  # separate limits
    assert plan(watch, read_only=2).kind == "watch" and not plan(watch, read_only=2).refuse
    assert plan(watch, watches=1).refuse.startswith("too many watches: this user has 1 open")
    assert plan(watch, watches=1, master=True).refuse  # the watch cap applies to everyone
    assert plan(info("GET", f"{PODS}/p/log"), read_only=9).kind == "long-running"
    unlimited = ApiLimits(max_requests_inflight=0, max_mutating_requests_inflight=0, max_watches_per_user=0)
    assert not plan(get, read_only=10**6, limits=unlimited).refuse
    assert not plan(watch, watches=10**6, limits=unlimited).refuse


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("32s", 32.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25), ("-2s", -2.0), ("1h2m3s4ms", 3723.004),
    ("10us", 1e-5), ("3µs", 3e-6), ("7ns", 7e-9), ("+5s", 5.0), (".5s", 0.5),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "1x", "1s2", "one", "--1s", ". s"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match=f'time: invalid duration "{text}"'):
        parse_go_duration(text)


def test_request_deadline() -> None:
    assert request_deadline(None, 60) == 60
    assert request_deadline("5s", 60) == 5
    assert request_deadline("5m", 60) == 60  # never longer than --request-timeout
    assert request_deadline("0s", 60) == 60
    with pytest.raises(errors.BadRequest, match='invalid timeout specified in the request URL - time: invalid'):
        request_deadline("5", 60)


def test_health_report() -> None:
    checks = [Check("ping", lambda: None), Check("etcd", lambda: "down")]
    assert report("livez", checks[:1], [], verbose=False) == (200, "ok")
    assert report("livez", checks[:1], [], verbose=True) == (200, "[+]ping ok\nlivez check passed\n")
    assert report("livez", checks, [], verbose=False) == (
        500, "[+]ping ok\n[-]etcd failed: reason withheld\nlivez check failed\n")
    assert report("readyz", checks, ["etcd", "x", "a"], verbose=True) == (200, (
        '[+]ping ok\n[+]etcd excluded: ok\nwarn: some health checks cannot be excluded: no matches for "a","x"\n'
        "readyz check passed\n"))


@pytest.mark.parametrize(("method", "path", "query", "ctype", "verb", "scope"), [
    ("GET", PODS, {}, "", "LIST", "namespace"),
    ("GET", "/api/v1/pods", {}, "", "LIST", "cluster"),
    ("GET", f"{PODS}/p", {}, "", "GET", "resource"),
    ("GET", PODS, {"watch": "true"}, "", "WATCH", "namespace"),
    ("GET", "/api/v1/watch/namespaces/ns/pods", {}, "", "WATCH", "namespace"),
    ("POST", PODS, {}, "", "POST", "resource"),  # CleanScope: a create is "resource"
    ("PUT", f"{PODS}/p", {}, "", "PUT", "resource"),
    ("PATCH", f"{PODS}/p", {}, "application/merge-patch+json", "PATCH", "resource"),
    ("PATCH", f"{PODS}/p", {}, "application/apply-patch+yaml", "APPLY", "resource"),
    ("DELETE", PODS, {}, "", "DELETE", "namespace"),
    ("GET", f"{PODS}/p/log", {}, "", "CONNECT", "resource"),
    ("POST", f"{PODS}/p/exec", {}, "", "CONNECT", "resource"),
    ("OPTIONS", f"{PODS}/p", {}, "", "other", "resource"),
])
def test_reported_verb_and_scope(method: str, path: str, query: dict[str, str], ctype: str, verb: str,
                                 scope: str) -> None:
    i = info(method, path, **query)
    assert clean_scope(i) == scope
    assert reported_verb(i, method, scope, ctype) == verb


def test_dry_run_label() -> None:
    assert dry_run_label([]) == ""
    assert dry_run_label(["All", "All"]) == "All"
    assert dry_run_label(["All", "Some"]) == "invalid"
