"""Simulated node failure: `boxk8s node stop NAME` annotates the Node, and its kubelet plays dead.

While the Node carries the annotation `boxk8s.io/simulate: stopped`, the kubelet of that node is
not running — no heartbeats, no Lease renewals, no pod workers — and the containers of its pods
are stopped, as if the machine had lost power. The control plane sees what it would see: the node
lifecycle controller marks the node Unknown, taints it and evicts its pods. When the annotation
goes (`boxk8s node start NAME`) the kubelet starts again and adopts what is there, as a restarted
kubelet does: pods deleted meanwhile are cleaned up, the others are restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from boxk8s.client import Informer, Kind
from boxk8s.client.informer import FilteredView
from boxk8s.kubelet.agent import Kubelet

log = logging.getLogger(__name__)

SIMULATE_ANNOTATION = "boxk8s.io/simulate"
STOPPED = "stopped"


def is_stopped(node: dict[str, Any] | None) -> bool:
    annotations = ((node or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(SIMULATE_ANNOTATION) == STOPPED


async def stop_containers(kubelet: Kubelet) -> None:
    for c in await kubelet.runtime.list_containers():
        if c.status == "running":
            with contextlib.suppress(Exception):
                await kubelet.runtime.stop_container(c.id, 0)


def node_name(node: dict[str, Any]) -> str:
    """The route of a kubelet's view of a shared node informer (one function for all views)."""
    return str(node["metadata"]["name"])


async def run_kubelet(kubelet: Kubelet, nodes: Informer | None = None) -> None:
    """kubelet.run(), paused while its Node is annotated `boxk8s.io/simulate: stopped`.

    `nodes`: a shared node informer, run by its owner (else the kubelet watches its Node itself).
    Sharing one matters with many nodes: each node's own watch would decode every node's heartbeats."""
    name = kubelet.node.name
    stopped, started = asyncio.Event(), asyncio.Event()
    started.set()

    def on_node(_kind: str, _old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if is_stopped(new):
            started.clear()
            stopped.set()
        else:
            stopped.clear()
            started.set()

    def mine(node: dict[str, Any]) -> bool:
        return node_name(node) == name

    informer: Informer | FilteredView = (
        FilteredView(nodes, mine, route=(node_name, name)) if nodes is not None
        else Informer(kubelet.client, Kind.NODE, field=mine)
    )
    informer.add_handler(on_node)
    if informer.get(name) is not None:  # a shared informer that has already synced
        on_node("ADDED", None, informer.get(name))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(informer.run(), name=f"kubelet-{name}-simulate")
        while True:
            await started.wait()
            task = tg.create_task(kubelet.run(), name=f"kubelet-{name}-main")
            await stopped.wait()
            log.warning("node/%s: simulating a stopped node (%s=%s): kubelet and containers stopped",
                        name, SIMULATE_ANNOTATION, STOPPED)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stop_containers(kubelet)
            await started.wait()
            log.warning("node/%s: simulated stop ended; the kubelet starts again", name)
