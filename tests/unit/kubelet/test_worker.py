"""PodWorker on the fake runtime, built from a WorkerContext: which statuses it writes, in which order."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from boxk8s.kubelet.clock import SystemClock, rfc3339
from boxk8s.kubelet.context import WorkerContext, node_allocatable
from boxk8s.kubelet.dns import missing_cluster_dns
from boxk8s.kubelet.runtime.base import (
    ContainerConfig,
    ContainerState,
    Mount,
    RuntimeSettings,
    SandboxConfig,
    SandboxState,
    StartError,
)
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.volumes import resolv_conf_path
from boxk8s.kubelet.worker import PodWorker
from tests.unit.kubelet.stubs import UID, StubClient, crashing_pod


class EventLog:
    """An `EventEmitter` that keeps (type, reason, container) of what the worker emits."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def __call__(self, pod: dict[str, Any], type_: str, reason: str, message: str,
                       container: str = "") -> None:
        self.events.append((type_, reason, container))


def worker_context(client: StubClient, runtime: FakeRuntime, state_dir: Path, emit: EventLog) -> WorkerContext:
    return WorkerContext(
        runtime=runtime, client=client, emit=emit, clock=SystemClock(),
        settings=KubeletSettings(crashloop_base_seconds=60, status_resync_seconds=60),
        host_ip="127.0.0.1", cluster="test", state_dir=state_dir,
        node_allocatable=node_allocatable(NodeSettings("node-1", fake=True)))


def shown(status: dict[str, Any]) -> tuple[str, int]:
    s = status["containerStatuses"][0]
    state = s["state"]
    reason = (state.get("waiting") or state.get("terminated") or {}).get("reason", "Running")
    return reason, s["restartCount"]


async def test_an_exit_is_reported_as_terminated_before_back_off_makes_it_waiting(tmp_path: Path) -> None:
    pod = crashing_pod()
    client = StubClient(pod)
    runtime = FakeRuntime(RuntimeSettings(cluster="test", node="node-1", state_dir=tmp_path))
    await runtime.start()
    events = EventLog()
    worker = PodWorker(worker_context(client, runtime, tmp_path, events), UID, pod)
    for _ in range(3):
        await worker.sync()
        worker.set_pod(client.pod)
        await asyncio.sleep(0.01)  # the fake container exits soon after its start
    seen = [shown(s) for s in client.statuses]
    # Each crash is shown as Error first (what kubectl get -w prints), then the first restart is
    # immediate and the second crash waits in CrashLoopBackOff.
    assert seen == [("Running", 0), ("Error", 0), ("Running", 1), ("Error", 1), ("CrashLoopBackOff", 1)], seen
    assert ("Warning", "BackOff", "app") in events.events, events.events  # told through the context


class RefusingRuntime(FakeRuntime):
    """Creates containers but will not start them, saying why as the Docker runtime does."""

    async def start_container(self, container_id: str) -> ContainerState:
        created = await self.inspect_container(container_id)
        assert created is not None
        err = StartError("cannot start container: exec: no such file")
        err.state = replace(created, status="exited", exit_code=127, finished_at=rfc3339(self._now()),
                            error="exec: no such file")
        raise err


async def test_a_container_that_would_not_start_is_recorded_as_the_runtime_saw_it(tmp_path: Path) -> None:
    pod = crashing_pod()
    client = StubClient(pod)
    events = EventLog()
    worker = PodWorker(worker_context(client, RefusingRuntime(), tmp_path, events), UID, pod)
    await worker.sync()
    assert worker.containers and {c.error for c in worker.containers.values()} == {"exec: no such file"}
    assert ("Warning", "Failed", "app") in events.events


# ---- the pod's resolv.conf ------------------------------------------------------------------------------

class RecordingRuntime(FakeRuntime):
    """Keeps what the worker gives the runtime: sandbox configs and container configs."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sandbox_configs: list[SandboxConfig] = []
        self.container_configs: list[ContainerConfig] = []

    async def run_sandbox(self, config: SandboxConfig, while_starting: Any = None) -> SandboxState:
        self.sandbox_configs.append(config)
        return await super().run_sandbox(config, while_starting)

    async def create_container(self, sandbox: SandboxState, config: ContainerConfig) -> ContainerState:
        self.container_configs.append(config)
        return await super().create_container(sandbox, config)


class MessageLog(EventLog):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []

    async def __call__(self, pod: dict[str, Any], type_: str, reason: str, message: str,
                       container: str = "") -> None:
        await super().__call__(pod, type_, reason, message, container)
        self.messages.append((reason, message))


def dns_pod(**spec: Any) -> dict[str, Any]:
    pod = crashing_pod()
    pod["spec"].update({"initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
                        "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "1d"]}], **spec})
    return pod


async def dns_worker(tmp_path: Path, pod: dict[str, Any], **settings: Any) -> tuple[PodWorker, RecordingRuntime,
                                                                                      MessageLog]:
    host = tmp_path / "host-resolv.conf"
    host.write_text("nameserver 10.0.0.2\nsearch corp.example\n")
    runtime = RecordingRuntime(RuntimeSettings(cluster="test", node="node-1", state_dir=tmp_path))
    runtime.simulated_network = False  # as Docker's: pods on a real network get their DNS formed
    await runtime.start()
    events = MessageLog()
    ctx = worker_context(StubClient(pod), runtime, tmp_path / "state", events)
    ctx = replace(ctx, settings=replace(ctx.settings, **{"resolv_conf": str(host), **settings}))
    return PodWorker(ctx, UID, pod), runtime, events


async def test_a_simulated_pod_forms_no_dns(tmp_path: Path) -> None:
    worker, runtime, events = await dns_worker(tmp_path, dns_pod())
    runtime.simulated_network = True
    await sync_until_app_runs(worker)
    assert not resolv_conf_path(tmp_path / "state", UID).exists()
    assert not [e for e in events.events if e[0] == "Warning"]  # no MissingClusterDNS per simulated pod


async def sync_until_app_runs(worker: PodWorker) -> None:
    """Sync (letting the fake runtime's scheduled exits happen in between) until the app runs."""
    async with asyncio.timeout(5):
        while not any(c.name == "app" and c.status == "running" for c in worker.containers.values()):
            await worker.sync()
            await asyncio.sleep(0)


async def test_a_cluster_first_pod_gets_its_resolv_conf_in_every_container(tmp_path: Path) -> None:
    worker, runtime, events = await dns_worker(tmp_path, dns_pod(), cluster_dns=("10.96.0.10",))
    await sync_until_app_runs(worker)
    path = resolv_conf_path(tmp_path / "state", UID)
    assert path.read_text() == ("search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
                                "nameserver 10.96.0.10\noptions ndots:5\n")
    assert [c.name for c in runtime.container_configs] == ["init", "app"]
    bind = Mount("/etc/resolv.conf", str(path), "bind", read_only=True)
    assert all(bind in c.mounts for c in runtime.container_configs)
    [sandbox] = runtime.sandbox_configs
    assert sandbox.dns_search == ("default.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example")
    assert not [e for e in events.events if e[0] == "Warning"]


async def test_without_cluster_dns_the_runtime_s_dns_serves_and_the_pod_is_told(tmp_path: Path) -> None:
    worker, runtime, events = await dns_worker(tmp_path, dns_pod())
    await sync_until_app_runs(worker)
    assert not resolv_conf_path(tmp_path / "state", UID).exists()
    assert all(c.mounts == () for c in runtime.container_configs) and runtime.container_configs
    assert runtime.sandbox_configs[0].dns_search == ("default.svc.cluster.local", "svc.cluster.local",
                                                     "cluster.local")
    assert events.messages.count(("MissingClusterDNS", missing_cluster_dns(dns_pod()).message)) == 1


async def test_an_adopted_sandbox_keeps_its_resolv_conf(tmp_path: Path) -> None:
    worker, runtime, events = await dns_worker(tmp_path, dns_pod(), cluster_dns=("10.96.0.10",))
    await sync_until_app_runs(worker)
    path = resolv_conf_path(tmp_path / "state", UID)
    path.write_text("nameserver 10.96.0.10\n# as written when the sandbox was made\n")
    # A restart: a new worker adopts the running sandbox; the app container then has to start again.
    [app] = [c for c in await runtime.list_containers() if c.name == "app"]
    await runtime.stop_container(app.id, 0)
    adopted = PodWorker(worker.ctx, UID, worker.pod, containers=await runtime.list_containers())
    adopted.absorb(await runtime.list_sandboxes(), [])
    created = len(runtime.container_configs)
    await sync_until_app_runs(adopted)
    assert len(runtime.sandbox_configs) == 1  # no new sandbox
    [again] = runtime.container_configs[created:]
    assert Mount("/etc/resolv.conf", str(path), "bind", read_only=True) in again.mounts
    assert path.read_text().endswith("# as written when the sandbox was made\n")
    path.unlink()  # gone (an older boxk8s made the sandbox): written again for the next container
    adopted.dns = None
    assert adopted._resolv_conf() == str(path) and path.read_text().startswith("search default.svc")


async def test_an_unreadable_node_resolv_conf_fails_the_sandbox_as_upstream(tmp_path: Path) -> None:
    worker, runtime, events = await dns_worker(tmp_path, dns_pod(), resolv_conf=str(tmp_path / "nowhere"))
    await worker._sync_safely()  # as run() does: failed, retried later
    assert not runtime.sandbox_configs
    assert ("FailedCreatePodSandBox", f"Failed to create pod sandbox: open {tmp_path / 'nowhere'}: "
                                      "no such file or directory") in events.messages


def sleeping_pod() -> dict[str, Any]:
    pod = crashing_pod()
    pod["spec"]["containers"] = [{"name": n, "image": "busybox", "command": ["sleep", "3600"]} for n in ("a", "b")]
    return pod


async def test_a_listing_never_takes_a_running_sandbox_for_dead_but_a_removed_one_is_replaced(tmp_path: Path) -> None:
    pod = sleeping_pod()
    client = StubClient(pod)
    runtime = FakeRuntime(RuntimeSettings(cluster="test", node="node-1", state_dir=tmp_path))
    events = EventLog()
    worker = PodWorker(worker_context(client, runtime, tmp_path, events), UID, pod)
    await worker.sync()
    sandbox = worker.sandbox
    assert sandbox is not None and sandbox.running
    running = {c.id for c in worker.containers.values() if c.status == "running"}
    # A listing taken while the sandbox was starting: not believed, checked, and it runs.
    worker.absorb([replace(sandbox, running=False)], [])
    assert worker.sandbox == sandbox and worker.sandbox_in_doubt
    worker.set_pod(client.pod)
    await worker.sync()
    assert worker.sandbox == sandbox and not worker.sandbox_in_doubt
    assert {c.id for c in worker.containers.values() if c.status == "running"} == running
    assert ("Normal", "SandboxChanged", "") not in events.events
    # Removed behind the kubelet's back, it is replaced: announced once, containers made again.
    await runtime.remove_sandbox(sandbox.id)
    worker.runtime_event()
    worker.set_pod(client.pod)
    await worker.sync()
    assert worker.sandbox is not None and worker.sandbox.id != sandbox.id and worker.sandbox.running
    assert events.events.count(("Normal", "SandboxChanged", "")) == 1
    now = {c.name: c.attempt for c in worker.containers.values() if c.status == "running"}
    assert now == {"a": 1, "b": 1}
