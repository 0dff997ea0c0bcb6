"""The service proxy's in-cluster side (kube-proxy's role): ClusterIPs balanced over ready endpoints.

Level-triggered like proxy.py: any change to Services or EndpointSlices marks the plan dirty; one
loop recomputes it (`cluster_ip_plan.plan_dataplane`) and, when it differs from what the
dataplane holds, hands it over. Changes that arrive while one is applied are folded into the next
pass. The dataplane is the cluster's network agent (kubelet/runtime/netagent.py), seen through
the `Dataplane` protocol so that another (a relay for Docker Desktop) can take its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from boxk8s.client import InformerFactory, Kind
from boxk8s.proxy.cluster_ip_plan import DataplanePlan, plan_dataplane, render_ruleset

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0  # after a failed apply
START_RETRY_SECONDS = 30.0  # after the dataplane failed to start


class Dataplane(Protocol):
    async def start(self) -> None: ...

    async def apply(self, ruleset: str) -> None: ...


class ClusterIpProxy:
    name = "cluster-ip-proxy"

    def __init__(self, factory: InformerFactory, dataplane: Dataplane) -> None:
        assert Kind.SERVICE and Kind.ENDPOINTSLICE
        self.factory = factory
        self.dataplane = dataplane
        self.services = factory.informer(Kind.SERVICE)
        self.slices = factory.informer(Kind.ENDPOINTSLICE)
        self.dirty = asyncio.Event()
        self.services.add_handler(lambda *_: self.dirty.set())
        self.slices.add_handler(lambda *_: self.dirty.set())
        self.applied: DataplanePlan | None = None
        self.synced = asyncio.Event()  # set after each pass that left the dataplane current

    async def run(self) -> None:
        await self._start()
        await self.factory.wait_synced()
        while True:
            self.dirty.clear()
            plan = plan_dataplane(self.services.list(), self.slices.list())
            retry = False
            if plan != self.applied:
                try:
                    await self.dataplane.apply(render_ruleset(plan, self.applied))
                except Exception as exc:  # the next pass starts from the informers again
                    log.warning("cluster-ip: applying %d ClusterIPs failed (%s); trying again", len(plan.addresses), exc)
                    self.applied = None
                    retry = True
                else:
                    self.applied = plan
            if not retry:
                self.synced.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_SECONDS if retry else None):
                    await self.dirty.wait()

    async def _start(self) -> None:
        while True:
            try:
                await self.dataplane.start()
                return
            except Exception as exc:
                log.error("cluster-ip: the network agent did not start: %s; pods cannot reach Services by "
                          "ClusterIP or name (trying again in %gs)", exc, START_RETRY_SECONDS)
            await asyncio.sleep(START_RETRY_SECONDS)
