"""`boxk8s up`: place a cluster on the machine, assemble it, supervise it until stopped, write its
kubeconfig once it listens."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from boxk8s import instance, kubeconfig
from boxk8s.cluster.components import Components, assemble
from boxk8s.cluster.placement import place, record_placement
from boxk8s.cluster.supervisor import supervise
from boxk8s.config import ClusterSettings
from boxk8s.tls import Credentials

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
    context: str = ""  # the kubeconfig context (and cluster and user entries) of this cluster
    merged_into: str = ""  # the user's kubeconfig the context was merged into ("": none)
    ingress_urls: tuple[str, ...] = ()  # the Ingress proxy, plain then TLS (none: off)
    pod_subnet: str = ""


OnReady = Callable[[Ready], Coroutine[Any, Any, None] | None]


class Cluster:
    """`boxk8s up`: place the cluster on the machine (placement.py), assemble and supervise it.
    `settings` is the placed settings once run() started; `components` the assembled parts (for a
    readiness check that looks inside, cluster/readiness.py)."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.port = settings.port
        self.components: Components | None = None

    async def run(self, stop: asyncio.Event, on_ready: OnReady | None = None) -> None:
        """Run until `stop` is set. The kubeconfig is written as soon as the API listens, before the
        workloads are built (components.py); `on_ready(Ready)` once everything started and the Ingress
        proxy listens; a coroutine it returns (a readiness check and its report) runs beside the
        cluster's tasks."""
        started = time.monotonic()
        self.settings = await place(self.settings)
        async with contextlib.AsyncExitStack() as stack:
            components = self.components = await assemble(self.settings, stack, defer=True)
            build_workloads = components.pending
            written: list[tuple[str, str, str]] = []

            async def assembled() -> None:
                if build_workloads is not None:
                    await build_workloads()
                # Move what start-up allocated out of the collector's way: full collections over the
                # long-lived heap otherwise stall every request and watch event for tens of ms.
                gc.collect()
                gc.freeze()
                tune_gc()

            components.pending = assembled

            def listening(port: int) -> None:
                """The API answers: the kubeconfig now (kubectl works while the rest starts)."""
                assert components.credentials is not None
                self.port = port
                server = f"https://{instance.url_host(self.settings.host)}:{port}"
                written.append((server, *self._write_kubeconfig(server, components.credentials)))

            def ready(port: int | None) -> Coroutine[Any, Any, None]:
                assert port is not None and written
                return announce(*written[-1])

            async def announce(server: str, path: str, merged: str) -> None:
                """Once the Ingress proxy listens too: record where everything listens, then tell."""
                ingress = components.ingress
                if ingress is not None:
                    await ingress.listening.wait()
                http, tls = ingress.ports if ingress is not None else (0, 0)
                if components.view is not None:
                    components.view.ingress_port, components.view.host = http, instance.url_host(self.settings.host)
                s = self.settings = replace(self.settings, port=self.port, ingress_port=http, ingress_tls_port=tls)
                record_placement(s, self.port)
                urls = instance.Record(host=s.host, ingress_port=http, ingress_tls_port=tls).ingress_urls
                info = Ready(server, path, time.monotonic() - started, kubeconfig.context_name(s.cluster_name),
                             merged, tuple(urls), s.pod_subnet)
                after = on_ready(info) if on_ready else None
                if after is not None:
                    await after

            await supervise(components, stop, ready, listening)

    def _write_kubeconfig(self, server: str, creds: Credentials) -> tuple[str, str]:
        """Our own kubeconfig, and our context merged into the user's; → (own path, merged into)."""
        config = kubeconfig.render(server, creds, kubeconfig.context_name(self.settings.cluster_name))
        merged = ""
        # The user's kubeconfig first: our own file appearing is what scripts wait on.
        if self.settings.write_kubeconfig:
            target = self.settings.kubeconfig_path or kubeconfig.default_user_path()
            kubeconfig.merge_into(target, config)
            merged = str(target)
        kubeconfig.write(self.settings.own_kubeconfig, config)
        return str(self.settings.own_kubeconfig), merged
