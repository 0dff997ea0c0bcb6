"""Table tests for the StatefulSet plan: creation and deletion order, rolling updates, status, builders."""

from __future__ import annotations

import pytest

from boxk8s.controllers.revision import (
    find_equal,
    hash_data,
    new_revision,
    next_revision_number,
    plan_history_cleanup,
    template_of,
    template_patch,
)
from boxk8s.controllers.statefulset import new_claims, new_pod
from boxk8s.controllers.statefulset_plan import (
    Create,
    Delete,
    PodView,
    SetView,
    ordinal_of,
    plan_statefulset,
    plan_status,
)

U, C = "web-new", "web-old"  # update and current revisions


def ok(o: int, rev: str = U) -> PodView:
    return PodView(o, rev, ready=True, available=True)


def pending(o: int, rev: str = U) -> PodView:
    return PodView(o, rev)


def dying(o: int, rev: str = U) -> PodView:
    return PodView(o, rev, terminating=True, ready=True, available=True)


def failed(o: int, rev: str = U) -> PodView:
    return PodView(o, rev, failed=True)


def pods(*views: PodView) -> dict[int, PodView]:
    return {v.ordinal: v for v in views}


ORDERED = SetView(replicas=3, update_revision=U, current_revision=U)
PARALLEL = SetView(replicas=3, update_revision=U, current_revision=U, ordered=False)


@pytest.mark.parametrize(("s", "observed", "expected"), [
    # OrderedReady: one at a time, each Running and Ready before the next
    (ORDERED, pods(), [Create(0, U)]),
    (ORDERED, pods(pending(0)), []),
    (ORDERED, pods(ok(0)), [Create(1, U)]),
    (ORDERED, pods(ok(0), pending(1)), []),
    (ORDERED, pods(ok(0), ok(1)), [Create(2, U)]),
    (ORDERED, pods(ok(0), ok(1), ok(2)), []),
    # a deleted middle pod comes back before anything else happens
    (ORDERED, pods(ok(0), ok(2)), [Create(1, U)]),
    (ORDERED, pods(ok(0), dying(1), ok(2)), []),
    # a failed pod is deleted (then recreated when gone)
    (ORDERED, pods(ok(0), failed(1)), [Delete(1, "failed")]),
    # Parallel: everything missing at once, no waiting
    (PARALLEL, pods(), [Create(0, U), Create(1, U), Create(2, U)]),
    (PARALLEL, pods(pending(0)), [Create(1, U), Create(2, U)]),
    (PARALLEL, pods(ok(0), failed(1)), [Delete(1, "failed"), Create(2, U)]),
])
def test_scale_up(s: SetView, observed: dict[int, PodView], expected: list[object]) -> None:
    assert plan_statefulset(s, observed) == expected


ONE = SetView(replicas=1, update_revision=U, current_revision=U)
ONE_PARALLEL = SetView(replicas=1, update_revision=U, current_revision=U, ordered=False)


@pytest.mark.parametrize(("s", "observed", "expected"), [
    # OrderedReady: highest ordinal first, one at a time, waiting for termination
    (ONE, pods(ok(0), ok(1), ok(2)), [Delete(2, "condemned")]),
    (ONE, pods(ok(0), ok(1), dying(2)), []),
    (ONE, pods(ok(0), ok(1)), [Delete(1, "condemned")]),
    (ONE, pods(ok(0)), []),
    # predecessors must be healthy before scaling down
    (ONE, pods(pending(0), ok(1), ok(2)), []),
    # Parallel: every condemned pod at once
    (ONE_PARALLEL, pods(ok(0), ok(1), ok(2)), [Delete(2, "condemned"), Delete(1, "condemned")]),
    (ONE_PARALLEL, pods(ok(0), ok(1), dying(2)), [Delete(1, "condemned")]),
    # scale to zero
    (SetView(replicas=0, update_revision=U, current_revision=U), pods(ok(0), ok(1)), [Delete(1, "condemned")]),
])
def test_scale_down(s: SetView, observed: dict[int, PodView], expected: list[object]) -> None:
    assert plan_statefulset(s, observed) == expected


ROLL = SetView(replicas=3, update_revision=U, current_revision=C)
ROLL_P2 = SetView(replicas=3, update_revision=U, current_revision=C, partition=2)
ON_DELETE = SetView(replicas=3, update_revision=U, current_revision=C, rolling=False)


@pytest.mark.parametrize(("s", "observed", "expected"), [
    # from the highest ordinal down, one at a time, each healthy before the next
    (ROLL, pods(ok(0, C), ok(1, C), ok(2, C)), [Delete(2, "update")]),
    (ROLL, pods(ok(0, C), ok(1, C), dying(2, C)), []),
    (ROLL, pods(ok(0, C), ok(1, C)), [Create(2, U)]),
    (ROLL, pods(ok(0, C), ok(1, C), pending(2)), []),
    (ROLL, pods(ok(0, C), ok(1, C), ok(2)), [Delete(1, "update")]),
    (ROLL, pods(ok(0, C), ok(1), ok(2)), [Delete(0, "update")]),
    (ROLL, pods(ok(0), ok(1), ok(2)), []),
    # partition: ordinals below it keep the current revision, even when recreated
    (ROLL_P2, pods(ok(0, C), ok(1, C), ok(2, C)), [Delete(2, "update")]),
    (ROLL_P2, pods(ok(0, C), ok(1, C), ok(2)), []),
    (ROLL_P2, pods(ok(0, C), ok(2)), [Create(1, C)]),
    (SetView(replicas=3, update_revision=U, current_revision=C, partition=5), pods(ok(0, C), ok(1, C), ok(2, C)), []),
    # OnDelete: nothing is replaced, but what is recreated gets the update revision
    (ON_DELETE, pods(ok(0, C), ok(1, C), ok(2, C)), []),
    (ON_DELETE, pods(ok(0, C), ok(2, C)), [Create(1, U)]),
    # Parallel still updates one at a time
    (SetView(replicas=2, update_revision=U, current_revision=C, ordered=False), pods(ok(0, C), ok(1, C)),
     [Delete(1, "update")]),
    (SetView(replicas=2, update_revision=U, current_revision=C, ordered=False), pods(ok(0, C), pending(1)), []),
    # scaling first, then updating
    (SetView(replicas=1, update_revision=U, current_revision=C), pods(ok(0, C), ok(1, C)), [Delete(1, "condemned")]),
])
def test_rolling_update(s: SetView, observed: dict[int, PodView], expected: list[object]) -> None:
    assert plan_statefulset(s, observed) == expected


def test_status_counts_and_completion() -> None:
    st = plan_status([ok(0, C), ok(1, C), pending(2)], ROLL)
    assert st == {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "currentReplicas": 2,
                  "updatedReplicas": 1, "currentRevision": C, "updateRevision": U}
    done = plan_status([ok(0), ok(1), ok(2)], ROLL)
    assert done["currentRevision"] == U and done["currentReplicas"] == 3 and done["updatedReplicas"] == 3
    # OnDelete never completes by itself
    assert plan_status([ok(0), ok(1), ok(2)], ON_DELETE)["currentRevision"] == C
    # terminating pods count as replicas but are neither ready nor at a revision
    st = plan_status([ok(0), dying(1)], ROLL)
    assert (st["replicas"], st["readyReplicas"], st["updatedReplicas"]) == (2, 1, 1)


@pytest.mark.parametrize(("pod", "expected"), [
    ("web-0", 0), ("web-12", 12), ("web-01", None), ("web-", None), ("web-a", None), ("webx-1", None),
    ("web-1-2", None),
])
def test_ordinal_of(pod: str, expected: int | None) -> None:
    assert ordinal_of("web", pod) == expected


STS = {
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "web", "namespace": "default", "uid": "u1", "generation": 1},
    "spec": {
        "replicas": 3, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
        "template": {"metadata": {"labels": {"app": "nginx"}, "annotations": {"a": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "busybox"}],
                              "volumes": [{"name": "www", "emptyDir": {}}, {"name": "cfg", "emptyDir": {}}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "www", "labels": {"tier": "db"}},
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Gi"}}},
                                  "status": {"phase": "Pending"}}],
    },
}


def test_new_pod_identity_and_storage() -> None:
    pod = new_pod(STS, STS["spec"]["template"], 2, "web-abc")
    md = pod["metadata"]
    assert md["name"] == "web-2" and md["namespace"] == "default"
    assert md["labels"] == {"app": "nginx", "statefulset.kubernetes.io/pod-name": "web-2",
                            "apps.kubernetes.io/pod-index": "2", "controller-revision-hash": "web-abc"}
    assert md["annotations"] == {"a": "b"}
    assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u1",
                                      "controller": True, "blockOwnerDeletion": True}]
    spec = pod["spec"]
    assert spec["hostname"] == "web-2" and spec["subdomain"] == "nginx"
    # the claim replaces the template's volume of the same name
    assert spec["volumes"] == [{"name": "cfg", "emptyDir": {}},
                               {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}}]
    assert STS["spec"]["template"]["spec"]["volumes"][0] == {"name": "www", "emptyDir": {}}  # not mutated


def test_new_claims() -> None:
    [claim] = new_claims(STS, 1)
    assert claim["metadata"] == {"name": "www-web-1", "namespace": "default", "labels": {"tier": "db", "app": "nginx"}}
    assert claim["kind"] == "PersistentVolumeClaim" and "status" not in claim
    assert claim["spec"]["resources"] == {"requests": {"storage": "1Gi"}}


def test_revisions() -> None:
    tmpl = STS["spec"]["template"]
    rev = new_revision(STS, "StatefulSet", tmpl, 1)
    h = hash_data(template_patch(tmpl))
    assert rev["metadata"]["name"] == f"web-{h}" and rev["revision"] == 1
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert rev["metadata"]["labels"]["controller.kubernetes.io/hash"] == h
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    assert template_of(rev) == tmpl
    # a collision count changes the hash, the same template the same hash
    assert hash_data(template_patch(tmpl), 1) != h and hash_data(template_patch(tmpl)) == h
    other = new_revision(STS, "StatefulSet", {**tmpl, "metadata": {"labels": {"app": "x"}}}, 2)
    assert find_equal([rev, other], rev["data"]) == rev
    assert find_equal([other], rev["data"]) is None
    assert next_revision_number([rev, other]) == 3 and next_revision_number([]) == 1


@pytest.mark.parametrize(("numbers", "live", "limit", "expected"), [
    ([1, 2, 3], {"r3"}, 10, []),
    ([1, 2, 3, 4], {"r4"}, 2, ["r1"]),
    ([1, 2, 3, 4], {"r4", "r1"}, 1, ["r2"]),
    ([1, 2, 3], {"r3"}, 0, ["r1", "r2"]),
])
def test_history_cleanup(numbers: list[int], live: set[str], limit: int, expected: list[str]) -> None:
    revisions = [{"metadata": {"name": f"r{n}"}, "revision": n} for n in numbers]
    assert plan_history_cleanup(revisions, live, limit) == expected
