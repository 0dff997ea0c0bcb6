"""The pod worker's ServiceAccount token volume: the token asked for the pod, written beside ca.crt
and namespace, asked again after 80% of its life, and there again when a pod adopted after a restart
starts a container."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.volumes import pod_dir
from boxk8s.kubelet.worker import PodWorker
from boxk8s.resources.meta import format_timestamp
from boxk8s.resources.serviceaccount_volume import MOUNT_PATH, token_volume_source
from tests.unit.kubelet.stubs import UID, StubClient
from tests.unit.kubelet.test_worker import EventLog, RecordingRuntime, worker_context

Obj = dict[str, Any]
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = START

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


class TokenClient(StubClient):
    """The pod, its namespace's kube-root-ca.crt, and a TokenRequest endpoint numbering its tokens."""

    def __init__(self, pod: Obj, clock: Clock) -> None:
        super().__init__(pod)
        self.clock = clock
        self.requests: list[tuple[str, str, Obj]] = []

    async def get(self, kind: Any, namespace: str | None, name: str) -> Obj:
        if getattr(kind, "plural", "") == "configmaps":
            return {"metadata": {"name": name, "namespace": namespace}, "data": {"ca.crt": "CA"}}
        return copy.deepcopy(self.pod)

    async def create_token(self, namespace: str, name: str, request: Obj) -> Obj:
        self.requests.append((namespace, name, request))
        expires = self.clock.now() + request["spec"]["expirationSeconds"]
        return {**request, "status": {"token": f"token-{len(self.requests)}",
                                      "expirationTimestamp": format_timestamp(expires)}}


def pod() -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "team", "uid": UID, "resourceVersion": "1"},
            "spec": {"nodeName": "node-1", "restartPolicy": "Always", "serviceAccountName": "reader",
                     "volumes": [{"name": "kube-api-access-abcde", "projected": token_volume_source()}],
                     "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "1000"],
                                     "volumeMounts": [{"name": "kube-api-access-abcde", "readOnly": True,
                                                       "mountPath": MOUNT_PATH}]}]},
            "status": {"phase": "Pending"}}


async def runs(worker: PodWorker) -> None:
    async with asyncio.timeout(5):
        while not any(c.name == "app" and c.status == "running" for c in worker.containers.values()):
            await worker.sync()
            await asyncio.sleep(0)


async def test_the_token_is_written_refreshed_and_mounted_again_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    client = TokenClient(pod(), clock)
    runtime = RecordingRuntime(RuntimeSettings(cluster="test", node="node-1", state_dir=tmp_path), now=clock.now)
    await runtime.start()
    ctx = replace(worker_context(client, runtime, tmp_path, EventLog()), clock=clock)  # type: ignore[arg-type]
    worker = PodWorker(ctx, UID, pod())
    await runs(worker)
    files = pod_dir(tmp_path, UID) / "volumes" / "kube-api-access-abcde"
    assert {f.name: f.read_text() for f in files.iterdir()} == {"token": "token-1", "ca.crt": "CA", "namespace": "team"}
    assert client.requests == [("team", "reader", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": None, "expirationSeconds": 3607,
                 "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": UID}}})]
    [config] = runtime.container_configs
    assert any(m.target == MOUNT_PATH and m.source == str(files.resolve()) and m.read_only for m in config.mounts)

    due = START + 3607 - 0.2 * 3607  # 80% of its life
    clock.t = due - 1
    wake = await worker.sync()
    assert wake is not None and wake <= due  # the worker wakes up for it
    assert (files / "token").read_text() == "token-1"  # not yet due
    clock.t = due + 1
    await worker.sync()
    assert (files / "token").read_text() == "token-2"

    # boxk8s restarts: a new worker adopts the sandbox; the app container has to start again.
    [app] = [c for c in await runtime.list_containers() if c.name == "app"]
    await runtime.stop_container(app.id, 0)
    adopted = PodWorker(ctx, UID, client.pod, containers=await runtime.list_containers())
    adopted.absorb(await runtime.list_sandboxes(), [])
    await runs(adopted)
    assert (files / "token").read_text() == "token-3"  # asked again at once: the new worker knew no token
    again = runtime.container_configs[-1]
    assert any(m.target == MOUNT_PATH for m in again.mounts)
    assert len(runtime.sandbox_configs) == 1
