"""Table tests for the DaemonSet plan: node eligibility, manage, rolling updates, status."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.daemonset import new_daemon_pod
from boxk8s.controllers.daemonset_plan import (
    DaemonPod,
    NodeFit,
    Plan,
    add_default_tolerations,
    node_fit,
    pin_to_node,
    plan_manage,
    plan_rolling_update,
    plan_status,
    scaled,
    target_node,
)

H, OLD = "new", "old"
RUN = NodeFit(True, True)
STAY = NodeFit(False, True)
NO = NodeFit(False, False)


def node(name: str = "n1", labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
         unschedulable: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def taint(key: str, effect: str = "NoSchedule", value: str = "") -> dict[str, str]:
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def spec(**extra: Any) -> dict[str, Any]:
    return add_default_tolerations({"containers": [{"name": "c", "image": "busybox"}], **extra})


ZONE_AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}


@pytest.mark.parametrize(("pod_spec", "n", "expected"), [
    (spec(), node(), RUN),
    # nodeSelector
    (spec(nodeSelector={"disk": "ssd"}), node(labels={"disk": "ssd"}), RUN),
    (spec(nodeSelector={"disk": "ssd"}), node(labels={"disk": "hdd"}), NO),
    # required node affinity
    (spec(affinity=ZONE_AFFINITY), node(labels={"zone": "b"}), RUN),
    (spec(affinity=ZONE_AFFINITY), node(labels={"zone": "c"}), NO),
    # nodeName in the template
    (spec(nodeName="n2"), node("n1"), NO),
    (spec(nodeName="n1"), node("n1"), RUN),
    # taints: NoSchedule keeps existing pods, NoExecute evicts them
    (spec(), node(taints=[taint("dedicated", value="gpu")]), STAY),
    (spec(), node(taints=[taint("dedicated", "NoExecute", "gpu")]), NO),
    (spec(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]),
     node(taints=[taint("dedicated", value="gpu")]), RUN),
    (spec(tolerations=[{"operator": "Exists"}]), node(taints=[taint("x", "NoExecute")]), RUN),
    # the default daemon tolerations
    (spec(), node(taints=[taint("node.kubernetes.io/unschedulable")], unschedulable=True), RUN),
    (spec(), node(taints=[taint("node.kubernetes.io/not-ready", "NoExecute")]), RUN),
    (spec(), node(taints=[taint("node.kubernetes.io/unreachable", "NoExecute")]), RUN),
    (spec(), node(taints=[taint("node.kubernetes.io/disk-pressure")]), RUN),
    (spec(), node(taints=[taint("node.kubernetes.io/memory-pressure")]), RUN),
    (spec(), node(taints=[taint("node.kubernetes.io/pid-pressure")]), RUN),
    (spec(), node(taints=[taint("node.kubernetes.io/network-unavailable")]), STAY),
    (spec(hostNetwork=True), node(taints=[taint("node.kubernetes.io/network-unavailable")]), RUN),
    (spec(), node(taints=[taint("node-role.kubernetes.io/control-plane")]), STAY),
])
def test_node_fit(pod_spec: dict[str, Any], n: dict[str, Any], expected: NodeFit) -> None:
    assert node_fit(pod_spec, n) == expected


def test_default_tolerations_not_repeated() -> None:
    own = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
    s = add_default_tolerations({"tolerations": [own]})
    assert len(s["tolerations"]) == 6 and s["tolerations"].count(own) == 1


def test_pin_to_node_replaces_required_terms() -> None:
    pinned = pin_to_node({"affinity": ZONE_AFFINITY}, "n2")
    assert pinned["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}
    assert ZONE_AFFINITY["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"]  # not mutated
    assert target_node({"spec": pinned}) == "n2"
    assert target_node({"spec": {**pinned, "nodeName": "n3"}}) == "n3"
    assert target_node({"spec": {}}) == ""


def test_new_daemon_pod() -> None:
    ds = {"metadata": {"name": "agent", "namespace": "kube-system", "uid": "u", "generation": 3},
          "spec": {"template": {"metadata": {"labels": {"app": "agent"}}, "spec": {}}}}
    pod = new_daemon_pod(ds, spec(), "n1", "abc")
    md = pod["metadata"]
    assert md["generateName"] == "agent-" and md["namespace"] == "kube-system"
    assert md["labels"] == {"app": "agent", "controller-revision-hash": "abc", "pod-template-generation": "3"}
    assert md["ownerReferences"][0]["kind"] == "DaemonSet" and md["ownerReferences"][0]["controller"]
    assert target_node(pod) == "n1" and "nodeName" not in pod["spec"]
    assert len(pod["spec"]["tolerations"]) == 6


def p(name: str, node: str, hash_: str = H, created: str = "2024-01-01T00:00:00Z", **kw: Any) -> DaemonPod:
    defaults = {"ready": True, "available": True}
    return DaemonPod(name, node, hash_, created, **{**defaults, **kw})


def by_node(*pods: DaemonPod) -> dict[str, list[DaemonPod]]:
    out: dict[str, list[DaemonPod]] = {}
    for x in pods:
        out.setdefault(x.node, []).append(x)
    return out


@pytest.mark.parametrize(("nodes", "pods", "surge", "expected"), [
    # a pod on every eligible node, including one added later
    ({"n1": RUN, "n2": RUN}, by_node(), False, Plan(("n1", "n2"))),
    ({"n1": RUN, "n2": RUN, "n3": RUN}, by_node(p("a", "n1"), p("b", "n2")), False, Plan(("n3",))),
    # not on nodes that do not fit; existing pods leave unless a NoSchedule taint lets them stay
    ({"n1": RUN, "n2": NO}, by_node(p("b", "n2")), False, Plan(("n1",), ("b",))),
    ({"n1": STAY}, by_node(p("a", "n1")), False, Plan()),
    ({"n1": STAY}, by_node(), False, Plan()),
    # a terminating pod blocks its replacement until it is gone
    ({"n1": RUN}, by_node(p("a", "n1", terminating=True)), False, Plan()),
    # failed pods are deleted
    ({"n1": RUN}, by_node(p("a", "n1", failed=True)), False, Plan((), ("a",), ("a",))),
    # surplus: the oldest stays
    ({"n1": RUN}, by_node(p("b", "n1", created="2024-01-02T00:00:00Z"), p("a", "n1")), False, Plan((), ("b",))),
    # with surge, an unready new pod and a ready old one may share a node
    ({"n1": RUN}, by_node(p("a", "n1", OLD), p("b", "n1", created="2024-01-02T00:00:00Z", ready=False,
                                                 available=False)), True, Plan()),
    ({"n1": RUN}, by_node(p("a", "n1", OLD), p("b", "n1", created="2024-01-02T00:00:00Z")), True, Plan((), ("a",))),
    # pods on nodes that no longer exist
    ({"n1": RUN}, by_node(p("a", "n1"), p("z", "gone")), False, Plan((), ("z",))),
])
def test_plan_manage(nodes: dict[str, NodeFit], pods: dict[str, list[DaemonPod]], surge: bool, expected: Plan) -> None:
    assert plan_manage(nodes, pods, H, surge) == expected


THREE = {"n1": RUN, "n2": RUN, "n3": RUN}


@pytest.mark.parametrize(("pods", "surge", "unavailable", "expected"), [
    # maxUnavailable=1: one old pod at a time
    (by_node(p("a", "n1", OLD), p("b", "n2", OLD), p("c", "n3", OLD)), 0, 1, Plan((), ("a",))),
    (by_node(p("b", "n2", OLD), p("c", "n3", OLD)), 0, 1, Plan()),  # n1 being replaced
    (by_node(p("a2", "n1", ready=False, available=False), p("b", "n2", OLD), p("c", "n3", OLD)), 0, 1, Plan()),
    (by_node(p("a2", "n1"), p("b", "n2", OLD), p("c", "n3", OLD)), 0, 1, Plan((), ("b",))),
    (by_node(p("a2", "n1"), p("b2", "n2"), p("c2", "n3")), 0, 1, Plan()),
    # maxUnavailable=2
    (by_node(p("a", "n1", OLD), p("b", "n2", OLD), p("c", "n3", OLD)), 0, 2, Plan((), ("a", "b"))),
    # an unavailable old pod may always be replaced
    (by_node(p("a", "n1", OLD), p("b", "n2", OLD, ready=False, available=False), p("c", "n3", OLD)), 0, 1,
     Plan((), ("b", "a"))),
    # maxSurge=1: create the new pod first, delete the old one once the new one is available
    (by_node(p("a", "n1", OLD), p("b", "n2", OLD), p("c", "n3", OLD)), 1, 0, Plan(("n1",))),
    (by_node(p("a", "n1", OLD), p("a2", "n1", ready=False, available=False), p("b", "n2", OLD),
             p("c", "n3", OLD)), 1, 0, Plan()),
    # (the old pod goes and the next surge starts in the same pass, as upstream)
    (by_node(p("a", "n1", OLD), p("a2", "n1"), p("b", "n2", OLD), p("c", "n3", OLD)), 1, 0, Plan(("n2",), ("a",))),
    (by_node(p("a2", "n1"), p("b", "n2", OLD), p("c", "n3", OLD)), 1, 0, Plan(("n2",))),
    (by_node(p("a", "n1", OLD), p("b", "n2", OLD), p("c", "n3", OLD)), 3, 0, Plan(("n1", "n2", "n3"))),
])
def test_plan_rolling_update(pods: dict[str, list[DaemonPod]], surge: int, unavailable: int, expected: Plan) -> None:
    assert plan_rolling_update(THREE, pods, H, surge, unavailable) == expected


@pytest.mark.parametrize(("value", "total", "expected"), [
    (None, 5, 1), (2, 5, 2), ("20%", 5, 1), ("25%", 5, 2), ("0%", 5, 0), ("100%", 3, 3),
])
def test_scaled(value: int | str | None, total: int, expected: int) -> None:
    assert scaled(value, total, 1) == expected


def test_status() -> None:
    nodes = {"n1": RUN, "n2": RUN, "n3": RUN, "n4": NO}
    pods = by_node(p("a", "n1"), p("b", "n2", OLD, ready=False, available=False), p("d", "n4"))
    assert plan_status(nodes, pods, H) == {
        "desiredNumberScheduled": 3, "currentNumberScheduled": 2, "numberMisscheduled": 1, "numberReady": 1,
        "numberAvailable": 1, "updatedNumberScheduled": 1, "numberUnavailable": 2}
