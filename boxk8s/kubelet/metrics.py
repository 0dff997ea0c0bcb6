"""The metrics sampler: every node's container usage, scraped off the request path.

metrics-server scrapes each kubelet every --metric-resolution (15 s by default) and keeps the
last two scrapes in memory; the kubelet gets the numbers from cAdvisor/the CRI. Here one
component asks each node's runtime for its containers' cumulative counters (`container_stats`:
one one-shot stats call per running container on Docker, a few in flight at a time) every
`resolution` seconds, and keeps what metrics_plan.py makes of the last two scrapes. It is the
cluster's `MetricsSource`: the API serves it as metrics.k8s.io and the HPA controller reads it.
Nothing is written to the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from boxk8s.client.metrics import NodeUsage, PodUsage
from boxk8s.kubelet.metrics_plan import NodeSamples, store_batch
from boxk8s.kubelet.runtime.base import ContainerRuntime

log = logging.getLogger(__name__)

DEFAULT_RESOLUTION = 15.0  # metrics-server's --metric-resolution


class MetricsSampler:
    name = "metrics-sampler"

    def __init__(self, runtimes: Mapping[str, ContainerRuntime], resolution: float = DEFAULT_RESOLUTION, *,
                 now: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """`runtimes`: by node name, started by their owner (the mapping may fill in later)."""
        self.runtimes = runtimes
        self.resolution = resolution
        self._now = now
        self._sleep = sleep
        self._nodes: dict[str, NodeSamples] = {}
        self._pods: dict[str, PodUsage] = {}  # every node's, by pod uid
        self._errors: dict[str, str] = {}  # the last scrape error per node (logged once)
        self.scrape_seconds: dict[str, float] = {}  # how long the last scrape of each node took
        self.rounds = 0  # completed sampling rounds (tests wait on it)

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            await self.sample()
            await self._sleep(max(0.0, self.resolution - (time.monotonic() - started)))

    async def sample(self) -> None:
        """Scrape every node once (concurrently: Docker nodes share a daemon, but each call is short)."""
        names = list(self.runtimes)
        await asyncio.gather(*(self._scrape(name) for name in names))
        for gone in set(self._nodes) - set(names):
            del self._nodes[gone]
        self._pods = {uid: usage for s in self._nodes.values() for uid, usage in s.pods.items()}
        self.rounds += 1

    async def _scrape(self, node: str) -> None:
        started = time.perf_counter()
        try:
            batch = await self.runtimes[node].container_stats()
        except Exception as e:  # a node that cannot be measured has no metrics (metrics-server drops it)
            if self._errors.get(node) != str(e):
                log.warning("metrics: cannot scrape node %s: %s", node, e)
            self._errors[node] = str(e)
            self._nodes.pop(node, None)
            return
        self._errors.pop(node, None)
        self.scrape_seconds[node] = time.perf_counter() - started
        log.debug("metrics: node %s: %d containers in %.3f s", node, len(batch), self.scrape_seconds[node])
        self._nodes[node] = store_batch(self._nodes.get(node), batch, self._now())

    # ---- MetricsSource ----------------------------------------------------------------------
    def pod_usage(self, pod_uid: str) -> PodUsage | None:
        return self._pods.get(pod_uid)

    def node_usage(self, node: str) -> NodeUsage | None:
        samples = self._nodes.get(node)
        return samples.node if samples is not None else None
