"""Reading workloads and their pods as kubectl does: targets, selectors, ready counts, durations."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.remote.workloads import (
    DAEMONSET,
    DEPLOYMENT,
    JOB,
    POD,
    STATEFULSET,
    BadTarget,
    WorkloadRow,
    log_prefix,
    parse_duration,
    parse_target,
    selector_string,
    started_containers,
    workload_row,
    workload_rows,
)


@pytest.mark.parametrize(("text", "kind", "name"), [
    ("deploy/web", DEPLOYMENT, "web"), ("deployment/web", DEPLOYMENT, "web"), ("deployments/web", DEPLOYMENT, "web"),
    ("sts/db", STATEFULSET, "db"), ("statefulset/db", STATEFULSET, "db"),
    ("ds/agent", DAEMONSET, "agent"), ("daemonsets/agent", DAEMONSET, "agent"),
    ("job/migrate", JOB, "migrate"), ("Job/migrate", JOB, "migrate"),
    ("pod/web-0", POD, "web-0"), ("po/web-0", POD, "web-0"), ("web-0", POD, "web-0"),
])
def test_targets(text: str, kind: Any, name: str) -> None:
    assert parse_target(text) == (kind, name)


@pytest.mark.parametrize("text", ["svc/web", "deploy/", "deploy/a/b", "cm/x"])
def test_bad_targets(text: str) -> None:
    with pytest.raises(BadTarget):
        parse_target(text)


def test_paths() -> None:
    assert DEPLOYMENT.path("demo", "web") == "/apis/apps/v1/namespaces/demo/deployments/web"
    assert JOB.path() == "/apis/batch/v1/jobs"
    assert POD.path("default", "x") + "/log" == "/api/v1/namespaces/default/pods/x/log"


@pytest.mark.parametrize(("selector", "query"), [
    ({"matchLabels": {"app": "web", "tier": "front"}}, "app=web,tier=front"),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["a", "b"]},
        {"key": "x", "operator": "NotIn", "values": ["c"]},
        {"key": "y", "operator": "Exists"}, {"key": "z", "operator": "DoesNotExist"}]},
     "app=web,env in (a,b),x notin (c),y,!z"),
    (None, ""),
])
def test_selector_as_query(selector: dict[str, Any] | None, query: str) -> None:
    assert selector_string(selector) == query


def _obj(ns: str, name: str, spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec, "status": status}


def test_workload_rows() -> None:
    rows = workload_rows([
        (DEPLOYMENT, [_obj("demo", "web", {"replicas": 3}, {"readyReplicas": 2}),
                      _obj("default", "api", {}, {})]),  # replicas defaults to 1, nothing ready yet
        (STATEFULSET, [_obj("demo", "db", {"replicas": 2}, {"readyReplicas": 2})]),
        (DAEMONSET, [_obj("kube-system", "agent", {}, {"desiredNumberScheduled": 3, "numberReady": 3})]),
        (JOB, [_obj("demo", "migrate", {"completions": 5}, {"succeeded": 4}), _obj("demo", "once", {}, {})]),
    ])
    assert rows == [
        WorkloadRow("default", "deploy/api", 0, 1),
        WorkloadRow("demo", "deploy/web", 2, 3),
        WorkloadRow("demo", "job/migrate", 4, 5),
        WorkloadRow("demo", "job/once", 0, 1),
        WorkloadRow("demo", "sts/db", 2, 2),
        WorkloadRow("kube-system", "ds/agent", 3, 3),
    ]
    assert rows[-1].complete and not rows[0].complete
    assert workload_row(DEPLOYMENT, _obj("a", "b", {"replicas": 0}, {})).complete


def test_started_containers_and_prefixes() -> None:
    pod = {"metadata": {"name": "web-1"},
           "spec": {"containers": [{"name": "app"}, {"name": "sidecar"}, {"name": "late"}]},
           "status": {"containerStatuses": [
               {"name": "app", "restartCount": 2, "state": {"running": {}}},
               {"name": "sidecar", "restartCount": 0, "state": {"terminated": {"exitCode": 1}}},
               {"name": "late", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert started_containers(pod) == [("app", 2), ("sidecar", 0)]
    assert log_prefix(pod, "app") == "[web-1/app]"
    solo = {"metadata": {"name": "web-2"}, "spec": {"containers": [{"name": "app"}]}, "status": {}}
    assert started_containers(solo) == [] and log_prefix(solo, "app") == "[web-2]"


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("10s", 10), ("1h30m", 5400), ("90", 90), ("1.5h", 5400),
                                               ("500ms", 0.5)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m5", "5m junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
