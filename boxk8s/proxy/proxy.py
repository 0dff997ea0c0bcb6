"""The service proxy's host side: NodePort and LoadBalancer Services listen on the host.

Level-triggered like every component: any change to Services or EndpointSlices marks the
routing table dirty; one loop recomputes it (`plan.plan_host_ports`), applies it to the host
listeners, tells the Service when its host port is taken (a Warning event naming it), and sets a
LoadBalancer's status.loadBalancer once its ports listen. Ports that could not be opened are
tried again every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.events import WARNING, EventRecorder
from boxk8s.proxy.listeners import HostListeners
from boxk8s.proxy.plan import load_balancer_status, plan_host_ports, service_key
from boxk8s.proxy.status import write_load_balancer

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # a host port held by another program is tried again this often


class ServiceProxy:
    name = "service-proxy"

    def __init__(self, client: Client, factory: InformerFactory, listeners: HostListeners, address: str,
                 recorder: EventRecorder | None = None) -> None:
        assert Kind.SERVICE and Kind.ENDPOINTSLICE
        self.client = client
        self.factory = factory
        self.listeners = listeners
        self.address = address  # what a LoadBalancer's status shows: where its listeners are reached
        self.recorder = recorder or EventRecorder(client, self.name)
        self.services = factory.informer(Kind.SERVICE)
        self.slices = factory.informer(Kind.ENDPOINTSLICE)
        self.dirty = asyncio.Event()
        self.services.add_handler(lambda *_: self.dirty.set())
        self.slices.add_handler(lambda *_: self.dirty.set())
        self.failed: dict[int, str] = {}  # host port → the Service told it is taken
        self.synced = asyncio.Event()  # set after each pass (tests wait on passes)

    async def run(self) -> None:
        await self.factory.wait_synced()
        try:
            while True:
                self.dirty.clear()
                try:
                    await self.sync()
                except Exception:  # level-triggered: the next pass starts from the informers again
                    log.exception("proxy: sync failed; trying again")
                    retry = True
                else:
                    retry = bool(self.failed)
                self.synced.set()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_SECONDS if retry else None):
                        await self.dirty.wait()
        finally:
            await self.listeners.close()

    async def sync(self) -> None:
        routes = plan_host_ports(self.services.list(), self.slices.list())
        failures = await self.listeners.apply(routes)
        for port, error in failures.items():
            owner = routes[port].service
            if self.failed.get(port) != owner:
                await self._warn(owner, port, error)
        self.failed = {port: routes[port].service for port in failures}
        await self._update_load_balancers(set(failures))

    async def _warn(self, key: str, port: int, error: OSError) -> None:
        svc = self.services.get(key)
        if svc is None:
            return
        message = (f"host port {self.listeners.host}:{port} is not available "
                   f"({error.strerror or error}); the Service is not reachable on it from the host")
        log.warning("service/%s: %s", key, message)
        await self.recorder.event(svc, WARNING, "HostPortUnavailable", message)

    async def _update_load_balancers(self, failed_ports: set[int]) -> None:
        for svc in self.services.list():
            spec = svc.get("spec") or {}
            if spec.get("type") != "LoadBalancer":
                continue
            ports = {int(p[k]) for p in spec.get("ports") or [] for k in ("port", "nodePort") if p.get(k)}
            bound = bool(ports) and not (ports & failed_ports) and ports <= self.listeners.listening
            written = await write_load_balancer(self.client, Kind.SERVICE, svc,
                                                load_balancer_status(svc, self.address, bound))
            if written is False:
                self.dirty.set()  # changed meanwhile: the next pass sees the new one
            elif written:
                log.info("service/%s: load balancer at %s", service_key(svc), self.address if bound else "(none)")
