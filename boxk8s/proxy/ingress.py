"""The Ingress controller: the routing table from Ingresses, Services and EndpointSlices, and status.

The HTTP side is `ingress_server.IngressServer`; this component decides, per request, where it
goes (`resolve`), keeps the table current from the shared informers, sets each Ingress's
status.loadBalancer to the address it is served at, and tells an Ingress when a backend Service
it names does not exist (a Warning event, once per Service).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.events import WARNING, EventRecorder
from boxk8s.proxy.ingress_plan import (
    Backend,
    Decision,
    IngressTable,
    is_ours,
    plan_ingress_table,
    plan_tls_hosts,
    route,
    service_port,
)
from boxk8s.proxy.ingress_server import IngressServer
from boxk8s.proxy.ingress_tls import Certificates
from boxk8s.proxy.plan import SERVICE_NAME_LABEL, ready_backends
from boxk8s.proxy.status import write_load_balancer

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class IngressController:
    name = "ingress-controller"

    def __init__(self, client: Client, factory: InformerFactory, host: str, port: int, address: str,
                 recorder: EventRecorder | None = None, *, tls_port: int = 0,
                 certificates: Certificates | None = None, fallback: frozenset[str] = frozenset()) -> None:
        assert Kind.INGRESS and Kind.SERVICE and Kind.ENDPOINTSLICE
        self.client = client
        self.factory = factory
        self.address = address  # what the Ingresses' status shows
        self.recorder = recorder or EventRecorder(client, self.name)
        self.ingresses = factory.informer(Kind.INGRESS)
        self.services = factory.informer(Kind.SERVICE)
        self.slices = factory.informer(Kind.ENDPOINTSLICE)
        self.slices.add_index("service", _slice_service)
        self.table = IngressTable()
        self.dirty = asyncio.Event()
        self.ingresses.add_handler(lambda *_: self.dirty.set())
        self.services.add_handler(lambda *_: self.dirty.set())
        self.certificates = certificates if tls_port else None
        if self.certificates is not None:
            assert Kind.SECRET
            self.secrets = factory.informer(Kind.SECRET)
            self.secrets.add_handler(lambda _t, old, new: self._on_secret(old or new))
        self.server = IngressServer(host, port, self.resolve, tls_port=tls_port, fallback=fallback,
                                    ssl_context=self.certificates.server_context if self.certificates else None)
        self.listening = asyncio.Event()  # set once the proxy listens, or gave up: then `ports` says where
        self.ports: tuple[int, int] = (0, 0)  # (HTTP, TLS) it listens on; 0: not
        self._turn = itertools.count()
        self._warned: set[tuple[str, str]] = set()  # (ingress, missing service) already told

    async def run(self) -> None:
        await self.factory.wait_synced()
        self.table = plan_ingress_table(self.ingresses.list())  # routes from the first request on
        try:
            port = await self.server.start()
        except OSError as e:
            log.warning("ingress: cannot listen on %s:%d (%s); Ingresses are not served", self.server.host,
                        self.server.port, e.strerror or e)
            self.listening.set()
            return
        self.ports = (port, self.server.tls_port)
        self.listening.set()
        log.info("ingress: serving on http://%s:%d%s", self.server.host, port,
                 f" and https://{self.server.host}:{self.server.tls_port}" if self.server.tls_port else "")
        try:
            while True:
                self.dirty.clear()
                self.table = plan_ingress_table(self.ingresses.list())
                if self.certificates is not None:
                    for problem in self.certificates.update(plan_tls_hosts(self.ingresses.list()), self.secrets.get):
                        log.warning("ingress: %s; the default certificate is served instead", problem)
                await self._report()
                await self.dirty.wait()
        finally:
            await self.server.stop()

    def _on_secret(self, secret: Obj) -> None:
        """Only TLS Secrets can matter (a cheap filter: most Secrets change for other reasons)."""
        if secret.get("type") == "kubernetes.io/tls":
            self.dirty.set()

    def resolve(self, host: str, path: str) -> Decision:
        backend = route(self.table, host, path)
        if backend is None:
            return Decision(404, reason="no Ingress rule matches this host and path")
        service = self.services.get(f"{backend.namespace}/{backend.service}")
        if service is None:
            return Decision(503, reason=f"service {backend.namespace}/{backend.service} does not exist")
        port = service_port(service, backend.port)
        if port is None:
            return Decision(503, reason=f"service {backend.namespace}/{backend.service} has no port {backend.port}")
        slices = self.slices.by_index("service", f"{backend.namespace}/{backend.service}")
        targets = ready_backends(slices, port.get("name") or "")
        if not targets:
            return Decision(503, reason=f"service {backend.namespace}/{backend.service} has no ready endpoint")
        return Decision(200, targets[next(self._turn) % len(targets)])

    async def _report(self) -> None:
        """Status for every Ingress of ours; a Warning for each backend Service that is missing."""
        for ing in self.ingresses.list():
            if not is_ours(ing):
                continue
            await self._set_status(ing)
            for backend in _backends(ing):
                missing = self.services.get(f"{backend.namespace}/{backend.service}") is None
                key = (backend.ingress, backend.service)
                if missing and key not in self._warned:
                    self._warned.add(key)
                    await self.recorder.event(ing, WARNING, "ServiceNotFound",
                                              f"service {backend.namespace}/{backend.service} does not exist; "
                                              "requests routed to it get 503")
                elif not missing:
                    self._warned.discard(key)

    async def _set_status(self, ing: Obj) -> None:
        if await write_load_balancer(self.client, Kind.INGRESS, ing, {"ingress": [{"ip": self.address}]}) is False:
            self.dirty.set()


def _slice_service(obj: Obj) -> list[str]:
    name = (obj["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{obj['metadata'].get('namespace', '')}/{name}"] if name else []


def _backends(ing: Obj) -> list[Backend]:
    table = plan_ingress_table([ing])
    rules = [*table.any_host, *(r for rs in table.exact_hosts.values() for r in rs),
             *(r for rs in table.wildcard_hosts.values() for r in rs)]
    found = [r.backend for r in rules]
    if table.default is not None:
        found.append(table.default)
    return found
