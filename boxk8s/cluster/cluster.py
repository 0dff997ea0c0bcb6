"""`boxk8s up`: assemble a cluster, supervise it until stopped, write its kubeconfig once it listens."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

from boxk8s import kubeconfig
from boxk8s.cluster.components import assemble
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


class Cluster:
    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.port = settings.port

    async def run(self, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None = None) -> None:
        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            components = await assemble(self.settings, stack)
            # Move what start-up allocated out of the collector's way: full collections over the
            # long-lived heap otherwise stall every request and watch event for tens of ms.
            gc.collect()
            gc.freeze()
            tune_gc()

            def ready(port: int | None) -> None:
                assert port is not None and components.credentials is not None
                self.port = port
                server = f"https://{_url_host(self.settings.host)}:{port}"
                path = self._write_kubeconfig(server, components.credentials)
                if on_ready:
                    on_ready(Ready(server, path, time.monotonic() - started))

            await supervise(components, stop, ready)

    def _write_kubeconfig(self, server: str, creds: Credentials) -> str:
        config = kubeconfig.render(server, creds)
        # The user's kubeconfig first: our own file appearing is what scripts wait on.
        if self.settings.write_kubeconfig:
            target = self.settings.kubeconfig_path or kubeconfig.default_user_path()
            kubeconfig.merge_into(target, config)
        kubeconfig.write(self.settings.own_kubeconfig, config)
        return str(self.settings.own_kubeconfig)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
