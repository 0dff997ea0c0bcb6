"""The scheduler cache's node snapshots, extended pod by pod, equal snapshots built from scratch."""

from __future__ import annotations

from typing import Any

from boxk8s.scheduler.cache import SchedulerCache
from boxk8s.scheduler.nodeinfo import NodeInfo, PodUsage

from .helpers import node, pod


def rebuilt(cache: SchedulerCache, name: str, pods: list[dict[str, Any]]) -> NodeInfo:
    return NodeInfo.build(cache.nodes[name], [PodUsage.of(p) for p in pods])


def test_snapshots_follow_assumes_bindings_moves_and_removals() -> None:
    cache = SchedulerCache()
    cache.set_node(node("n1"))
    cache.set_node(node("n2"))
    a, b, c = pod("a", cpu="100m"), pod("b", cpu="200m", memory="1Gi"), pod("c", cpu="1")
    cache.node_infos()
    cache.assume(a, "n1")
    cache.assume(b, "n1")
    assert cache.node_info("n1") == rebuilt(cache, "n1", [a, b])
    cache.update_pod({**a, "spec": {**a["spec"], "nodeName": "n1"}})  # the binding's echo: same snapshot
    assert cache.node_info("n1") == rebuilt(cache, "n1", [a, b])
    cache.assume(c, "n2")
    cache.update_pod({**c, "spec": {**c["spec"], "nodeName": "n1"}})  # bound elsewhere than assumed
    assert cache.node_info("n1") == rebuilt(cache, "n1", [a, b, c])
    assert cache.node_info("n2") == rebuilt(cache, "n2", [])
    bigger = pod("b", cpu="500m", node_name="n1")
    cache.update_pod(bigger)  # a pod's requests changed in place
    assert cache.node_info("n1") == rebuilt(cache, "n1", [a, bigger, c])
    cache.remove_pod(a)
    assert cache.node_info("n1") == rebuilt(cache, "n1", [bigger, c])
    assert [i.name for i in cache.node_infos()] == ["n1", "n2"]
    cache.set_node(node("n0"))
    assert [i.name for i in cache.node_infos()] == ["n0", "n1", "n2"]
    cache.remove_node("n1")
    assert [i.name for i in cache.node_infos()] == ["n0", "n2"]
