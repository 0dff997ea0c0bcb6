"""ReplicaSet decisions as tables: how many pods to create or delete and which, status, claims, expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.controllers.podutil import active_pods_sort_key, is_pod_active, plan_claims, pod_from_template
from boxk8s.controllers.replicaset_plan import (
    Expectations,
    calculate_status,
    next_availability_check,
    plan_replicas,
    slow_start_batches,
    status_needs_update,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True, ready_ago: float = 100,
        restarts: int = 0, created_ago: float = 1000, labels: dict[str, str] | None = None,
        owner: str | None = None, deleting: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                          "creationTimestamp": ts(created_ago), "labels": labels or {"app": "web"}}
    if owner:
        md["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": f"uid-{owner}", "controller": True}]
    if deleting:
        md["deletionTimestamp"] = ts(0)
    return {
        "metadata": md,
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                   "lastTransitionTime": ts(ready_ago)}],
                   "containerStatuses": [{"name": "c", "restartCount": restarts}]},
    }


def rs(replicas: int = 3, min_ready: int = 0, generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": generation},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {}}},
            "status": status or {}}


@pytest.mark.parametrize(("replicas", "have", "create", "delete"), [
    (3, 0, 3, 0),
    (3, 1, 2, 0),
    (3, 3, 0, 0),
    (1, 3, 0, 2),
    (0, 2, 0, 2),
    (1000, 0, 500, 0),  # burstReplicas
])
def test_plan_replicas_counts(replicas: int, have: int, create: int, delete: int) -> None:
    p = plan_replicas(replicas, [pod(f"p{i}") for i in range(have)])
    assert (p.create, len(p.delete)) == (create, delete)


@pytest.mark.parametrize(("victim", "keeper"), [
    (pod("a", node=""), pod("b")),                                   # unassigned before assigned
    (pod("a", phase="Pending", ready=False), pod("b")),             # Pending before Running
    (pod("a", phase="Unknown"), pod("b", phase="Running")),         # Unknown before Running
    (pod("a", phase="Pending", ready=False), pod("b", phase="Unknown", ready=False)),  # Pending < Unknown
    (pod("a", ready=False), pod("b", ready=True)),                  # not ready before ready
    (pod("a", ready_ago=5), pod("b", ready_ago=500)),               # ready more recently first
    (pod("a", restarts=4), pod("b", restarts=0)),                   # more restarts first
    (pod("a", created_ago=10), pod("b", created_ago=1000)),         # newer first
])
def test_scale_down_deletes_least_valuable_first(victim: dict[str, Any], keeper: dict[str, Any]) -> None:
    for order in ([victim, keeper], [keeper, victim]):
        p = plan_replicas(1, order)
        assert [x["metadata"]["name"] for x in p.delete] == [victim["metadata"]["name"]]
    assert active_pods_sort_key(victim) < active_pods_sort_key(keeper)


def test_scale_down_picks_two_of_four() -> None:
    pods = [pod("old-ready"), pod("pending", phase="Pending", ready=False, node=""),
            pod("crashy", restarts=7), pod("older-ready", created_ago=5000, ready_ago=4000)]
    p = plan_replicas(2, pods)
    assert [x["metadata"]["name"] for x in p.delete] == ["pending", "crashy"]


def test_slow_start_batches() -> None:
    assert slow_start_batches(0) == []
    assert slow_start_batches(1) == [1]
    assert slow_start_batches(10) == [1, 2, 4, 3]


def test_terminating_and_finished_pods_are_not_active() -> None:
    assert is_pod_active(pod("a"))
    assert not is_pod_active(pod("a", deleting=True))
    assert not is_pod_active(pod("a", phase="Succeeded"))
    assert not is_pod_active(pod("a", phase="Failed"))


def test_status_counts_ready_available_fully_labeled() -> None:
    pods = [pod("a", labels={"app": "web", "tier": "fe"}), pod("b", ready_ago=2), pod("c", ready=False)]
    st = calculate_status(rs(min_ready=5), pods, NOW, None)
    assert (st["replicas"], st["readyReplicas"], st["availableReplicas"], st["fullyLabeledReplicas"]) == (3, 2, 1, 1)
    assert next_availability_check(rs(min_ready=5), pods, NOW) == pytest.approx(3.05)
    failed = calculate_status(rs(), pods, NOW, ("FailedCreate", "quota"))
    assert failed["conditions"][0]["type"] == "ReplicaFailure" and failed["conditions"][0]["reason"] == "FailedCreate"
    healed = calculate_status(rs(status=failed), pods, NOW, None)
    assert "conditions" not in healed


def test_status_needs_update() -> None:
    r = rs(generation=2, status={"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                                 "fullyLabeledReplicas": 1, "observedGeneration": 2})
    assert not status_needs_update(r, {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                                       "fullyLabeledReplicas": 1})
    assert status_needs_update(r, {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                                   "fullyLabeledReplicas": 1})
    assert status_needs_update(rs(generation=3, status=r["status"]), dict(r["status"]))


def test_claims_adopt_release_ignore() -> None:
    owner = rs()
    mine = pod("mine", owner="web")
    stray = pod("stray", owner="web", labels={"app": "other"})
    orphan = pod("orphan")
    theirs = pod("theirs", owner="other")
    dying_orphan = pod("dying", deleting=True)
    unrelated = pod("unrelated", labels={"app": "x"})
    c = plan_claims(owner, owner["spec"]["selector"], [mine, stray, orphan, theirs, dying_orphan, unrelated])
    assert [p["metadata"]["name"] for p in c.owned] == ["mine", "orphan"]
    assert [p["metadata"]["name"] for p in c.adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in c.release] == ["stray"]
    deleting = rs()
    deleting["metadata"]["deletionTimestamp"] = ts(0)
    c = plan_claims(deleting, deleting["spec"]["selector"], [mine, stray, orphan])
    assert ([p["metadata"]["name"] for p in c.owned], c.adopt, c.release) == (["mine"], [], [])


def test_pod_from_template() -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc", "uid": "u1"}}
    p = pod_from_template({"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                           "spec": {"containers": [{"name": "c"}]}}, owner)
    assert p["metadata"]["generateName"] == "web-abc-"
    assert p["metadata"]["labels"] == {"app": "web"} and p["metadata"]["annotations"] == {"a": "b"}
    assert p["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc",
                                                 "uid": "u1", "controller": True, "blockOwnerDeletion": True}]
    assert p["spec"] == {"containers": [{"name": "c"}]}


def test_expectations() -> None:
    t = [0.0]
    e = Expectations(ttl=300, clock=lambda: t[0])
    assert e.satisfied("k")
    e.expect_creations("k", 2)
    assert not e.satisfied("k")
    e.creation_observed("k")
    assert not e.satisfied("k")
    e.creation_observed("k")
    assert e.satisfied("k")
    e.expect_deletions("k", ["default/a", "default/b"])
    e.deletion_observed("k", "default/a")
    e.deletion_observed("k", "default/a")  # a second observation of the same pod counts once
    assert not e.satisfied("k") and e.pending("k") == (0, 1)
    t[0] = 301
    assert e.satisfied("k")  # expired: look again
    e.forget("k")
    assert e.pending("k") == (0, 0)
