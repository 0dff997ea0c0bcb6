"""A store + resource layer with some controllers, a scheduler and fake-runtime kubelets running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.cluster import bootstrap
from boxk8s.controllers.base import Controller
from boxk8s.events import EventRecorder
from boxk8s.kubelet import simulate
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.resources.layer import Resources
from boxk8s.scheduler import Scheduler
from boxk8s.store import Store, StoreSettings
from tests.integration.waiting import wait_for_condition

DEADLINE = 15.0
FAST = KubeletSettings(crashloop_base_seconds=0.2, crashloop_max_seconds=1.0, image_backoff_base_seconds=0.2,
                       image_backoff_max_seconds=1.0, status_resync_seconds=0.5)


@dataclass
class Harness:
    client: Client
    resources: Resources
    controllers: list[Controller]
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    kubelets: dict[str, Kubelet] = field(default_factory=dict)
    runtimes: dict[str, FakeRuntime] = field(default_factory=dict)

    def controller(self, cls: type) -> Any:
        return next(c for c in self.controllers if isinstance(c, cls))


async def eventually(check: Callable[[], Awaitable[Any]], deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


@contextlib.asynccontextmanager
async def harness(tmp: Path, controllers: list[Callable[[Client, InformerFactory], Controller]],
                  nodes: int = 0, node_settings: Callable[[str], NodeSettings] | None = None,
                  ) -> AsyncIterator[Harness]:
    store = await Store.open(StoreSettings(path=tmp / "db"))
    resources = Resources(store)
    await bootstrap(resources)
    factory = InformerFactory(Client(resources, "kube-controller-manager"))
    built = [make(Client(resources, "test-controller"), factory) for make in controllers]
    h = Harness(Client(resources, "test"), resources, built)
    shared_nodes = factory.informer(Kind.NODE)  # the kubelets view it, as in the cluster
    try:
        h.tasks.append(asyncio.create_task(factory.run(), name="informers"))
        h.tasks += [asyncio.create_task(c.run(), name=c.name) for c in built]
        if nodes:
            sched_client = Client(resources, "default-scheduler")
            h.tasks.append(asyncio.create_task(
                Scheduler(sched_client, EventRecorder(sched_client, "default-scheduler")).run(), name="scheduler"))
        for i in range(1, nodes + 1):
            name = f"node-{i}"
            runtime = FakeRuntime(RuntimeSettings(cluster="test", node=name, state_dir=tmp / name))
            await runtime.start()
            settings = node_settings(name) if node_settings else NodeSettings(name, fake=True)
            kubelet = Kubelet(Client(resources, "kubelet"), runtime, settings, FAST, tmp / name)
            h.kubelets[name], h.runtimes[name] = kubelet, runtime
            h.tasks.append(asyncio.create_task(simulate.run_kubelet(kubelet, shared_nodes), name=f"kubelet-{name}"))
        async with asyncio.timeout(DEADLINE):
            for k in h.kubelets.values():
                await k.ready.wait()
            await factory.wait_synced()
        yield h
    finally:
        for t in reversed(h.tasks):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for r in h.runtimes.values():
            with contextlib.suppress(Exception):
                await r.close()
        await store.close()
