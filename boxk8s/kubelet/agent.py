"""The kubelet of one node: pod informer, one worker per pod, runtime events, adoption on start.

    Kubelet(client, runtime, node, settings, state_dir).run()

runs, as named tasks in one TaskGroup: the NodeStatusAgent (registration, heartbeats, Lease),
an informer of the pods bound to this node, one `PodWorker` per pod uid, a loop turning
runtime events into worker wake-ups, a periodic resync listing the runtime, and the runtime's
health check (runtime_state.py: the node NotReady while the runtime is down, the workers idle,
woken all at once when it is back). The runtime must have been started (`await
runtime.start()`) by whoever owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from boxk8s.client import Client, Informer, Kind
from boxk8s.client.informer import FilteredView, object_key, pod_node_name
from boxk8s.events import EventRecorder
from boxk8s.kubelet.clock import Clock, SystemClock
from boxk8s.kubelet.context import WorkerContext, node_allocatable
from boxk8s.kubelet.runtime.base import ContainerRuntime, ContainerState, SandboxState
from boxk8s.kubelet.runtime_state import runtime_errors
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.worker import PodWorker, field_path

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class Kubelet:
    def __init__(self, client: Client, runtime: ContainerRuntime, node: NodeSettings, settings: KubeletSettings,
                 state_dir: Path, *, clock: Clock | None = None, cluster: str | None = None,
                 address: str = "127.0.0.1", run_node_agent: bool = True,
                 pods: Informer | None = None, services: Informer | None = None) -> None:
        self.client = client
        self.runtime = runtime
        self.node = node
        self.settings = settings
        self.state_dir = Path(state_dir)
        self.clock: Clock = clock or SystemClock()
        self.cluster = cluster or runtime.settings.cluster
        self.address = address  # the node's InternalIP: pods' hostIP
        self.run_node_agent = run_node_agent
        self.recorder = EventRecorder(client, "kubelet", node.name)
        # All a pod worker sees of its kubelet (fixed for the kubelet's life, shared by all).
        self.worker_context = WorkerContext(
            runtime=runtime, client=client, emit=self.event, clock=self.clock, settings=settings,
            host_ip=address, cluster=self.cluster, state_dir=self.state_dir, node_allocatable=node_allocatable(node),
            services=services.list if services is not None else (lambda: []),
            runtime_up=lambda: not self.runtime_error,
            **({"services_synced": services.synced.wait} if services is not None else {}))
        # A shared pod informer (one decode per event for all kubelets), or one of our own.
        self.informer: Informer | FilteredView = (
            FilteredView(pods, self._mine, route=(pod_node_name, node.name)) if pods is not None
            else Informer(client, Kind.POD, field=self._mine)
        )
        self.informer.add_handler(self._on_pod)
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.ready = asyncio.Event()  # set once running pods were adopted
        self.node_agent: Any = None
        self._tg: asyncio.TaskGroup | None = None
        self._adopted = False
        self.resyncs = 0  # completed runtime listings (tests wait on it)
        self.runtime_error = ""  # runtime_state.runtime_errors: "" while the runtime answers

    def _mine(self, pod: Obj) -> bool:
        return pod_node_name(pod) == self.node.name

    # ---- the supervisor -------------------------------------------------------------------
    async def run(self) -> None:
        self._adopted = False  # run() again (after `boxk8s node stop`/`start`) adopts again
        self.runtime_error = ""  # the runtime answered its start
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                if self.run_node_agent:
                    self._start_node_agent(tg)
                tg.create_task(self.informer.run(), name=f"kubelet-{self.node.name}-pods")
                await self.informer.synced.wait()
                await self._adopt()
                tg.create_task(self._watch_runtime(), name=f"kubelet-{self.node.name}-runtime-events")
                tg.create_task(self._resync(), name=f"kubelet-{self.node.name}-resync")
                tg.create_task(self._check_runtime(), name=f"kubelet-{self.node.name}-runtime-health")
                self.ready.set()
        finally:
            self._tg = None
            self.ready.clear()

    def _start_node_agent(self, tg: asyncio.TaskGroup) -> None:
        from boxk8s.kubelet.node import NodeStatusAgent

        # Read now, not at construction: a runtime may learn its version only in start().
        self.node_agent = NodeStatusAgent(self.client, self.node, recorder=self.recorder, address=self.address,
                                          runtime_version=self.runtime.runtime_version)
        tg.create_task(self.node_agent.run(), name=f"kubelet-{self.node.name}-node-status")

    # ---- adoption -------------------------------------------------------------------------
    async def _adopt(self) -> None:
        """Take over what runs for pods still bound here (same containers, same restart counts);
        tear down what belongs to pods that are gone."""
        sandboxes, containers = await self._list_runtime()
        pods_by_uid = {p["metadata"]["uid"]: p for p in self.informer.list()}
        uids = set(sandboxes) | set(containers)
        for uid in uids:
            pod = pods_by_uid.get(uid)
            if pod is None:
                log.info("kubelet/%s: removing containers of gone pod %s", self.node.name, uid)
            else:
                log.info("kubelet/%s: adopting pod/%s (%d containers)", self.node.name, object_key(pod),
                         len(containers.get(uid, [])))
            self._spawn(uid, pod, sandboxes.get(uid, []), containers.get(uid, []))
        for uid, pod in pods_by_uid.items():
            if uid not in self.workers:
                self._spawn(uid, pod, [], [])
        pods_dir = self.state_dir / "pods"
        if pods_dir.is_dir():
            for d in pods_dir.iterdir():
                if d.name not in pods_by_uid and d.name not in uids:
                    shutil.rmtree(d, ignore_errors=True)
        self._adopted = True

    async def _list_runtime(self) -> tuple[dict[str, list[SandboxState]], dict[str, list[ContainerState]]]:
        sandboxes: dict[str, list[SandboxState]] = {}
        containers: dict[str, list[ContainerState]] = {}
        for s in await self.runtime.list_sandboxes():
            sandboxes.setdefault(s.pod_uid, []).append(s)
        for c in await self.runtime.list_containers():
            containers.setdefault(c.pod_uid, []).append(c)
        return sandboxes, containers

    def _spawn(self, uid: str, pod: Obj | None, sandboxes: list[SandboxState],
               containers: list[ContainerState]) -> PodWorker:
        assert self._tg is not None
        worker = PodWorker(self.worker_context, uid, pod, containers=containers)
        worker.absorb(sandboxes, [])
        self.workers[uid] = worker
        name = object_key(pod) if pod is not None else uid
        self._tg.create_task(self._run_worker(worker), name=f"pod-worker-{name}")
        return worker

    async def _run_worker(self, worker: PodWorker) -> None:
        try:
            await worker.run()
        except Exception:
            log.exception("pod/%s: worker crashed", worker.key)
        finally:
            if self.workers.get(worker.uid) is worker:
                del self.workers[worker.uid]

    # ---- inputs ---------------------------------------------------------------------------
    def _on_pod(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if not self._adopted or self._tg is None:
            return  # adoption spawns workers for everything in the cache
        if old is not None and (new is None or old["metadata"]["uid"] != new["metadata"]["uid"]):
            gone = self.workers.get(old["metadata"]["uid"])
            if gone is not None:
                gone.set_pod(None)
        if new is None or kind == "DELETED":
            return
        uid = new["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is None:
            self._spawn(uid, new, [], [])
        elif _same_version(worker.pod, new):
            # The echo of the worker's own status write, whose result it holds already (the same
            # resourceVersion is the same object): a sync would find nothing to do. It takes the
            # informer's copy all the same, so that a pod is held once in memory, not twice.
            worker.set_pod(new, wake=False)
        else:
            worker.set_pod(new)

    async def _watch_runtime(self) -> None:
        """Exits are learned from events (then inspected), not by polling."""
        while True:
            try:
                async for uid in self.runtime.watch_events():
                    worker = self.workers.get(uid)
                    if worker is not None:
                        worker.runtime_event()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("kubelet/%s: runtime events failed (%s); resubscribing", self.node.name, e)
            await asyncio.sleep(1.0)

    async def _check_runtime(self) -> None:
        """kubelet's updateRuntimeUp: ping the runtime; on a change of its health, tell the node
        status (Ready=False, KubeletNotReady, "container runtime is down", and back) and, once it
        answers again, wake every worker at once instead of each at the end of its back-off."""
        s = self.settings
        last_ok = self.clock.now()
        while True:
            await asyncio.sleep(s.runtime_check_seconds)
            try:
                await self.runtime.ping()
                ok = True
            except asyncio.CancelledError:
                raise
            except Exception as e:
                ok = False
                log.debug("kubelet/%s: runtime ping failed: %s", self.node.name, e)
            now = self.clock.now()
            if ok and last_ok < now - s.runtime_check_seconds * 1.5:
                self._recover_workers(failed_only=True)  # a short outage: those that failed try again now
            last_ok = now if ok else last_ok
            error = runtime_errors(last_ok, now, s.runtime_down_seconds)
            if error == self.runtime_error:
                continue
            self.runtime_error = error
            if error:
                log.warning("kubelet/%s: %s; skipping pod synchronization", self.node.name, error)
            else:
                log.info("kubelet/%s: the container runtime answers again", self.node.name)
                self._recover_workers(failed_only=False)
            await self._tell_node(error)

    def _recover_workers(self, *, failed_only: bool) -> None:
        for worker in list(self.workers.values()):
            if worker.failing or not failed_only:
                worker.recover()

    async def _tell_node(self, error: str) -> None:
        agent = self.node_agent
        if agent is None:
            return
        with contextlib.suppress(Exception):  # the next heartbeat posts it all the same
            if error:
                await agent.set_not_ready(error)
            else:
                await agent.set_ready()

    async def _resync(self) -> None:
        """Every status_resync_seconds: list the runtime, hand each worker its part, tear down orphans.

        Only a worker the listing taught something (an event missed) is woken: each worker also
        re-checks on its own every status_resync_seconds, and waking all of them here doubled that
        work (10,000 pods: some 20,000 syncs that changed nothing)."""
        while True:
            await asyncio.sleep(self.settings.status_resync_seconds)
            if self.runtime_error:
                continue
            try:
                sandboxes, containers = await self._list_runtime()
            except Exception as e:
                log.warning("kubelet/%s: listing the runtime failed: %s", self.node.name, e)
                continue
            for uid in set(sandboxes) | set(containers):
                worker = self.workers.get(uid)
                if worker is None:
                    pod = next((p for p in self.informer.list() if p["metadata"]["uid"] == uid), None)
                    worker = self._spawn(uid, pod, [], [])
                known = (worker.sandbox, dict(worker.containers))
                worker.absorb(sandboxes.get(uid, []), containers.get(uid, []))
                if (worker.sandbox, worker.containers) != known or worker.sandbox_in_doubt:
                    worker.wake()
            self.resyncs += 1

    # ---- events and lookups ---------------------------------------------------------------
    async def event(self, pod: Obj, type_: str, reason: str, message: str, container: str = "") -> None:
        """The workers' `EventEmitter`: about a pod, or one of its containers by its fieldPath."""
        if not self.node.normal_events and type_ == "Normal":
            return
        ref: Obj = {"kind": "Pod", "apiVersion": "v1", "metadata": pod.get("metadata") or {}}
        if container:
            ref["fieldPath"] = field_path(pod, container)
        with contextlib.suppress(Exception):
            await self.recorder.event(ref, type_, reason, message)

    def worker_for(self, pod: Obj) -> PodWorker | None:
        return self.workers.get((pod.get("metadata") or {}).get("uid", ""))


def _same_version(held: Obj | None, new: Obj) -> bool:
    if held is None:
        return False
    rv = held["metadata"].get("resourceVersion")
    return bool(rv) and rv == new["metadata"].get("resourceVersion") and held["metadata"].get("uid") == \
        new["metadata"].get("uid")
