"""The supervisor: builds the components, starts them in order, stops them in reverse.

Every long-running coroutine is a named task in one TaskGroup. A signal only sets the stop
event; stopping cancels the tasks newest first under one deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from boxk8s import errors, kubeconfig, nodes
from boxk8s.api.app import ApiSettings, build_app
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.config import ClusterSettings
from boxk8s.controllers import CONTROLLERS
from boxk8s.controllers.namespace import NamespaceController
from boxk8s.events import EventRecorder
from boxk8s.kubelet import simulate
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime import ContainerRuntime, RuntimeSettings
from boxk8s.kubelet.runtime.addresses import PodAddresses
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.streams import KubeletStreams
from boxk8s.resources import registry
from boxk8s.resources.layer import Resources
from boxk8s.scheduler import Scheduler
from boxk8s.store import Store, StoreSettings
from boxk8s.tls import Credentials, ensure_credentials

log = logging.getLogger(__name__)


# Young-generation threshold: CPython's default (700 allocations) collects every few decoded objects,
# so objects that live only milliseconds (a decoded event, a request body, an object being written)
# are promoted to the old generation, whose full collections then scan the whole heap again and
# again (at 10,000 pods: 44 full collections of ~270 ms each, a quarter of the run). 50,000 lets
# them die young; a young collection then takes about 5 ms.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Raise the young-generation threshold (never lower one already raised)."""
    young, middle, old = gc.get_threshold()
    if young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


@dataclass(frozen=True)
class Ready:
    server: str
    kubeconfig_path: str
    seconds: float


async def bootstrap(resources: Resources) -> None:
    """What every cluster has: the system namespaces and the `kubernetes` Service."""
    ns_rt = registry.find("", "v1", "namespaces")
    svc_rt = registry.find("", "v1", "services")
    assert ns_rt and svc_rt
    for name in registry.SYSTEM_NAMESPACES:
        with contextlib.suppress(errors.AlreadyExists):
            await resources.create(ns_rt, None, {
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
            })
    with contextlib.suppress(errors.AlreadyExists):
        await resources.create(svc_rt, "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"],
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                "sessionAffinity": "None",
            },
        })


class Cluster:
    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.port = settings.port

    async def run(self, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None = None) -> None:
        started = time.monotonic()
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        creds = ensure_credentials(s.state_dir, [s.host] if s.host not in ("0.0.0.0", "::") else [])
        store = await Store.open(StoreSettings(
            path=s.db_path, compaction_interval=s.compaction_interval, compaction_keep=s.compaction_keep,
        ))
        try:
            resources = self.resources = Resources(store)
            await bootstrap(resources)
            # Move what start-up allocated out of the collector's way: full collections over the
            # long-lived heap otherwise stall every request and watch event for tens of ms.
            gc.collect()
            gc.freeze()
            tune_gc()
            kubelets: dict[str, Kubelet] = {}
            app = build_app(resources, ApiSettings(host=s.host, port=s.port, token=creds.token),
                            streams=KubeletStreams(kubelets))
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, s.host, s.port, ssl_context=creds.server_ssl_context(), reuse_address=True)
                await site.start()
                self.port = _bound_port(site, s.port)
                server = f"https://{_url_host(s.host)}:{self.port}"
                kc_path = self._write_kubeconfig(server, creds)
                runtimes = await self._start_runtimes(s.state_dir)
                try:
                    async with asyncio.TaskGroup() as tg:
                        tasks = [
                            self._task(tg, store.run(), "store-compaction"),
                            self._task(tg, NamespaceController(resources).run(), "namespace-controller"),
                        ]
                        factory = InformerFactory(Client(resources, "kube-controller-manager"))
                        # The scheduler shares the pod and node informers (one decode per event).
                        tasks.append(self._task(tg, self._scheduler(resources, factory).run(), "scheduler"))
                        managers = [cls(Client(resources, cls.name), factory) for cls in CONTROLLERS]
                        for c in managers:  # controllers that take cluster settings (node grace, eviction)
                            getattr(c, "configure", lambda _s: None)(s)
                        shared_pods = factory.informer(Kind.POD)  # every kubelet views this one
                        shared_nodes = factory.informer(Kind.NODE)  # and this one (simulated stops)
                        for node, runtime in runtimes:
                            kubelets[node.name] = Kubelet(
                                Client(resources, "kubelet"), runtime, node, self._kubelet_settings(),
                                s.state_dir, address="127.0.0.1", pods=shared_pods)
                        # Informers start once everything that uses them has asked for them.
                        tasks.append(self._task(tg, factory.run(), "informers"))
                        tasks += [self._task(tg, c.run(), c.name) for c in managers]
                        tasks += [self._task(tg, simulate.run_kubelet(k, shared_nodes), f"kubelet-{name}")
                                  for name, k in kubelets.items()]
                        if on_ready:
                            on_ready(Ready(server, str(kc_path), time.monotonic() - started))
                        await stop.wait()
                        await self._stop(tasks)
                finally:
                    for _node, runtime in reversed(runtimes):
                        with contextlib.suppress(Exception):
                            await runtime.close()
            finally:
                await runner.cleanup()
        finally:
            await store.close()

    async def _start_runtimes(self, state_dir: Path) -> list[tuple[NodeSettings, ContainerRuntime]]:
        """One runtime per node, started one after the other (they share the cluster network)."""
        s = self.settings
        name = nodes.cluster_name(state_dir, s.cluster_name)
        started: list[tuple[NodeSettings, ContainerRuntime]] = []
        addresses = PodAddresses(s.pod_subnet)  # the fixed pod IPs: one book for all Docker nodes (one network)
        try:
            for node in nodes.plan_nodes(s, nodes.host_resources()):
                rs = RuntimeSettings(cluster=name, node=node.name, pod_subnet=s.pod_subnet, state_dir=state_dir)
                runtime: ContainerRuntime
                if node.fake:
                    runtime = FakeRuntime(rs)
                else:
                    from boxk8s.kubelet.runtime.docker import DockerRuntime  # only when Docker nodes exist

                    runtime = DockerRuntime(rs, addresses=addresses)
                await runtime.start()
                started.append((node, runtime))
        except BaseException:
            for _node, runtime in started:
                with contextlib.suppress(Exception):
                    await runtime.close()
            raise
        return started

    def _scheduler(self, resources: Resources, factory: InformerFactory) -> Scheduler:
        client = Client(resources, "default-scheduler")
        return Scheduler(client, EventRecorder(client, "default-scheduler"),
                         pods=factory.informer(Kind.POD), nodes=factory.informer(Kind.NODE))

    def _kubelet_settings(self) -> KubeletSettings:
        base = self.settings.crashloop_base_seconds
        return KubeletSettings(crashloop_base_seconds=base, image_backoff_base_seconds=base)

    def _task(self, tg: asyncio.TaskGroup, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return tg.create_task(coro, name=name)

    async def _stop(self, tasks: list[asyncio.Task[Any]]) -> None:
        async with asyncio.timeout(self.settings.stop_timeout):
            for task in reversed(tasks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _write_kubeconfig(self, server: str, creds: Credentials) -> str:
        config = kubeconfig.render(server, creds)
        # The user's kubeconfig first: our own file appearing is what scripts wait on.
        if self.settings.write_kubeconfig:
            target = self.settings.kubeconfig_path or kubeconfig.default_user_path()
            kubeconfig.merge_into(target, config)
        kubeconfig.write(self.settings.own_kubeconfig, config)
        return str(self.settings.own_kubeconfig)


def _bound_port(site: web.TCPSite, requested: int) -> int:
    server = site._server  # aiohttp keeps the asyncio server here
    sockets = getattr(server, "sockets", None) or []
    for sock in sockets:
        return int(sock.getsockname()[1])
    return requested


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
