"""A store + resource layer with some controllers, a scheduler and fake-runtime kubelets running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boxk8s.client import Client, InformerFactory
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.controllers.base import Controller
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.proxy.ingress import IngressController
from boxk8s.proxy.proxy import ServiceProxy
from boxk8s.resources.layer import Resources
from tests.integration.conftest import default_accounts_made
from tests.integration.waiting import wait_for_condition

DEADLINE = 15.0
FAST = KubeletSettings(crashloop_base_seconds=0.2, crashloop_max_seconds=1.0, image_backoff_base_seconds=0.2,
                       image_backoff_max_seconds=1.0, status_resync_seconds=0.5)


@dataclass
class Harness:
    client: Client
    resources: Resources
    controllers: list[Controller]
    kubelets: dict[str, Kubelet] = field(default_factory=dict)
    runtimes: dict[str, FakeRuntime] = field(default_factory=dict)
    proxy: ServiceProxy | None = None
    ingress: IngressController | None = None

    def controller(self, cls: type) -> Any:
        return next(c for c in self.controllers if isinstance(c, cls))


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


@contextlib.asynccontextmanager
async def harness(tmp: Path, controllers: list[Callable[[Client, InformerFactory], Controller]],
                  nodes: int = 0, node_settings: Callable[[str], NodeSettings] | None = None,
                  proxy: bool = False, ingress_port: int = 0, ingress_tls_port: int = 0) -> AsyncIterator[Harness]:
    """The cluster as `boxk8s up` assembles it (assemble()), narrowed to these controllers and `nodes`
    simulated nodes (a scheduler runs when there are nodes), with fast kubelet back-offs."""
    planned = [node_settings(f"node-{i}") if node_settings else NodeSettings(f"node-{i}", fake=True)
               for i in range(1, nodes + 1)]
    settings = ClusterSettings(state_dir=tmp, cluster_name="test", stop_timeout=DEADLINE, ingress_port=ingress_port,
                               ingress_tls_port=ingress_tls_port)
    async with running(settings, controllers=controllers, nodes=planned, kubelet=FAST,
                       scheduler=bool(nodes), serve_api=False, proxy=proxy) as c:
        h = Harness(Client(c.resources, "test"), c.resources, c.controllers, kubelets=c.kubelets,
                    runtimes={name: r for name, r in c.runtimes.items() if isinstance(r, FakeRuntime)},
                    proxy=c.proxy, ingress=c.ingress)
        async with asyncio.timeout(DEADLINE):
            for k in h.kubelets.values():
                await k.ready.wait()
            await c.informers.wait_synced()
        await default_accounts_made(c.resources)
        yield h
