"""Node lifecycle plans as tables: staleness, taints for each Ready status, eviction times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.controllers.nodelifecycle_plan import (
    eviction_time,
    plan_evictions,
    plan_node_health,
    plan_taints,
)
from boxk8s.resources.meta import format_time

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def ago(s: float) -> str:
    return format_time(NOW - timedelta(seconds=s))


def node(ready: str = "True", beat: float = 5) -> dict[str, Any]:
    conds = [{"type": t, "status": "False", "lastHeartbeatTime": ago(beat)}
             for t in ("MemoryPressure", "DiskPressure", "PIDPressure")]
    conds.append({"type": "Ready", "status": ready, "lastHeartbeatTime": ago(beat), "lastTransitionTime": ago(999)})
    return {"metadata": {"name": "n", "creationTimestamp": ago(1000)}, "status": {"conditions": conds}}


def lease(renewed: float) -> dict[str, Any]:
    return {"spec": {"renewTime": (NOW - timedelta(seconds=renewed)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}


@pytest.mark.parametrize(("n", "lease_", "stale", "became"), [
    (node(beat=5), None, False, False),
    (node(beat=50), None, True, True),
    (node(beat=50), lease(3), False, False),  # the Lease alone keeps a node alive
    (node("False", beat=50), None, True, False),
])
def test_health(n: dict[str, Any], lease_: dict[str, Any] | None, stale: bool, became: bool) -> None:
    plan = plan_node_health(n, lease_, NOW, 40)
    assert (plan.conditions is not None) is stale and plan.became_not_ready is became
    if stale:
        assert plan.ready == "Unknown"
        r = next(c for c in plan.conditions or [] if c["type"] == "Ready")
        assert (r["status"], r["reason"], r["message"]) == ("Unknown", "NodeStatusUnknown",
                                                            "Kubelet stopped posting node status.")
        assert r["lastHeartbeatTime"] == ago(50) and r["lastTransitionTime"] == format_time(NOW)
        assert {c["status"] for c in plan.conditions or []} == {"Unknown"}
    else:
        assert plan.recheck is not None and plan.recheck > 0


def test_already_unknown_is_not_rewritten() -> None:
    n = node(beat=50)
    n["status"]["conditions"] = plan_node_health(n, None, NOW, 40).conditions
    assert plan_node_health(n, None, NOW, 40).conditions is None


UNR_NE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": format_time(NOW)}
UNR_NS = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
NR_NE = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": format_time(NOW)}
NR_NS = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
USER = {"key": "dedicated", "value": "x", "effect": "NoSchedule"}


@pytest.mark.parametrize(("taints", "ready", "expected"), [
    ([], "True", None),
    ([USER], "True", None),
    ([], "Unknown", [UNR_NS, UNR_NE]),
    ([USER], "False", [USER, NR_NS, NR_NE]),
    ([NR_NS, NR_NE], "Unknown", [UNR_NS, UNR_NE]),
    ([UNR_NS, UNR_NE, USER], "True", [USER]),
    ([UNR_NE, UNR_NS], "Unknown", None),
])
def test_taints(taints: list[dict[str, Any]], ready: str, expected: list[dict[str, Any]] | None) -> None:
    got = plan_taints(taints, ready, NOW)
    assert (sorted(got, key=str) if got else got) == (sorted(expected, key=str) if expected else expected)


DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def pod(tolerations: list[dict[str, Any]], **md: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default", **md}, "spec": {"tolerations": tolerations}}


@pytest.mark.parametrize(("tolerations", "override", "after"), [
    (DEFAULT_TOLERATIONS, None, 300),
    (DEFAULT_TOLERATIONS, 5, 5),
    ([], None, 0),
    ([{"operator": "Exists"}], None, None),  # tolerates everything, forever
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 60}], 5, 60),  # only the defaults' 300 s are overridden
    ([{"key": "other", "operator": "Exists"}], None, 0),
])
def test_eviction_time(tolerations: list[dict[str, Any]], override: float | None, after: float | None) -> None:
    ev = eviction_time(pod(tolerations), [UNR_NS, UNR_NE], NOW, override)
    assert (None if ev.at is None else (ev.at - NOW).total_seconds()) == after


def test_no_execute_taints_only() -> None:
    assert eviction_time(pod([]), [UNR_NS], NOW).at is None


def test_plan_evictions() -> None:
    pods = [pod([], name="now"), pod(DEFAULT_TOLERATIONS, name="later"),
            pod([], name="going", deletionTimestamp=format_time(NOW))]
    plan = plan_evictions(pods, [UNR_NE], NOW, 30)
    assert plan.evict == ["default/now"] and plan.recheck == 30
