"""Deployment decisions as tables: fenceposts, rolling steps, Recreate, scaling, revisions, cleanup, hash, status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.controllers import deployment_plan as plan
from boxk8s.controllers import deployment_status as ds

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def deploy(replicas: int = 10, surge: Any = "25%", unavailable: Any = "25%", strategy: str = "RollingUpdate",
           **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        s["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "namespace": "default", "uid": "d1", "generation": 1},
            "spec": {"replicas": replicas, "strategy": s, "selector": {"matchLabels": {"app": "web"}},
                     "template": copy.deepcopy(TEMPLATE), "revisionHistoryLimit": 10,
                     "progressDeadlineSeconds": 600, **spec},
            "status": {}}


def rs(name: str, replicas: int, available: int | None = None, created: int = 0, rev: int = 1,
       annotations: dict[str, str] | None = None, template: dict[str, Any] | None = None) -> dict[str, Any]:
    available = replicas if available is None else available
    return {"metadata": {"name": name, "uid": f"uid-{name}", "generation": 1,
                         "creationTimestamp": (NOW + timedelta(seconds=created)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "annotations": {plan.REVISION: str(rev), **(annotations or {})}},
            "spec": {"replicas": replicas, "template": template or {"metadata": {"labels": {"app": "old"}}}},
            "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available,
                       "observedGeneration": 1}}


# ---- fenceposts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("surge", "unavailable", "desired", "want"), [
    ("25%", "25%", 10, (3, 2)),   # surge rounds up, unavailable down
    ("25%", "25%", 4, (1, 1)),
    ("25%", "25%", 1, (1, 0)),
    ("0%", "0%", 10, (0, 1)),     # both zero: one may be unavailable
    (0, 0, 3, (0, 1)),
    (1, 0, 3, (1, 0)),
    (0, "50%", 3, (0, 1)),
    ("100%", 0, 3, (3, 0)),
    ("1%", "1%", 3, (1, 0)),
    ("50%", "33%", 7, (4, 2)),
    (None, None, 5, (0, 1)),
])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, want: tuple[int, int]) -> None:
    assert plan.resolve_fenceposts(surge, unavailable, desired) == want


def test_max_unavailable_is_capped_and_zero_for_recreate() -> None:
    assert plan.max_unavailable(deploy(3, 0, 5)) == 3
    assert plan.max_unavailable(deploy(0, 0, 5)) == 0
    assert plan.max_unavailable(deploy(3, strategy="Recreate")) == 0
    assert plan.max_surge(deploy(3, strategy="Recreate")) == 0


# ---- rolling steps ------------------------------------------------------------------------------

NEW_T = {"metadata": {"labels": {"app": "web", plan.HASH_LABEL: "h"}}, "spec": TEMPLATE["spec"]}


@pytest.mark.parametrize(("d", "old", "new", "want"), [
    # reconcileNewReplicaSet
    (deploy(10, 2, 0), [rs("old", 10)], rs("new", 0, created=1), [("new", 2)]),
    (deploy(10, 2, 0), [rs("old", 5)], rs("new", 0, created=1), [("new", 7)]),
    (deploy(10, "20%", 0), [rs("old", 10)], rs("new", 0, created=1), [("new", 2)]),
    (deploy(10, 2, 0), [rs("old", 0)], rs("new", 12, created=1), [("new", 10)]),
    # nothing to add (surge used up): scale old down as availability allows
    (deploy(10, 0, 0), [rs("old", 10)], rs("new", 0, created=1), [("old", 9)]),  # both 0 → unavailable 1
    (deploy(10, 0, 2), [rs("old", 10)], rs("new", 0, created=1), [("old", 8)]),
    (deploy(10, 2, 2), [rs("old", 10)], rs("new", 2, 0, created=1), [("old", 8)]),
    (deploy(10, 2, 0), [rs("old", 10)], rs("new", 2, 0, created=1), []),           # wait for new pods
    (deploy(10, 2, 0), [rs("old", 10)], rs("new", 2, 2, created=1), [("old", 8)]),
    # unhealthy old replicas go first, even below minAvailable's budget for healthy ones
    (deploy(10, 0, 2), [rs("old", 10, 6)], rs("new", 0, created=1), [("old", 8)]),
    # several old ReplicaSets: oldest scaled down first
    (deploy(4, 0, 2), [rs("b", 2, created=-1), rs("a", 2, created=-2)], rs("new", 0, created=1), [("a", 0)]),
    # done
    (deploy(10, 2, 2), [rs("old", 0)], rs("new", 10, created=1), []),
])
def test_rolling_steps(d: dict[str, Any], old: list[dict[str, Any]], new: dict[str, Any],
                       want: list[tuple[str, int]]) -> None:
    assert [(s.name, s.replicas) for s in plan.plan_rolling(d, new, old)] == want


def simulate(d: dict[str, Any], lag: int) -> list[tuple[int, int, int]]:
    """Run a whole rollout with an ideal ReplicaSet controller whose new pods need `lag` steps to be available."""
    old, new = rs("old", plan.replicas_of(d)), rs("new", 0, created=1)
    ages: list[int] = []  # new pods' ages in steps
    seen = []
    for _ in range(200):
        steps = plan.plan_rolling(d, new, [old])
        for s in steps:
            target = new if s.name == "new" else old
            target["spec"]["replicas"] = s.replicas
        # the ReplicaSet controller: old pods go at once; new pods come and ripen
        old["status"]["availableReplicas"] = old["status"]["replicas"] = old["spec"]["replicas"]
        ages = (ages + [0] * max(new["spec"]["replicas"] - len(ages), 0))[: new["spec"]["replicas"]]
        new["status"]["replicas"] = len(ages)
        new["status"]["availableReplicas"] = sum(1 for a in ages if a >= lag)
        ages = [a + 1 for a in ages]
        total = old["spec"]["replicas"] + new["spec"]["replicas"]
        available = old["status"]["availableReplicas"] + new["status"]["availableReplicas"]
        seen.append((total, available, new["status"]["availableReplicas"]))
        if not steps and old["spec"]["replicas"] == 0 and new["status"]["availableReplicas"] == plan.replicas_of(d):
            return seen
    raise AssertionError(f"rollout did not finish: {seen[-5:]}")


@pytest.mark.parametrize("replicas", [1, 3, 4, 10])
@pytest.mark.parametrize(("surge", "unavailable"), [(1, 0), (0, 1), ("25%", "25%"), ("50%", "0%"), (0, "100%"),
                                                    (3, 2), ("0%", "0%")])
@pytest.mark.parametrize("lag", [0, 2])
def test_rolling_update_stays_within_bounds(replicas: int, surge: Any, unavailable: Any, lag: int) -> None:
    d = deploy(replicas, surge, unavailable)
    max_surge, max_unavailable = plan.max_surge(d), plan.max_unavailable(d)
    for total, available, _ in simulate(d, lag):
        assert total <= replicas + max_surge
        assert available >= replicas - max_unavailable


# ---- Recreate -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "running", "want"), [
    ([rs("old", 3)], None, True, ("scale-down", [("old", 0)])),
    ([rs("old", 0)], None, True, ("wait", [])),
    ([rs("old", 0)], None, False, ("create", [])),
    ([rs("old", 0)], rs("new", 0), False, ("scale-up", [("new", 3)])),
    ([rs("old", 0)], rs("new", 3), False, ("done", [])),
])
def test_recreate_sequence(old: list[dict[str, Any]], new: dict[str, Any] | None, running: bool,
                           want: tuple[str, list[tuple[str, int]]]) -> None:
    action, steps = plan.plan_recreate(deploy(3, strategy="Recreate"), new, old, running)
    assert (action, [(s.name, s.replicas) for s in steps]) == want


def test_old_pods_running() -> None:
    old = rs("old", 0)
    old["status"]["replicas"] = 0
    new = rs("new", 1)
    running = {"metadata": {}, "status": {"phase": "Running"}}
    done = {"metadata": {}, "status": {"phase": "Succeeded"}}
    assert plan.old_pods_running(new, [old], {"uid-old": [running]})
    assert not plan.old_pods_running(new, [old], {"uid-old": [done], "uid-new": [running]})
    old["status"]["replicas"] = 1
    assert plan.old_pods_running(new, [old], {})


# ---- scaling ---------------------------------------------------------------------------------------

def test_scaling_event_and_single_active_rs() -> None:
    d = deploy(5)
    new = rs("new", 3, annotations={plan.DESIRED_REPLICAS: "3"}, created=1)
    assert plan.is_scaling_event(d, new, [])
    assert not plan.is_scaling_event(deploy(3), new, [])
    assert [(s.name, s.replicas) for s in plan.plan_scale(d, new, [rs("old", 0)])] == [("new", 5)]


def test_proportional_scaling_mid_rollout() -> None:
    """The documentation's example: 10 → 15 with maxSurge 3 while 8 old and 5 new: +3 old, +2 new."""
    d = deploy(15, 3, 2)
    ann = {plan.MAX_REPLICAS: "13", plan.DESIRED_REPLICAS: "10"}
    old, new = rs("old", 8, annotations=ann), rs("new", 5, 0, created=1, annotations=ann)
    steps = {s.name: s.replicas for s in plan.plan_scale(d, new, [old])}
    assert steps == {"old": 11, "new": 7}
    down = {s.name: s.replicas for s in plan.plan_scale(deploy(5, 3, 2), new, [old])}
    assert sum(down.values()) == 8 and down["old"] < 8 and down["new"] < 5


def test_saturated_new_rs_scales_old_to_zero() -> None:
    d = deploy(3)
    new = rs("new", 3, created=1, annotations={plan.DESIRED_REPLICAS: "3"})
    assert [(s.name, s.replicas) for s in plan.plan_scale(d, new, [rs("old", 1)])] == [("old", 0)]


# ---- revisions, hash, cleanup ------------------------------------------------------------------

def test_find_new_rs_ignores_hash_label_and_picks_oldest() -> None:
    d = deploy(3)
    a = rs("a", 1, created=5, template=NEW_T)
    b = rs("b", 1, created=2, template={**NEW_T, "metadata": {"labels": {"app": "web", plan.HASH_LABEL: "x"}}})
    other = rs("c", 1, created=0)
    assert plan.find_new_rs(d, [a, other, b]) is b
    assert plan.find_new_rs(d, [other]) is None


def test_revisions_and_rollback_history() -> None:
    assert plan.max_revision([rs("a", 0, rev=3), rs("b", 0, rev=7)]) == 7
    d = deploy(3)
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v2", plan.LAST_APPLIED: "{}", plan.REVISION: "9"}
    fresh = plan.new_rs_annotations(d, {}, 1, exists=False)
    assert fresh == {"kubernetes.io/change-cause": "v2", plan.REVISION: "1",
                     plan.DESIRED_REPLICAS: "3", plan.MAX_REPLICAS: "4"}
    rolled = plan.new_rs_annotations(d, {plan.REVISION: "1", plan.REVISION_HISTORY: "0"}, 5, exists=True)
    assert rolled[plan.REVISION] == "5" and rolled[plan.REVISION_HISTORY] == "0,1"
    same = plan.new_rs_annotations(d, {plan.REVISION: "6"}, 5, exists=True)
    assert same[plan.REVISION] == "6" and plan.REVISION_HISTORY not in same


def test_hash_is_stable_and_safe() -> None:
    h = plan.compute_hash(TEMPLATE)
    reordered = {"spec": TEMPLATE["spec"], "metadata": {"labels": {"app": "web"}}}
    assert plan.compute_hash(reordered) == h
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    assert plan.compute_hash(TEMPLATE, 1) != h
    changed = copy.deepcopy(TEMPLATE)
    changed["spec"]["containers"][0]["image"] = "other"
    assert plan.compute_hash(changed) != h
    assert h == plan.compute_hash(copy.deepcopy(TEMPLATE))
    assert plan.safe_encode_string("1234") == "5678"  # bytes 49..52 mod 27 in upstream's alphabet
    assert (h, plan.compute_hash(TEMPLATE, 1)) == ("686fbf49d8", "6f844cc749")  # pinned: names must not drift
    assert plan.fnv32a(b"") == 0x811C9DC5 and plan.fnv32a(b"a") == 0xE40C292C


def test_new_replica_set_body() -> None:
    d = deploy(3, minReadySeconds=5)
    body = plan.new_replica_set(d, "abc", 1, {"x": "y"})
    assert body["metadata"]["name"] == "web-abc"
    assert body["metadata"]["labels"] == {"app": "web", plan.HASH_LABEL: "abc"}
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web", plan.HASH_LABEL: "abc"}}
    assert body["spec"]["template"]["metadata"]["labels"] == {"app": "web", plan.HASH_LABEL: "abc"}
    assert body["spec"]["minReadySeconds"] == 5 and body["spec"]["replicas"] == 1
    [ref] = body["metadata"]["ownerReferences"]
    assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1",
                   "controller": True, "blockOwnerDeletion": True}
    assert "labels" in d["spec"]["template"]["metadata"] and plan.HASH_LABEL not in d["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize(("limit", "olds", "want"), [
    (10, [rs("a", 0, rev=1)], []),
    (1, [rs("a", 0, rev=1), rs("b", 0, rev=2), rs("c", 0, rev=3)], ["a", "b"]),
    (1, [rs("a", 1, rev=1), rs("b", 0, rev=2), rs("c", 0, rev=3)], ["b"]),  # not at zero: kept
    (0, [rs("a", 0, rev=4), rs("b", 0, rev=2)], ["b", "a"]),
])
def test_cleanup(limit: int, olds: list[dict[str, Any]], want: list[str]) -> None:
    assert plan.plan_cleanup(deploy(3, revisionHistoryLimit=limit), olds) == want


# ---- status and conditions ----------------------------------------------------------------------

def test_status_available_and_progressing() -> None:
    d = deploy(4, 1, 1)
    new = rs("web-h", 4, 2)
    st = ds.rollout_status(d, [new], new, NOW)
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"], st["unavailableReplicas"]) == (4, 4, 2, 2)
    cond = {c["type"]: c for c in st["conditions"]}
    assert cond["Available"]["reason"] == "MinimumReplicasUnavailable"
    assert cond["Available"]["message"] == "Deployment does not have minimum availability."
    assert cond["Progressing"]["reason"] == "ReplicaSetUpdated"
    assert cond["Progressing"]["message"] == 'ReplicaSet "web-h" is progressing.'
    d["status"] = st
    new = rs("web-h", 4, 4)
    st = ds.rollout_status(d, [new], new, NOW)
    cond = {c["type"]: c for c in st["conditions"]}
    assert cond["Available"]["reason"] == "MinimumReplicasAvailable"
    assert cond["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert cond["Progressing"]["message"] == 'ReplicaSet "web-h" has successfully progressed.'
    assert ds.seconds_until_stuck(d, st, NOW) is None


def test_progress_deadline_exceeded() -> None:
    d = deploy(2, progressDeadlineSeconds=30)
    new = rs("web-h", 2, 0)
    d["status"] = ds.rollout_status(d, [new], new, NOW)
    assert ds.seconds_until_stuck(d, d["status"], NOW) == pytest.approx(31)
    later = NOW + timedelta(seconds=31)
    st = ds.rollout_status(d, [new], new, later)
    cond = ds.get_condition(st, "Progressing")
    assert cond["status"] == "False" and cond["reason"] == "ProgressDeadlineExceeded"
    assert cond["message"] == 'ReplicaSet "web-h" has timed out progressing.'


def test_paused_and_resumed_conditions() -> None:
    d = deploy(2, paused=True)
    cond = ds.paused_condition(d, NOW)
    assert cond["reason"] == "DeploymentPaused" and cond["status"] == "Unknown" and cond["message"] == "Deployment is paused"
    d["status"] = {"conditions": [cond]}
    assert ds.paused_condition(d, NOW) is None
    d["spec"]["paused"] = False
    assert ds.paused_condition(d, NOW)["reason"] == "DeploymentResumed"


def test_set_condition_keeps_transition_time() -> None:
    st: dict[str, Any] = {}
    ds.set_condition(st, ds.new_condition("Available", "True", "A", "m", NOW))
    ds.set_condition(st, ds.new_condition("Available", "True", "B", "m", NOW + timedelta(seconds=5)))
    [c] = st["conditions"]
    assert c["reason"] == "B" and c["lastTransitionTime"] == "2026-01-01T12:00:00Z"


def test_null_fields_are_absent_fields() -> None:
    """kubectl rollout undo sends the template back with `creationTimestamp: null`: still the same template."""
    with_null = copy.deepcopy(TEMPLATE)
    with_null["metadata"]["creationTimestamp"] = None
    assert plan.equal_ignore_hash(with_null, NEW_T)
    assert plan.compute_hash(with_null) == plan.compute_hash(TEMPLATE)
