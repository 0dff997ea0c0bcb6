"""The kubelet's pod handler: the echo of a worker's own status write does not wake it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from boxk8s.kubelet.agent import Kubelet, _same_version
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from tests.unit.kubelet.stubs import UID, StubClient, crashing_pod


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


def test_every_worker_shares_the_kubelets_context(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    kubelet = Kubelet(StubClient(crashing_pod()), runtime, NodeSettings("node-1", cpu_millis=1500, fake=True),  # type: ignore[arg-type]
                      KubeletSettings(), tmp_path, address="10.0.0.7", run_node_agent=False)
    ctx = kubelet.worker_context
    assert (ctx.runtime, ctx.host_ip, ctx.cluster, ctx.state_dir) == (runtime, "10.0.0.7", "boxk8s", tmp_path)
    assert ctx.node_allocatable == {"cpu": "1500m", "memory": str(4 * 1024**3)}
    assert ctx.emit == kubelet.event
