"""Supervision: start the assembled components in order, stop them in reverse under one deadline.

Every long-running coroutine is a named task of one TaskGroup; what was started is pushed on an
AsyncExitStack, so stopping is leaving the stack (kopf's reactor spawns its root tasks the same
way, then waits on a stop flag; aiohttp's runner owns the listener's cleanup).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from boxk8s.cluster.bootstrap import bootstrap, dns_port, publish_api_endpoints, publish_dns_endpoints
from boxk8s.cluster.components import Components, api_hosts, host_address
from boxk8s.tls import ensure_credentials

if TYPE_CHECKING:
    from boxk8s.proxy.dns_server import ClusterDns

log = logging.getLogger(__name__)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close(closable: Any) -> None:
    """Closing one runtime must not keep the next from closing."""
    try:
        await closable.close()
    except Exception:
        log.exception("closing %s failed", type(closable).__name__)


async def _serve_dns(c: Components, dns: ClusterDns, address: str, started: contextlib.AsyncExitStack) -> None:
    """The cluster DNS on the host's address on the cluster network, once the informers it answers
    from have synced; then kube-dns's endpoints name it (the port it had before, when still free)."""
    if not address:
        log.warning("dns: the cluster network has no gateway address; the cluster DNS is off")
        return
    await c.informers.wait_synced()
    dns.host = address
    dns.preferred_port = await dns_port(c.resources)
    try:
        port = await dns.start()
    except OSError as e:  # the cluster runs on without names rather than stopping
        log.error("dns: cannot listen on %s (%s); pods cannot resolve names of the cluster", address, e)
        return
    started.push_async_callback(dns.close)
    await publish_dns_endpoints(c.resources, address, port)


async def _serve_api_to_pods(c: Components, port: int) -> None:
    """Pods reach the API through the `kubernetes` Service (ClusterIP .1:443, the in-cluster config):
    the API listens as well on the host's address on the cluster network (the gateway, where the
    cluster DNS is too), with a certificate valid for it, and the Service's endpoints name that
    address, so the network agent routes the ClusterIP there. The host's own 127.0.0.1 listener stays."""
    address = c.gateway() if c.gateway else ""
    if not address or c.api is None:
        return
    creds = ensure_credentials(c.settings.state_dir, api_hosts(c.settings, address))  # reissued once, if it lacks it
    c.api.reload_certificate(str(creds.cert_path), str(creds.key_path))
    if c.settings.host in ("0.0.0.0", "::"):
        pod_port = port  # listening on every address already
    else:
        try:
            pod_port = await c.api.listen_also(address, port)
        except OSError as e:
            log.error("api: cannot listen on %s (%s); pods cannot reach the API", address, e)
            return
    await publish_api_endpoints(c.resources, address, pod_port)


OnReady = Callable[[int | None], Coroutine[Any, Any, None] | None]
OnListening = Callable[[int], None]


async def supervise(c: Components, stop: asyncio.Event, on_ready: OnReady | None = None,
                    on_listening: OnListening | None = None) -> None:
    """Run the cluster until `stop` is set. Order: store → bootstrap → API (then `on_listening(port)`)
    → the rest of the assembly, if it waited (`c.pending`) → runtimes → informers → scheduler →
    controllers → kubelets → metrics sampler → proxy → ingress; then `on_ready(api_port)`, whose
    coroutine, if it returns one (a readiness check), runs as one more task. A task that fails
    stops them all."""
    async with asyncio.TaskGroup() as tg:
        started = contextlib.AsyncExitStack()

        def spawn(coro: Coroutine[Any, Any, Any], name: str) -> None:
            started.push_async_callback(_cancel, tg.create_task(coro, name=name))

        try:
            spawn(c.store.run(), "store")
            await bootstrap(c.resources)
            port = await started.enter_async_context(c.api.serving()) if c.api else None
            if port is not None:
                await publish_api_endpoints(c.resources, host_address(c.settings.host), port)
                if on_listening is not None:
                    on_listening(port)
            if c.pending is not None:
                await c.pending()
            from boxk8s.kubelet import simulate  # imported with the workloads (workloads.py)

            for runtime in c.runtimes.values():  # one after the other: they share the cluster network
                await runtime.start()
                started.push_async_callback(_close, runtime)
            if port is not None:
                await _serve_api_to_pods(c, port)
            spawn(c.informers.run(), "informers")  # every user has asked for its informers by now
            if c.scheduler:
                spawn(c.scheduler.run(), "scheduler")
            for controller in c.controllers:
                spawn(controller.run(), controller.name)
            if c.image_rollouts:
                spawn(c.image_rollouts.run(), c.image_rollouts.name)
            if c.devloop:
                spawn(c.devloop.run(), "devloop")
            if c.view:
                spawn(c.view.run(), "status-view")
            for name, kubelet in c.kubelets.items():
                spawn(simulate.run_kubelet(kubelet, c.node_informer), f"kubelet-{name}")
            if c.snapshots:
                spawn(c.snapshots.run(), c.snapshots.name)
            if c.metrics and c.runtimes:
                spawn(c.metrics.run(), c.metrics.name)
            if c.cluster_ip:
                spawn(c.cluster_ip.run(), c.cluster_ip.name)  # starts the network agent off the ready path
            if c.dns and c.gateway:
                spawn(_serve_dns(c, c.dns, c.gateway(), started), "dns")
            if c.proxy:
                spawn(c.proxy.run(), c.proxy.name)
            if c.ingress:
                spawn(c.ingress.run(), c.ingress.name)
            after = on_ready(port) if on_ready else None
            if after is not None:
                spawn(after, "after-ready")
            await stop.wait()
        finally:
            async with asyncio.timeout(c.settings.stop_timeout):
                await started.aclose()
