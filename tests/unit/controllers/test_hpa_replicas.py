"""The HPA's replica calculation, by the tables of upstream's replica_calculator_test.go.

As there, each pod has two containers, each requesting `request` and using `level` (millicores
for cpu): a pod's metric and request are twice a container's. Times: `now` is 10,000 s; a "hot"
pod started now, a "cool" one three minutes ago; pods otherwise started at 0 (Go's zero time),
Ready conditions have no transition time and metrics a zero timestamp over a one-minute window,
with upstream's testing tuning (tolerance 0.1, CPU initialization 2 min, readiness delay 10 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from boxk8s.client.metrics import ContainerUsage, PodUsage
from boxk8s.controllers.hpa_replicas import (
    MetricsError,
    PodMetric,
    Tuning,
    group_pods,
    raw_resource_replicas,
    resource_metrics,
    resource_replicas,
)
from boxk8s.resources.meta import format_timestamp

NOW = 10_000.0
HOT, COOL = NOW, NOW - 180
TUNING = Tuning(tolerance=0.1, cpu_initialization_seconds=120, initial_readiness_delay_seconds=10)


@dataclass
class Case:
    current: int
    expected: int | None  # None: an error is expected
    requests: list[str]
    levels: list[int]
    target: int
    utilization: int = 0
    raw: int = 0
    error: str = ""
    readiness: list[bool] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    deleting: list[bool] = field(default_factory=list)
    pod_names: list[str] = field(default_factory=list)


def pods_for(c: Case, resource: str = "cpu") -> list[dict[str, Any]]:
    count = max(c.current, len(c.phase))
    out = []
    for i in range(count):
        resources = {"requests": {resource: c.requests[i]}} if i < len(c.requests) else {}
        status: dict[str, Any] = {
            "phase": c.phase[i] if c.phase else "Running",
            "startTime": format_timestamp(c.start[i] if c.start else 0),
            "conditions": [{"type": "Ready", "status": "True" if (c.readiness[i] if i < len(c.readiness) else True)
                            else "False"}],
        }
        md: dict[str, Any] = {"name": f"test-pod-{i}", "namespace": "test-namespace", "labels": {"name": "test-pod"}}
        if c.deleting and c.deleting[i]:
            md["deletionTimestamp"] = format_timestamp(NOW)
        out.append({"metadata": md, "spec": {"containers": [{"name": "container0", "resources": resources},
                                                             {"name": "container1", "resources": resources}]},
                    "status": status})
    return out


def usages_for(c: Case, resource: str = "cpu") -> list[tuple[dict[str, Any], PodUsage]]:
    out = []
    for i, level in enumerate(c.levels):
        name = c.pod_names[i] if i < len(c.pod_names) else f"test-pod-{i}"
        cpu, memory = (level * 1_000_000, 0) if resource == "cpu" else (0, level // 1000)
        containers = tuple(ContainerUsage(f"container{j}", cpu, memory) for j in range(2))
        out.append(({"metadata": {"name": name, "namespace": "test-namespace"}}, PodUsage(0.0, 60.0, containers)))
    return out


RESOURCE_CASES = {
    "disjoint resources metrics": Case(1, None, ["1.0"], [100], 100, pod_names=["an-older-pod-name"],
                                       error="no metrics returned matched known pods"),
    "scale up": Case(3, 5, ["1.0"] * 3, [300, 500, 700], 30, 50, 2 * 500),
    "scale up unready less scale": Case(3, 4, ["1.0"] * 3, [300, 500, 700], 30, 60, 2 * 600,
                                        readiness=[False, True, True]),
    "scale up hot cpu less scale": Case(3, 4, ["1.0"] * 3, [300, 500, 700], 30, 60, 2 * 600,
                                        start=[HOT, COOL, COOL]),
    "scale up unready no scale": Case(3, 3, ["1.0"] * 3, [400, 500, 700], 30, 40, 2 * 400,
                                      readiness=[True, False, False]),
    "scale hot cpu no scale": Case(3, 3, ["1.0"] * 3, [400, 500, 700], 30, 40, 2 * 400,
                                   readiness=[True, False, False], start=[COOL, HOT, HOT]),
    "scale up ignores failed pods": Case(2, 4, ["1.0"] * 4, [500, 700], 30, 60, 2 * 600,
                                         readiness=[True, True, False, False],
                                         phase=["Running", "Running", "Failed", "Failed"]),
    "scale up ignores deletion pods": Case(2, 4, ["1.0"] * 4, [500, 700], 30, 60, 2 * 600,
                                           readiness=[True, True, False, False], phase=["Running"] * 4,
                                           deleting=[False, False, True, True]),
    "scale down": Case(5, 3, ["1.0"] * 5, [100, 300, 500, 250, 250], 50, 28, 2 * 280),
    "scale down include unready pods": Case(5, 2, ["1.0"] * 5, [100, 300, 500, 250, 250], 50, 30, 2 * 300,
                                            readiness=[True, True, True, False, False]),
    "scale down exclude unscheduled pods": Case(5, 1, ["1.0"] * 5, [100], 50, 10, 2 * 100,
                                                readiness=[True, False, False, False, False],
                                                phase=["Running", "Pending", "Pending", "Pending", "Pending"]),
    "scale down ignore hot cpu pods": Case(5, 2, ["1.0"] * 5, [100, 300, 500, 250, 250], 50, 30, 2 * 300,
                                           start=[COOL, COOL, COOL, HOT, HOT]),
    "scale down ignores failed pods": Case(5, 3, ["1.0"] * 7, [100, 300, 500, 250, 250], 50, 28, 2 * 280,
                                           readiness=[True] * 5 + [False] * 2,
                                           phase=["Running"] * 5 + ["Failed"] * 2),
    "scale down ignores deletion pods": Case(5, 3, ["1.0"] * 7, [100, 300, 500, 250, 250], 50, 28, 2 * 280,
                                             readiness=[True] * 5 + [False] * 2, phase=["Running"] * 7,
                                             deleting=[False] * 5 + [True] * 2),
    "tolerance": Case(3, 3, ["0.9", "1.0", "1.1"], [1010, 1030, 1020], 100, 102, 2 * 1020),
    "superfluous metrics": Case(4, 24, ["1.0"] * 4, [4000, 9500, 3000, 7000, 3200, 2000], 100, 587, 2 * 5875),
    "missing metrics": Case(4, 3, ["1.0"] * 4, [400, 95], 100, 24, 495),
    "empty metrics": Case(4, None, ["1.0"] * 3, [], 100, error="no metrics returned from resource metrics API"),
    "empty cpu request": Case(1, None, [], [200], 100, error="missing request for"),
    "missing metrics no change eq": Case(2, 2, ["1.0"] * 2, [1000], 100, 100, 2 * 1000),
    "missing metrics no change gt": Case(2, 2, ["1.0"] * 2, [1900], 100, 190, 2 * 1900),
    "missing metrics no change lt": Case(2, 2, ["1.0"] * 2, [600], 100, 60, 2 * 600),
    "missing metrics unready change": Case(3, 3, ["1.0"] * 3, [100, 450], 50, 45, 2 * 450,
                                           readiness=[False, True, True]),
    "missing metrics hot cpu no change": Case(3, 3, ["1.0"] * 3, [100, 450], 50, 45, 2 * 450,
                                              start=[HOT, COOL, COOL]),
    "missing metrics unready scale up": Case(3, 4, ["1.0"] * 3, [100, 2000], 50, 200, 2 * 2000,
                                             readiness=[False, True, True]),
    "missing metrics hot cpu scale up": Case(3, 4, ["1.0"] * 3, [100, 2000], 50, 200, 2 * 2000,
                                             readiness=[False, True, True], start=[HOT, COOL, COOL]),
    "missing metrics unready scale down": Case(4, 3, ["1.0"] * 4, [100, 100, 100], 50, 10, 2 * 100,
                                               readiness=[False, True, True, True]),
    "during rolling update with max surge": Case(2, 2, ["1.0"] * 3, [100, 100], 50, 10, 2 * 100,
                                                 phase=["Running"] * 3),
}


@pytest.mark.parametrize("case", RESOURCE_CASES.values(), ids=RESOURCE_CASES.keys())
def test_resource_replicas(case: Case) -> None:
    pods = pods_for(case)
    try:
        metrics, timestamp = resource_metrics(usages_for(case), "cpu")
        got = resource_replicas(case.current, case.target, "cpu", pods, metrics, TUNING, NOW)
    except MetricsError as e:
        assert case.expected is None, e
        assert case.error in str(e)
        return
    assert case.expected is not None, f"expected an error containing {case.error!r}"
    assert got == (case.expected, case.utilization, case.raw)
    assert timestamp == 0.0


def test_computed_tolerance() -> None:
    """TestReplicaCalcComputedToleranceAlgImplementation: ten pods at half their requests; a target
    just past the tolerance scales down, one just inside it does not."""
    used = 150 * 10
    requested = 2 * used
    per_pod = requested // 10
    offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
    target = abs(1 / (2.0 * (1 - 0.1))) + 0.01
    final = math.ceil(used / (requested * target) * 10)
    case = Case(10, int(final), [f"{per_pod + o}m" for o in offsets], [used // 10] * 10, int(target * 100),
                used * 100 // requested, 2 * used // 10)
    test_resource_replicas(case)
    case.target, case.expected = int((abs(1 / (2.0 * (1 - 0.1))) + 0.004) * 100), 10
    test_resource_replicas(case)


PLAIN_CASES = {  # calcPlainMetricReplicas, through an AverageValue target (no CPU readiness rules: memory)
    "scale up": Case(3, 4, [], [20000, 10000, 30000], 15000, raw=20000),
    "scale up unready hot no less scale": Case(3, 6, [], [50000, 10000, 30000], 15000, raw=30000,
                                               readiness=[True, True, False], start=[COOL, COOL, HOT]),
    "scale up unready hot would scale down": Case(3, 7, [], [50000, 15000, 30000], 15000, raw=31666,
                                                  readiness=[False, True, False], start=[HOT, COOL, HOT]),
    "scale up one pod": Case(1, 2, [], [8600], 4400, raw=8600),
    "scale down": Case(5, 3, [], [12000] * 5, 20000, raw=12000),
    "tolerance": Case(3, 3, [], [20000, 21000, 21000], 20000, raw=20666),
}


@pytest.mark.parametrize("case", PLAIN_CASES.values(), ids=PLAIN_CASES.keys())
def test_raw_resource_replicas(case: Case) -> None:
    metrics = {f"test-pod-{i}": PodMetric(level, 0.0, 60.0) for i, level in enumerate(case.levels)}  # per pod
    got = raw_resource_replicas(case.current, case.target, "memory", pods_for(case, "memory"), metrics, TUNING, NOW)
    assert got == (case.expected, case.raw)


def test_raw_missing_pods_count_as_the_target_on_a_scale_down() -> None:
    case = Case(4, 3, [], [1000, 1000], 10000)
    usages = [({"metadata": {"name": f"test-pod-{i}"}}, PodUsage(0.0, 60.0, (ContainerUsage("c", 0, 1),)))
              for i in range(2)]
    metrics, _ = resource_metrics(usages, "memory")
    # ratio 0.1 without the two missing pods; with them at the target: (2 + 20) / 4 / 10 = 0.55 → 3
    assert raw_resource_replicas(case.current, 10_000, "memory", pods_for(case, "memory"), metrics, TUNING,
                                 NOW) == (3, 1000)


def pod(name: str, *, phase: str = "Running", start: float | None = None, ready: str | None = None,
        transition: float | None = None, deleting: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if start is not None:
        status["startTime"] = format_timestamp(start)
    if ready is not None:
        cond: dict[str, Any] = {"type": "Ready", "status": ready}
        if transition is not None:
            cond["lastTransitionTime"] = format_timestamp(transition)
        status["conditions"] = [cond]
    md: dict[str, Any] = {"name": name}
    if deleting:
        md["deletionTimestamp"] = format_timestamp(NOW)
    return {"metadata": md, "status": status}


GROUP_CASES = {  # TestGroupPods (cpu initialization period 2 min, readiness delay 10 s)
    "void": ([], {}, "cpu", (0, set(), set(), set())),
    "count in a ready pod - memory": (
        [pod("bentham", phase="Succeeded")], {"bentham": PodMetric(1, NOW, 60)}, "memory", (1, set(), set(), set())),
    "unready a pod without ready condition - CPU": (
        [pod("lucretius", phase="Succeeded", start=NOW)], {"lucretius": PodMetric(1, 0, 0)}, "cpu",
        (0, {"lucretius"}, set(), set())),
    "count in a ready pod with fresh metrics during initialization period - CPU": (
        [pod("bentham", phase="Succeeded", start=NOW - 60, ready="True", transition=NOW - 30)],
        {"bentham": PodMetric(1, NOW, 30)}, "cpu", (1, set(), set(), set())),
    "unready a ready pod without fresh metrics during initialization period - CPU": (
        [pod("bentham", phase="Succeeded", start=NOW - 60, ready="True", transition=NOW - 30)],
        {"bentham": PodMetric(1, NOW, 60)}, "cpu", (0, {"bentham"}, set(), set())),
    "count in a ready pod without fresh metrics after initialization period - CPU": (
        [pod("bentham", phase="Succeeded", start=NOW - 180, ready="True", transition=NOW - 30)],
        {"bentham": PodMetric(1, NOW - 60, 60)}, "cpu", (1, set(), set(), set())),
    "count in an unready pod that was ready after initialization period - CPU": (
        [pod("lucretius", phase="Succeeded", start=NOW - 600, ready="False", transition=NOW - 540)],
        {"lucretius": PodMetric(1, 0, 0)}, "cpu", (1, set(), set(), set())),
    "unready pod that has never been ready after initialization period - CPU": (
        [pod("lucretius", phase="Succeeded", start=NOW - 600, ready="False", transition=NOW - 600 + 5)],
        {"lucretius": PodMetric(1, 0, 0)}, "cpu", (0, {"lucretius"}, set(), set())),
    "a missing pod": (
        [pod("epicurus", phase="Succeeded", start=NOW - 180)], {}, "cpu", (0, set(), {"epicurus"}, set())),
    "several pods": (
        [pod("lucretius", phase="Succeeded", start=NOW), pod("niccolo", phase="Succeeded", start=NOW - 180,
                                                              ready="True", transition=NOW - 120),
         pod("epicurus", phase="Succeeded", start=NOW - 180)],
        {"lucretius": PodMetric(1, 0, 0), "niccolo": PodMetric(1, 0, 0)}, "cpu",
        (1, {"lucretius"}, {"epicurus"}, set())),
    "pending pods are unready": (
        [pod("unscheduled", phase="Pending")], {}, "cpu", (0, {"unscheduled"}, set(), set())),
    "ignore pods with deletion timestamps": (
        [pod("deleted", phase="Pending", deleting=True)], {"deleted": PodMetric(1, 0, 0)}, "cpu",
        (0, set(), set(), {"deleted"})),
    "ignore failed pods": (
        [pod("failed", phase="Failed")], {"failed": PodMetric(1, 0, 0)}, "cpu", (0, set(), set(), {"failed"})),
}


@pytest.mark.parametrize("pods, metrics, resource, expected", GROUP_CASES.values(), ids=GROUP_CASES.keys())
def test_group_pods(pods: list[dict[str, Any]], metrics: dict[str, PodMetric], resource: str,
                    expected: tuple[int, set[str], set[str], set[str]]) -> None:
    g = group_pods(pods, metrics, resource, TUNING, NOW)
    assert (g.ready_count, set(g.unready), set(g.missing), set(g.ignored)) == expected


def test_container_metrics_read_one_container() -> None:
    usage = PodUsage(5.0, 15.0, (ContainerUsage("app", 2_500_001, 10), ContainerUsage("sidecar", 1_000_000, 20)))
    metrics, ts = resource_metrics([({"metadata": {"name": "p"}}, usage)], "cpu", container="app")
    assert metrics == {"p": PodMetric(3, 5.0, 15.0)}  # MilliValue rounds "2500001n" up
    assert ts == 5.0
    assert resource_metrics([({"metadata": {"name": "p"}}, usage)], "memory")[0]["p"].value == 30_000
