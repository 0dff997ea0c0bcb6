from boxk8s.scheduler.nodeinfo import PodUsage
from boxk8s.scheduler.scores import (
    balanced_allocation,
    least_allocated,
    normalize,
    score_nodes,
)

from .helpers import info, node, pod


def test_least_allocated_prefers_the_emptier_node() -> None:
    new = PodUsage.of(pod(cpu="500m", memory="1Gi"))
    empty = info(node("a"))
    busy = info(node("b"), pod("x", cpu="1", memory="2Gi", node_name="b"))
    assert least_allocated(new, empty) > least_allocated(new, busy)
    # (2000-500)*100//2000 = 75 ; (4Gi-1Gi)*100//4Gi = 75
    assert least_allocated(new, empty) == 75
    # cpu (2000-1500)*100//2000 = 25 ; memory (4-3)*100//4 = 25
    assert least_allocated(new, busy) == 25


def test_least_allocated_counts_best_effort_pods_as_100m_200mi() -> None:
    new = PodUsage.of(pod())
    assert least_allocated(new, info(node("a"))) > least_allocated(new, info(node("b"), pod("x", node_name="b")))


def test_overcommitted_scores_zero() -> None:
    assert least_allocated(PodUsage.of(pod(cpu="3", memory="8Gi")), info(node())) == 0


def test_balanced_allocation() -> None:
    new = PodUsage.of(pod(cpu="1", memory="2Gi"))  # 50% cpu, 50% memory: perfectly balanced
    assert balanced_allocation(new, info(node())) == 100
    skewed = PodUsage.of(pod(cpu="2", memory="0"))  # 100% cpu, 0% memory: std 0.5
    assert balanced_allocation(skewed, info(node())) == 50
    # a node whose memory is already used balances a cpu-heavy pod better
    used = info(node("b"), pod("x", memory="2Gi", node_name="b"))
    assert balanced_allocation(PodUsage.of(pod(cpu="1")), used) > balanced_allocation(PodUsage.of(pod(cpu="1")), info(node()))
    assert balanced_allocation(PodUsage.of(pod()), info(node())) == 0  # best-effort pods: skipped


def test_normalize() -> None:
    assert normalize([0, 5, 10]) == [0, 50, 100]
    assert normalize([0, 0]) == [0, 0]
    assert normalize([0, 0], reverse=True) == [100, 100]
    assert normalize([0, 1, 2], reverse=True) == [100, 50, 0]


def test_prefer_no_schedule_and_preferred_affinity() -> None:
    soft = node("soft", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}])
    plain = node("plain")
    p = pod(cpu="100m")
    a, b = score_nodes(p, PodUsage.of(p), [info(soft), info(plain)])
    assert b > a
    tolerant = pod(cpu="100m", spec={"tolerations": [{"key": "k", "operator": "Exists"}]})
    a, b = score_nodes(tolerant, PodUsage.of(tolerant), [info(soft), info(plain)])
    assert a == b
    likes = pod(cpu="100m", spec={"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}]}}})
    a, b = score_nodes(likes, PodUsage.of(likes), [info(node("x", labels={"zone": "a"})), info(node("y"))])
    assert a > b
