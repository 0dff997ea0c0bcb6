"""PodWorker on the fake runtime, built from a WorkerContext: which statuses it writes, in which order."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from boxk8s.kubelet.clock import SystemClock, rfc3339
from boxk8s.kubelet.context import WorkerContext, node_allocatable
from boxk8s.kubelet.runtime.base import ContainerState, RuntimeSettings, StartError
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
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
