"""PodWorker on the fake runtime with a stub kubelet: which statuses it writes, in which order."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from boxk8s.kubelet.agent import Kubelet, _same_version
from boxk8s.kubelet.clock import SystemClock
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.worker import PodWorker

UID = "uid-1"


class StubClient:
    def __init__(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        self.statuses: list[dict[str, Any]] = []

    async def get(self, kind: Any, namespace: str | None, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.pod)

    async def update_status(self, kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        # As the status subresource: the stored pod with the new status (the body's spec is ignored).
        rv = int(self.pod["metadata"]["resourceVersion"]) + 1
        self.pod = {**copy.deepcopy(self.pod), "status": copy.deepcopy(obj["status"])}
        self.pod["metadata"]["resourceVersion"] = str(rv)
        self.statuses.append(copy.deepcopy(obj["status"]))
        return copy.deepcopy(self.pod)


class StubKubelet:
    def __init__(self, client: StubClient, runtime: FakeRuntime, state_dir: Path) -> None:
        self.client = client
        self.runtime = runtime
        self.clock = SystemClock()
        self.settings = KubeletSettings(crashloop_base_seconds=60, status_resync_seconds=60)
        self.node = NodeSettings("node-1", fake=True)
        self.address = "127.0.0.1"
        self.state_dir = state_dir
        self.cluster = "test"

    async def event(self, *args: Any) -> None:
        return None


def crashing_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "crash", "namespace": "default", "uid": UID, "resourceVersion": "1"},
            "spec": {"nodeName": "node-1", "restartPolicy": "Always",
                     "containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "exit 1"]}]},
            "status": {"phase": "Pending"}}


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
    worker = PodWorker(StubKubelet(client, runtime, tmp_path), UID, pod)  # type: ignore[arg-type]
    for _ in range(3):
        await worker.sync()
        worker.set_pod(client.pod)
        await asyncio.sleep(0.01)  # the fake container exits soon after its start
    seen = [shown(s) for s in client.statuses]
    # Each crash is shown as Error first (what kubectl get -w prints), then the first restart is
    # immediate and the second crash waits in CrashLoopBackOff.
    assert seen == [("Running", 0), ("Error", 0), ("Running", 1), ("Error", 1), ("CrashLoopBackOff", 1)], seen


def test_the_echo_of_a_workers_own_write_is_recognised() -> None:
    held = {"metadata": {"uid": "u", "resourceVersion": "7"}}
    assert _same_version(held, {"metadata": {"uid": "u", "resourceVersion": "7"}})
    assert not _same_version(held, {"metadata": {"uid": "u", "resourceVersion": "8"}})
    assert not _same_version(held, {"metadata": {"uid": "v", "resourceVersion": "7"}})
    assert not _same_version(None, {"metadata": {"uid": "u", "resourceVersion": "7"}})
    assert not _same_version({"metadata": {"uid": "u"}}, {"metadata": {"uid": "u"}})


class RecordingWorker:
    def __init__(self, pod: dict[str, Any]) -> None:
        self.pod: dict[str, Any] | None = pod
        self.last_pod: dict[str, Any] | None = pod
        self.woken_with: list[dict[str, Any] | None] = []

    def set_pod(self, pod: dict[str, Any] | None, *, wake: bool = True) -> None:
        self.pod = pod
        if pod is not None:
            self.last_pod = pod
        if wake:
            self.woken_with.append(pod)


def test_the_kubelet_hands_over_the_echo_without_waking_the_worker(tmp_path: Path) -> None:
    kubelet = Kubelet(StubClient(crashing_pod()), FakeRuntime(), NodeSettings("node-1", fake=True),  # type: ignore[arg-type]
                      KubeletSettings(), tmp_path, run_node_agent=False)
    kubelet._adopted = True
    kubelet._tg = object()  # type: ignore[assignment]
    own = crashing_pod()  # what the worker's own status write returned
    worker = RecordingWorker(own)
    kubelet.workers[UID] = worker  # type: ignore[assignment]
    echo = copy.deepcopy(own)
    kubelet._on_pod("MODIFIED", own, echo)
    assert worker.pod is echo and worker.last_pod is echo  # one copy of the pod kept: the informer's
    assert worker.woken_with == []
    newer = copy.deepcopy(own)
    newer["metadata"]["resourceVersion"] = "2"
    kubelet._on_pod("MODIFIED", echo, newer)
    assert worker.woken_with == [newer]
