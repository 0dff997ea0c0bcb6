from typing import Any

import pytest

from boxk8s.scheduler.plan import ScheduleMemo, plan_schedule

from .helpers import info, node, pod

NO_VICTIMS = "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
NOT_HELPFUL = "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."


def three(**kw: Any) -> list:
    return [info(node(f"n{i}", **kw)) for i in (1, 2, 3)]


def test_picks_the_least_allocated_node() -> None:
    infos = [info(node("n1"), pod("a", cpu="1", node_name="n1")), info(node("n2")),
             info(node("n3"), pod("b", cpu="500m", node_name="n3"))]
    assert plan_schedule(pod(cpu="100m", memory="100Mi"), infos).node == "n2"


def test_ties_rotate() -> None:
    infos = three()
    chosen = {plan_schedule(pod(cpu="100m"), infos, tie_breaker=i).node for i in range(3)}
    assert chosen == {"n1", "n2", "n3"}


def test_all_too_small() -> None:
    result = plan_schedule(pod(cpu="3"), three())
    assert result.node is None
    assert result.message == f"0/3 nodes are available: 3 Insufficient cpu. {NO_VICTIMS}"


def test_cpu_and_memory_both_counted() -> None:
    result = plan_schedule(pod(cpu="3", memory="5Gi"), three())
    assert result.message == f"0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. {NO_VICTIMS}"


def test_mixed_reasons_sorted_as_upstream() -> None:
    infos = [info(node("n1", unschedulable=True)), info(node("n2", memory="1Gi")), info(node("n3", memory="1Gi"))]
    result = plan_schedule(pod(memory="2Gi"), infos)
    assert result.message == (
        "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod."
    )


def test_cordoned_nodes_are_avoided() -> None:
    infos = [info(node("n1", unschedulable=True)), info(node("n2", unschedulable=True)), info(node("n3"))]
    assert plan_schedule(pod(), infos).node == "n3"
    result = plan_schedule(pod(), three(unschedulable=True))
    assert result.message == f"0/3 nodes are available: 3 node(s) were unschedulable. {NOT_HELPFUL}"


def test_node_selector() -> None:
    infos = [info(node("n1")), info(node("n2", labels={"disk": "ssd"})), info(node("n3"))]
    assert plan_schedule(pod(spec={"nodeSelector": {"disk": "ssd"}}), infos).node == "n2"
    result = plan_schedule(pod(spec={"nodeSelector": {"disk": "nvme"}}), infos)
    assert result.message == f"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. {NOT_HELPFUL}"


def test_required_node_affinity() -> None:
    infos = [info(node("n1", labels={"zone": "a"})), info(node("n2", labels={"zone": "b"})), info(node("n3"))]
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]},
                              {"key": "zone", "operator": "Exists"}]}]}}}}
    assert plan_schedule(pod(spec=spec), infos).node == "n2"
    fields = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n3"]}]}]}}}}
    assert plan_schedule(pod(spec=fields), infos).node == "n3"


def test_taints_and_tolerations() -> None:
    gpu = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
    infos = [info(node("n1", taints=[gpu])), info(node("n2", taints=[{**gpu, "effect": "NoExecute"}])),
             info(node("n3", taints=[{**gpu, "effect": "PreferNoSchedule"}]))]
    assert plan_schedule(pod(), infos).node == "n3"  # PreferNoSchedule does not filter
    both = infos[:2]
    result = plan_schedule(pod(), both)
    assert result.message == (
        "0/2 nodes are available: 2 node(s) had untolerated taint {gpu: true}. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    )
    only_no_schedule = pod(spec={"tolerations": [{"key": "gpu", "operator": "Equal", "value": "true",
                                                  "effect": "NoSchedule"}]})
    assert plan_schedule(only_no_schedule, both).node == "n1"
    everything = pod(spec={"tolerations": [{"operator": "Exists"}]})
    assert plan_schedule(everything, both).node in ("n1", "n2")


def test_too_many_pods() -> None:
    infos = [info(node(f"n{i}", pods="1"), pod(f"x{i}", node_name=f"n{i}")) for i in (1, 2, 3)]
    assert plan_schedule(pod(), infos).message == f"0/3 nodes are available: 3 Too many pods. {NO_VICTIMS}"


def test_requested_node_name() -> None:
    result = plan_schedule(pod(spec={"nodeName": "elsewhere"}), three())
    assert result.message == (f"0/3 nodes are available: 3 node(s) didn't match the requested node name. "
                               f"{NOT_HELPFUL}")


def test_no_nodes() -> None:
    assert plan_schedule(pod(), []).message == "no nodes available to schedule pods"


def test_preemption_policy_never() -> None:
    result = plan_schedule(pod(cpu="3", spec={"preemptionPolicy": "Never"}), three())
    assert result.message == ("0/3 nodes are available: 3 Insufficient cpu. "
                              "preemption: not eligible due to preemptionPolicy=Never.")


@pytest.mark.parametrize(("victim_cpu", "expected_tail"), [
    # lower-priority pods whose removal would not make room: the filter's own reason
    ("500m", "preemption: 0/1 nodes are available: 1 Insufficient cpu."),
    # whose removal would make room: upstream would preempt, and says nothing more
    ("2", ""),
])
def test_lower_priority_pods(victim_cpu: str, expected_tail: str) -> None:
    infos = [info(node("n1"), pod("low", cpu=victim_cpu, node_name="n1", priority=0),
                  pod("high", cpu="1500m" if victim_cpu == "500m" else "0", node_name="n1", priority=100))]
    result = plan_schedule(pod(cpu="1", priority=100), infos)
    assert result.node is None
    assert result.message == ("0/1 nodes are available: 1 Insufficient cpu." + (f" {expected_tail}" if expected_tail else ""))


def _shapes() -> list[dict[str, Any]]:
    port = {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}],
                            "resources": {"requests": {"cpu": "100m"}}}]}
    tolerant = {"tolerations": [{"key": "gpu", "operator": "Exists"}]}
    return [pod(cpu="300m", memory="1Gi"), pod(cpu="100m"), pod(), pod(spec=port), pod(cpu="700m", spec=tolerant)]


def test_memo_changes_no_decision() -> None:
    """Pods of a few shapes placed one after the other, each placement changing one node's snapshot
    (and once a node object): the same node or message with the memo as without."""
    nodes = {"n1": node("n1"), "n2": node("n2", cpu="1"), "n3": node("n3", taints=[
        {"key": "gpu", "effect": "NoSchedule"}]), "n4": node("n4", taints=[{"key": "x", "effect": "PreferNoSchedule"}])}
    placed: dict[str, list[dict[str, Any]]] = {name: [] for name in nodes}
    memo = ScheduleMemo()
    shapes = _shapes()
    decisions = []
    for i in range(40):
        if i == 20:
            nodes["n2"] = node("n2", cpu="4")  # a new node object: node-only judgements are redone
        infos = [info(n, *placed[name]) for name, n in sorted(nodes.items())]
        p = {**shapes[i % len(shapes)], "metadata": {"name": f"p{i}", "namespace": "default"}}
        with_memo = plan_schedule(p, infos, tie_breaker=i, memo=memo)
        assert with_memo == plan_schedule(p, infos, tie_breaker=i)
        decisions.append(with_memo)
        if with_memo.node is not None:
            placed[with_memo.node].append({**p, "spec": {**p["spec"], "nodeName": with_memo.node}})
    assert any(d.node is None for d in decisions)  # the host port and the cpu ran out somewhere
    assert len({d.node for d in decisions}) == 5


def test_memo_sees_a_node_fill_up() -> None:
    memo = ScheduleMemo()
    n = node("n1", cpu="1")
    assert plan_schedule(pod(cpu="600m"), [info(n)], memo=memo).node == "n1"
    full = plan_schedule(pod(cpu="600m"), [info(n, pod("a", cpu="600m", node_name="n1"))], memo=memo)
    assert full.node is None and "1 Insufficient cpu" in full.message
