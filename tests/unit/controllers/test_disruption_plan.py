"""The disruption controller's decisions as tables: expected pods, desired and current health, the status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.controllers.disruption_plan import (
    DEPLOYMENT,
    RC,
    RS,
    STATEFULSET,
    SyncError,
    count_healthy,
    disrupted_pod_map,
    expected_pod_count,
    fail_safe,
    plan_pdb_status,
    scaled_value,
    stale_disruption_wait,
    status_update,
    without_stale_disruption,
)
from boxk8s.resources.registry import ResourceType

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
Obj = dict[str, Any]


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ref(kind: str, name: str, api_version: str = "apps/v1") -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}


def pod(name: str, *, ready: bool = True, owner: Obj | None = None, deleting: bool = False,
        labels: dict[str, str] | None = None) -> Obj:
    md: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels or {"app": "web"}}
    if owner is not None:
        md["ownerReferences"] = [owner]
    if deleting:
        md["deletionTimestamp"] = ts(0)
    return {"metadata": md, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def workload(name: str, replicas: int, owner: Obj | None = None) -> Obj:
    md: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    if owner is not None:
        md["ownerReferences"] = [owner]
    return {"metadata": md, "spec": {"replicas": replicas}}


def pdb(*, min_available: int | str | None = None, max_unavailable: int | str | None = None,
        selector: Obj | None = None, status: Obj | None = None, generation: int = 1) -> Obj:
    spec: Obj = {"selector": selector if selector is not None else {"matchLabels": {"app": "web"}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"metadata": {"name": "web", "namespace": "default", "generation": generation}, "spec": spec,
            "status": status or {}}


# A Deployment "web" of 5 (its ReplicaSet web-abc says 3: the Deployment's scale is the one counted),
# a bare ReplicaSet "solo" of 4, a StatefulSet "db" of 2, an RC "old" of 6, a DaemonSet "agent".
WORKLOADS: dict[tuple[str, str], Obj] = {
    ("deployments", "web"): workload("web", 5),
    ("replicasets", "web-abc"): workload("web-abc", 3, ref("Deployment", "web")),
    ("replicasets", "solo"): workload("solo", 4),
    ("replicasets", "orphaned-by-deploy"): workload("orphaned-by-deploy", 7, ref("Deployment", "gone")),
    ("statefulsets", "db"): workload("db", 2),
    ("replicationcontrollers", "old"): workload("old", 6),
}


def lookup(rt: ResourceType, namespace: str, name: str) -> Obj | None:
    assert namespace == "default"
    return WORKLOADS.get((rt.plural, name))


def test_lookup_kinds_are_the_finders_kinds() -> None:
    assert {RC.plural, RS.plural, DEPLOYMENT.plural, STATEFULSET.plural} == {
        "replicationcontrollers", "replicasets", "deployments", "statefulsets"}


@pytest.mark.parametrize(("value", "total", "round_up", "expected"), [
    (2, 10, True, 2),
    ("50%", 3, True, 2),  # 1.5 rounds up
    ("50%", 3, False, 1),
    ("33%", 10, True, 4),
    ("100%", 7, True, 7),
    ("0%", 7, True, 0),
    ("29%", 100, True, 29),  # float64, as Go: no 29.000000000000004 surprise here
])
def test_scaled_value(value: int | str, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("5", "invalid value for IntOrString: invalid type: string is not a percentage"),
    ("x%", 'invalid value for IntOrString: invalid value "x%": strconv.Atoi: parsing "x": invalid syntax'),
    (" 5%", 'invalid value for IntOrString: invalid value " 5%": strconv.Atoi: parsing " 5": invalid syntax'),
])
def test_scaled_value_errors(value: str, message: str) -> None:
    with pytest.raises(SyncError) as e:
        scaled_value(value, 10, True)
    assert str(e.value) == message


DEPLOY_PODS = [pod(f"w{i}", owner=ref("ReplicaSet", "web-abc")) for i in range(3)]


@pytest.mark.parametrize(("case", "budget", "pods", "expected"), [
    ("int minAvailable counts the selected pods, whatever their controller",
     pdb(min_available=2), DEPLOY_PODS[:2], (2, 2, [])),
    ("int minAvailable with unmanaged pods: fine", pdb(min_available=1), [pod("bare")], (1, 1, [])),
    ("percent minAvailable: the Deployment's scale, rounded up",
     pdb(min_available="50%"), DEPLOY_PODS, (5, 3, [])),
    ("maxUnavailable int", pdb(max_unavailable=1), DEPLOY_PODS, (5, 4, [])),
    ("maxUnavailable percent rounds the unavailable up", pdb(max_unavailable="30%"), DEPLOY_PODS, (5, 3, [])),
    ("maxUnavailable above the scale: desired 0", pdb(max_unavailable=9), DEPLOY_PODS, (5, 0, [])),
    ("a ReplicaSet without Deployment", pdb(max_unavailable=0), [pod("s", owner=ref("ReplicaSet", "solo"))],
     (4, 4, [])),
    ("a ReplicaSet whose Deployment is gone: its own scale (getScaleController)", pdb(max_unavailable=0),
     [pod("o", owner=ref("ReplicaSet", "orphaned-by-deploy"))], (7, 7, [])),
    ("StatefulSet", pdb(max_unavailable=1), [pod("db-0", owner=ref("StatefulSet", "db"))], (2, 1, [])),
    ("ReplicationController", pdb(max_unavailable=1), [pod("o", owner=ref("ReplicationController", "old", "v1"))],
     (6, 5, [])),
    ("each controller counted once, scales summed", pdb(min_available="100%"),
     [*DEPLOY_PODS, pod("db-0", owner=ref("StatefulSet", "db")), pod("db-1", owner=ref("StatefulSet", "db"))],
     (7, 7, [])),
    ("unmanaged pods are listed, not counted", pdb(max_unavailable=1),
     [*DEPLOY_PODS, pod("bare")], (5, 4, ["bare"])),
    ("neither set: nothing expected", pdb(), DEPLOY_PODS, (0, 0, [])),
])
def test_expected_pod_count(case: str, budget: Obj, pods: list[Obj], expected: tuple[int, int, list[str]]) -> None:
    assert expected_pod_count(budget, pods, lookup) == expected, case


@pytest.mark.parametrize(("owner", "message"), [
    (ref("DaemonSet", "agent"), "daemonsets.apps does not implement the scale subresource"),
    (ref("Job", "once", "batch/v1"), "jobs.batch does not implement the scale subresource"),
    (ref("Widget", "w", "example.com/v1"), 'no matches for kind "Widget" in version "example.com/v1"'),
    (ref("Deployment", "nope", "apps/v1beta1"), 'no matches for kind "Deployment" in version "apps/v1beta1"'),
    (ref("ReplicaSet", "missing"), 'found no controllers for pod "p"'),
    (ref("StatefulSet", "x", "a/b/c"), "unexpected GroupVersion string: a/b/c"),
])
def test_expected_scale_errors(owner: Obj, message: str) -> None:
    with pytest.raises(SyncError) as e:
        expected_pod_count(pdb(max_unavailable=1), [pod("p", owner=owner)], lookup)
    assert str(e.value) == message


def test_a_controller_whose_uid_differs_is_not_the_pods() -> None:
    owner = {**ref("StatefulSet", "db"), "uid": "another"}
    with pytest.raises(SyncError, match='found no controllers for pod "p"'):
        expected_pod_count(pdb(max_unavailable=1), [pod("p", owner=owner)], lookup)


def test_disrupted_pod_map_keeps_recent_evictions_and_drops_the_rest() -> None:
    status = {"disruptedPods": {"recent": ts(30), "late": ts(121), "deleting": ts(5), "gone": ts(5)}}
    pods = [pod("recent"), pod("late"), pod("deleting", deleting=True), pod("other")]
    kept, recheck, events = disrupted_pod_map(pdb(status=status), pods, NOW)
    assert kept == {"recent": ts(30)}
    assert recheck == NOW + timedelta(seconds=90)
    assert [(e.obj["metadata"]["name"], e.type, e.reason, e.message) for e in events] == [
        ("late", "Warning", "NotDeleted", "Pod was expected by PDB default/default to be deleted but it wasn't")]


@pytest.mark.parametrize(("pods", "disrupted", "healthy"), [
    ([pod("a"), pod("b"), pod("c")], {}, 3),
    ([pod("a"), pod("b", ready=False), pod("c", deleting=True)], {}, 1),
    ([pod("a"), pod("b")], {"b": ts(10)}, 1),  # evicted, not deleting yet: not healthy
    ([pod("a"), pod("b")], {"b": ts(130)}, 2),  # past DeletionTimeout: counts again
])
def test_count_healthy(pods: list[Obj], disrupted: dict[str, str], healthy: int) -> None:
    assert count_healthy(pods, disrupted, NOW) == healthy


def condition(status: str, reason: str, ago: float = 0, generation: int = 1, message: str = "") -> Obj:
    return {"type": "DisruptionAllowed", "status": status, "observedGeneration": generation,
            "lastTransitionTime": ts(ago), "reason": reason, "message": message}


@pytest.mark.parametrize(("case", "current", "desired", "expected", "allowed", "reason"), [
    ("healthy above desired", 3, 2, 3, 1, "SufficientPods"),
    ("at desired", 2, 2, 3, 0, "InsufficientPods"),
    ("below desired: never negative", 1, 2, 3, 0, "InsufficientPods"),
    ("nothing expected yet: nothing allowed", 3, 0, 0, 0, "InsufficientPods"),
])
def test_status_update(case: str, current: int, desired: int, expected: int, allowed: int, reason: str) -> None:
    status = status_update(pdb(min_available=2, generation=4), current, desired, expected, {}, NOW)
    assert status == {
        "observedGeneration": 4, "disruptionsAllowed": allowed, "currentHealthy": current, "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [condition("True" if allowed else "False", reason, generation=4)],
    }, case


def test_status_update_keeps_the_transition_time_of_an_unchanged_condition() -> None:
    old = {"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2,
           "expectedPods": 3, "conditions": [condition("True", "SufficientPods", ago=600)]}
    budget = pdb(min_available=2, status=old)
    assert status_update(budget, 3, 2, 3, {}, NOW) is None  # up to date: no write
    new = status_update(budget, 4, 2, 4, {}, NOW)
    assert new is not None
    assert new["disruptionsAllowed"] == 2 and new["conditions"] == [condition("True", "SufficientPods", ago=600)]
    lost = status_update(budget, 2, 2, 3, {"w1": ts(1)}, NOW)
    assert lost is not None
    assert lost["disruptedPods"] == {"w1": ts(1)}
    assert lost["conditions"] == [condition("False", "InsufficientPods", ago=0)]


def test_status_update_rewrites_a_stale_condition_or_generation() -> None:
    old = {"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2,
           "expectedPods": 3, "conditions": [condition("False", "SyncFailed", message="boom")]}
    new = status_update(pdb(min_available=2, status=old), 3, 2, 3, {}, NOW)
    assert new is not None and new["conditions"] == [condition("True", "SufficientPods")]
    bumped = pdb(min_available=2, generation=2, status={**old, "conditions": [condition("True", "SufficientPods")]})
    new = status_update(bumped, 3, 2, 3, {}, NOW)
    assert new is not None and new["observedGeneration"] == 2
    assert new["conditions"] == [condition("True", "SufficientPods", generation=2)]


def test_fail_safe_allows_nothing_and_says_why() -> None:
    old = {"observedGeneration": 1, "disruptionsAllowed": 2, "currentHealthy": 3, "desiredHealthy": 1,
           "expectedPods": 3, "conditions": [condition("True", "SufficientPods", ago=60)]}
    assert fail_safe(pdb(status=old), "found no controllers for pod \"p\"", NOW) == {
        **old, "disruptionsAllowed": 0,
        "conditions": [condition("False", "SyncFailed", message='found no controllers for pod "p"')]}


def events_of(plan: Any) -> list[tuple[str, str, str]]:
    return [(e.type, e.reason, e.message) for e in plan.events]


def test_plan_a_deployment_under_min_available() -> None:
    pods = [*DEPLOY_PODS, pod("other", labels={"app": "db"})]
    plan = plan_pdb_status(pdb(min_available=2), pods, lookup, NOW)
    assert plan.status is not None and plan.failed == "" and plan.events == ()
    assert {k: plan.status[k] for k in ("expectedPods", "currentHealthy", "desiredHealthy", "disruptionsAllowed")} \
        == {"expectedPods": 3, "currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1}
    assert plan.recheck_after is None


def test_plan_recheck_when_an_evicted_pod_is_due_to_delete() -> None:
    plan = plan_pdb_status(pdb(min_available=2, status={"disruptedPods": {"w0": ts(20)}}), DEPLOY_PODS, lookup, NOW)
    assert plan.status is not None
    assert plan.status["currentHealthy"] == 2 and plan.status["disruptionsAllowed"] == 0
    assert plan.recheck_after == 100.0


def test_plan_no_pods() -> None:
    plan = plan_pdb_status(pdb(min_available=1), [], lookup, NOW)
    assert events_of(plan) == [("Normal", "NoPods", "No matching pods found")]
    assert plan.status is not None and plan.status["disruptionsAllowed"] == 0


def test_plan_unmanaged_pods() -> None:
    plan = plan_pdb_status(pdb(max_unavailable="50%"), [*DEPLOY_PODS, pod("bare")], lookup, NOW)
    assert events_of(plan) == [("Warning", "UnmanagedPods", (
        "Pods selected by this PodDisruptionBudget (selector: &LabelSelector{MatchLabels:map[string]string{app: web,},"
        "MatchExpressions:[]LabelSelectorRequirement{},}) were found to be unmanaged. As a result, the status of the "
        "PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please "
        "set \".spec.minAvailable\" field of the PDB to an integer value."))]
    assert plan.status is not None and plan.status["expectedPods"] == 5 and plan.status["desiredHealthy"] == 2


def test_plan_failures_fail_safe() -> None:
    daemon_pod = pod("agent-x", owner=ref("DaemonSet", "agent"))
    plan = plan_pdb_status(pdb(max_unavailable=1, status={"disruptionsAllowed": 3}), [daemon_pod], lookup, NOW)
    assert plan.failed == "daemonsets.apps does not implement the scale subresource"
    assert events_of(plan) == [("Warning", "CalculateExpectedPodCountFailed", "Failed to calculate the number of "
                                "expected pods: daemonsets.apps does not implement the scale subresource")]
    assert plan.status == {"disruptionsAllowed": 0, "conditions": [  # observedGeneration 0: omitted
        {"type": "DisruptionAllowed", "status": "False", "lastTransitionTime": ts(0), "reason": "SyncFailed",
         "message": plan.failed}]}
    bad = pdb(min_available=1, selector={"matchExpressions": [{"key": "a", "operator": "Near"}]})
    plan = plan_pdb_status(bad, DEPLOY_PODS, lookup, NOW)
    assert plan.failed == '"Near" is not a valid label selector operator'
    assert events_of(plan)[0] == ("Warning", "NoPods", f"Failed to get pods: {plan.failed}")


@pytest.mark.parametrize(("selector", "count"), [
    (None, 0),  # a null selector selects nothing
    ({}, 4),  # an empty one selects every pod of the namespace (policy/v1)
    ({"matchLabels": {"app": "web"}}, 3),
])
def test_plan_selection(selector: Obj | None, count: int) -> None:
    budget = pdb(min_available=0)
    budget["spec"]["selector"] = selector
    plan = plan_pdb_status(budget, [*DEPLOY_PODS, pod("x", labels={"app": "x"})], lookup, NOW)
    assert plan.status is not None and plan.status["expectedPods"] == count


def with_target(status: str, reason: str, ago: float, phase: str = "Running", deleting: bool = False) -> Obj:
    p = pod("p", deleting=deleting)
    p["status"]["phase"] = phase
    p["status"]["conditions"].append({"type": "DisruptionTarget", "status": status, "reason": reason,
                                      "message": "Eviction API: evicting", "lastTransitionTime": ts(ago)})
    return p


@pytest.mark.parametrize(("p", "wait"), [
    (pod("p"), None),
    (with_target("True", "EvictionByEvictionAPI", 30), 90.0),
    (with_target("True", "EvictionByEvictionAPI", 500), 0.0),
    (with_target("False", "", 500), None),
    (with_target("True", "TerminationByKubelet", 500), None),
    (with_target("True", "EvictionByEvictionAPI", 500, phase="Failed"), None),
    (with_target("True", "EvictionByEvictionAPI", 500, deleting=True), None),
])
def test_stale_disruption_wait(p: Obj, wait: float | None) -> None:
    assert stale_disruption_wait(p, NOW) == wait


def test_without_stale_disruption() -> None:
    new = without_stale_disruption(with_target("True", "EvictionByEvictionAPI", 500), NOW)
    assert new["status"]["conditions"][-1] == {"type": "DisruptionTarget", "status": "False", "lastProbeTime": None,
                                               "lastTransitionTime": ts(0)}
