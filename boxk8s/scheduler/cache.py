"""The scheduler's view of the cluster: nodes, and which pods (bound or assumed) sit on each.

A pod is *assumed* on a node as soon as the scheduler has chosen it, before the binding is
written, so that a burst of pods scheduled one after the other see each other's requests before
the watch echoes the bindings back. The watch then confirms the placement (same key), or a failed
binding forgets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boxk8s.client.informer import object_key
from boxk8s.scheduler.nodeinfo import NodeInfo, PodUsage, is_terminal


class SchedulerCache:
    def __init__(self) -> None:
        self.nodes: dict[str, Mapping[str, Any]] = {}
        self._placed: dict[str, dict[str, PodUsage]] = {}  # node → pod key → usage
        self._where: dict[str, str] = {}  # pod key → node
        self.assumed: set[str] = set()
        self._snapshots: dict[str, NodeInfo] = {}
        self._names: list[str] | None = None  # sorted node names, kept until a node comes or goes

    # ---- nodes -------------------------------------------------------------------------------
    def set_node(self, node: Mapping[str, Any]) -> None:
        name = node["metadata"]["name"]
        if name not in self.nodes:
            self._names = None
        self.nodes[name] = node
        self._snapshots.pop(name, None)

    def remove_node(self, name: str) -> None:
        self._names = None
        self.nodes.pop(name, None)
        self._snapshots.pop(name, None)

    # ---- pods --------------------------------------------------------------------------------
    def _place(self, key: str, node: str, usage: PodUsage) -> None:
        old = self._where.get(key)
        if old is not None and old != node:
            self._unplace(key)
        placed = self._placed.setdefault(node, {})
        if old == node and placed.get(key) == usage:
            return  # e.g. a status write: the node's snapshot still holds
        self._where[key] = node
        known = placed.get(key)
        placed[key] = usage
        snapshot = self._snapshots.get(node)
        if snapshot is not None and known is None:  # one more pod (a binding): extend the snapshot
            self._snapshots[node] = snapshot.adding(usage)
        else:
            self._snapshots.pop(node, None)

    def _unplace(self, key: str) -> str | None:
        node = self._where.pop(key, None)
        if node is not None:
            self._placed.get(node, {}).pop(key, None)
            self._snapshots.pop(node, None)
        return node

    def assume(self, pod: Mapping[str, Any], node: str, usage: PodUsage | None = None) -> None:
        key = object_key(pod)
        self.assumed.add(key)
        self._place(key, node, usage or PodUsage.of(pod))

    def forget(self, key: str) -> None:
        """A binding failed: the pod is not on the node it was assumed on."""
        if key in self.assumed:
            self.assumed.discard(key)
            self._unplace(key)

    def update_pod(self, pod: Mapping[str, Any]) -> str | None:
        """Record what the store says of a pod. Returns the node it was freed from, if any."""
        key = object_key(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if node and not is_terminal(pod):
            self.assumed.discard(key)
            self._place(key, node, PodUsage.of(pod))
            return None
        if not node and key in self.assumed:
            return None  # the binding is in flight
        return self._unplace(key)

    def remove_pod(self, pod: Mapping[str, Any]) -> str | None:
        key = object_key(pod)
        self.assumed.discard(key)
        return self._unplace(key)

    def node_of(self, key: str) -> str | None:
        return self._where.get(key)

    # ---- snapshots ---------------------------------------------------------------------------
    def node_info(self, name: str) -> NodeInfo:
        info = self._snapshots.get(name)
        if info is None:
            info = NodeInfo.build(self.nodes[name], self._placed.get(name, {}).values())
            self._snapshots[name] = info
        return info

    def node_infos(self) -> list[NodeInfo]:
        if self._names is None:
            self._names = sorted(self.nodes)
        return [self.node_info(name) for name in self._names]
