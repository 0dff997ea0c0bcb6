"""Docker faults under a kubelet on the real Docker runtime: the daemon unreachable and back,
containers and sandboxes removed or stopped behind the kubelet's back.

The kubelet reaches Docker through a socket proxy this test cuts and heals (docker_proxy.py);
the machine's daemon is never touched. Its resync is an hour, so every recovery here comes from
Docker's event stream (or the runtime health check), not from a periodic listing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.podstreams import LogOptions
from boxk8s.cluster import bootstrap
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.base import (
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_POD_UID,
    SANDBOX_NAME,
    RuntimeSettings,
)
from boxk8s.kubelet.runtime.docker import DockerRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.streams import KubeletStreams
from boxk8s.resources.layer import Resources
from boxk8s.store import Store, StoreSettings
from tests.e2e.docker_cleanup import cluster_objects, free_subnet, remove_cluster_objects
from tests.integration.docker_proxy import DockerProxy
from tests.integration.test_kubelet_dns import docker_available
from tests.integration.waiting import wait_for_condition

NODE = "node-1"
IMAGE = "boxk8s-busybox:latest"
DEADLINE = 30.0
TRAP = "trap 'exit 0' TERM; while true; do sleep 0.2; done"  # ends at once on SIGTERM (sh as PID 1 ignores it)
SETTINGS = KubeletSettings(status_resync_seconds=3600.0, runtime_check_seconds=0.2, runtime_down_seconds=1.0,
                           crashloop_base_seconds=1.0)

pytestmark = pytest.mark.skipif(not docker_available(), reason=f"needs Docker and {IMAGE} (scripts/build_images.sh)")


def pod(name: str, containers: int = 1, policy: str = "Always", command: str = "sleep 3600",
        **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 0, "restartPolicy": policy,
                     "containers": [{"name": f"c{i}", "image": IMAGE, "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", command], **extra} for i in range(containers)]}}


class Node:
    def __init__(self, client: Client, runtime: DockerRuntime, proxy: DockerProxy, cluster: str) -> None:
        self.client, self.runtime, self.proxy, self.cluster = client, runtime, proxy, cluster
        self.kubelet: Kubelet | None = None

    async def running(self, name: str, ready: bool = True) -> dict[str, Any]:
        """The pod once it runs with every container running (and ready)."""
        async def check() -> dict[str, Any]:
            p = await self.client.get(Kind.POD, "default", name)
            statuses = p["status"]["containerStatuses"]
            assert p["status"]["phase"] == "Running", p["status"]
            assert all("running" in s["state"] and (s["ready"] or not ready) for s in statuses), statuses
            return p
        return await wait_for_condition(check, DEADLINE)  # type: ignore[no-any-return]

    async def events(self, reason: str, kind: str = "Pod", name: str = "") -> list[dict[str, Any]]:
        return [e for e in await self.client.list(Kind.EVENT, "default")
                if e["reason"] == reason and e["involvedObject"]["kind"] == kind
                and (not name or e["involvedObject"]["name"] == name)]

    def docker_containers(self, uid: str) -> dict[str, list[str]]:
        """This pod's containers in Docker (read straight from the daemon), ids by container name."""
        out = subprocess.run(["docker", "ps", "-a", "--no-trunc", "--format", "{{json .}}",
                              "--filter", f"label={LABEL_CLUSTER}={self.cluster}",
                              "--filter", f"label={LABEL_POD_UID}={uid}"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        found: dict[str, list[str]] = {}
        for line in out.splitlines():
            entry = json.loads(line)
            labels = dict(kv.split("=", 1) for kv in entry["Labels"].split(",") if "=" in kv)
            found.setdefault(labels.get(LABEL_CONTAINER_NAME, ""), []).append(entry["ID"])
        return found


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def ids(p: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["containerID"].removeprefix("docker://") for s in p["status"]["containerStatuses"]}


def restarts(p: dict[str, Any]) -> dict[str, int]:
    return {s["name"]: s["restartCount"] for s in p["status"]["containerStatuses"]}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    cluster = f"dockerfault-{uuid.uuid4().hex[:6]}"
    sock_dir = Path(tempfile.mkdtemp(prefix="dockerfault-", dir="/tmp"))  # a unix socket path must be short
    proxy = DockerProxy(sock_dir / "docker.sock")
    await proxy.start()
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db"))
    resources = Resources(store)
    await bootstrap(resources)
    runtime = DockerRuntime(RuntimeSettings(cluster=cluster, node=NODE, pod_subnet=free_subnet(),
                                            state_dir=tmp_path / "state", docker_host=proxy.url), pull_timeout=30)
    n = Node(Client(resources, "kubelet"), runtime, proxy, cluster)
    task: asyncio.Task[None] | None = None
    try:
        await runtime.start()
        n.kubelet = Kubelet(n.client, runtime, NodeSettings(NODE), SETTINGS, tmp_path / "state")
        task = asyncio.create_task(n.kubelet.run(), name="kubelet")
        async with asyncio.timeout(DEADLINE):
            await n.kubelet.ready.wait()
        yield n
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runtime.close()
        await proxy.close()
        await store.close()
        remove_cluster_objects(cluster)
        sock_dir.rmdir()  # the proxy removed its socket
    assert cluster_objects(cluster) == {"containers": [], "networks": [], "volumes": []}


def node_ready(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def test_docker_unreachable_makes_the_node_not_ready_and_pods_keep_their_status(node: Node) -> None:
    await node.client.create(Kind.POD, "default", pod("steady", containers=2))
    # An exec liveness probe cannot run while Docker is away: that must not count as a failure.
    await node.client.create(Kind.POD, "default", pod("probed", livenessProbe={
        "exec": {"command": ["true"]}, "periodSeconds": 1, "failureThreshold": 1}))
    await node.client.create(Kind.POD, "default", pod("stopped-meanwhile"))
    before = {name: await node.running(name) for name in ("steady", "probed")}
    stopped = await node.running("stopped-meanwhile")
    await wait_for_condition(lambda: node.events("NodeReady", "Node"), DEADLINE)

    await node.proxy.cut()
    down = await wait_for_condition(
        lambda: _node_with_ready(node.client, "False"), DEADLINE)
    ready = node_ready(down)
    assert (ready["reason"], ready["message"]) == ("KubeletNotReady", "container runtime is down")
    assert await wait_for_condition(lambda: node.events("NodeNotReady", "Node"), DEADLINE)
    # A container that ends while the kubelet cannot see Docker (stopped with the daemon's own CLI).
    docker("stop", "-t", "0", ids(stopped)["c0"])
    for name, p in {**before, "stopped-meanwhile": stopped}.items():  # nothing written while it is down
        now = await node.client.get(Kind.POD, "default", name)
        assert now["status"] == p["status"], name
    assert node.kubelet is not None and node.kubelet.runtime_error
    # Logs and exec say why they cannot be served, at once (the API turns this into a Status).
    streams = KubeletStreams({NODE: node.kubelet})
    with pytest.raises(errors.InternalError, match='node "node-1": container runtime is down'):
        await anext(streams.logs(before["steady"], LogOptions(container="c0")))
    with pytest.raises(errors.InternalError, match='node "node-1": container runtime is down'):
        await streams.exec(before["steady"], "c0", ["true"], stdin=False, tty=False)

    synced = {uid: w.syncs for uid, w in node.kubelet.workers.items()}
    node.proxy.heal()
    back = await wait_for_condition(lambda: _node_with_ready(node.client, "True"), DEADLINE)
    assert node_ready(back)["reason"] == "KubeletReady"

    async def ready_again() -> bool:  # at start, and now
        return sum(e["count"] for e in await node.events("NodeReady", "Node")) >= 2
    await wait_for_condition(ready_again, DEADLINE)
    # Every worker synced after the outage (woken at once: the resync is an hour away) ...
    await wait_for_condition(lambda: _all_synced_since(node, synced), DEADLINE)
    for name, p in before.items():  # ... and found the same containers: adopted, not recreated
        now = await node.running(name)
        assert ids(now) == ids(p) and restarts(now) == restarts(p) == {s: 0 for s in ids(p)}, name
        found = node.docker_containers(p["metadata"]["uid"])
        assert {k: v for k, v in found.items() if k != SANDBOX_NAME} == {k: [v] for k, v in ids(p).items()}

    async def restarted() -> dict[str, Any]:  # what ended meanwhile is restarted, once
        now = await node.running("stopped-meanwhile")
        assert restarts(now) == {"c0": 1}, now["status"]
        return now
    now = await wait_for_condition(restarted, DEADLINE)
    assert now["status"]["containerStatuses"][0]["lastState"]["terminated"]["containerID"] == \
        f"docker://{ids(stopped)['c0']}"
    # Docker's event stream was resumed: a container removed now is replaced at once (no resync for an hour).
    docker("rm", "-f", ids(before["steady"])["c0"])

    async def replaced() -> dict[str, Any]:
        now = await node.running("steady")
        assert restarts(now) == {"c0": 1, "c1": 0}, now["status"]
        return now
    await wait_for_condition(replaced, DEADLINE)


async def _node_with_ready(client: Client, status: str) -> dict[str, Any] | None:
    n = await client.get(Kind.NODE, None, NODE)
    return n if node_ready(n)["status"] == status else None


async def _all_synced_since(node: Node, before: dict[str, int]) -> bool:
    assert node.kubelet is not None
    return all(node.kubelet.workers[uid].syncs > n for uid, n in before.items() if uid in node.kubelet.workers)


@pytest.mark.parametrize("containers", [2, 1], ids=["in-a-sandbox", "solo"])
async def test_a_container_removed_behind_the_kubelets_back_is_replaced_and_counted(node: Node,
                                                                                    containers: int) -> None:
    await node.client.create(Kind.POD, "default", pod("victim", containers=containers))
    p = await node.running("victim")
    old = ids(p)["c0"]
    docker("rm", "-f", old)

    async def replaced() -> dict[str, Any]:
        now = await node.running("victim")
        assert ids(now)["c0"] != old and restarts(now)["c0"] == 1, now["status"]
        return now
    now = await wait_for_condition(replaced, DEADLINE)
    c0 = next(s for s in now["status"]["containerStatuses"] if s["name"] == "c0")
    assert c0["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert c0["lastState"]["terminated"]["exitCode"] == 137
    if containers == 2:  # the other container was left alone
        assert ids(now)["c1"] == ids(p)["c1"] and restarts(now)["c1"] == 0
    found = node.docker_containers(p["metadata"]["uid"])
    assert found["c0"] == [ids(now)["c0"]]  # one container for it, never two
    started = [e for e in await node.events("Started", name="victim")
               if e["involvedObject"].get("fieldPath") == "spec.containers{c0}"]
    assert sum(e["count"] for e in started) == 2


async def test_a_stopped_container_restarts_per_its_restart_policy(node: Node) -> None:
    # `sh` as PID 1 ignores SIGTERM: Docker kills it after the timeout (137).
    await node.client.create(Kind.POD, "default", pod("always"))
    # Ends cleanly on SIGTERM: a Never pod that was stopped has Succeeded.
    await node.client.create(Kind.POD, "default", pod("never", policy="Never", command=TRAP))
    always, never = await node.running("always"), await node.running("never")
    docker("stop", "-t", "1", ids(always)["c0"], ids(never)["c0"])
    code = int(docker("inspect", "-f", "{{.State.ExitCode}}", ids(always)["c0"]).strip())

    async def restarted() -> dict[str, Any]:
        now = await node.running("always")
        assert restarts(now)["c0"] == 1, now["status"]
        return now
    now = await wait_for_condition(restarted, DEADLINE)
    c0 = now["status"]["containerStatuses"][0]
    assert c0["lastState"]["terminated"]["exitCode"] == code == 137
    assert c0["lastState"]["terminated"]["containerID"] == f"docker://{ids(always)['c0']}"
    assert ids(now)["c0"] != ids(always)["c0"]

    async def succeeded() -> dict[str, Any]:
        p = await node.client.get(Kind.POD, "default", "never")
        assert p["status"]["phase"] == "Succeeded", p["status"]
        return p
    done = await wait_for_condition(succeeded, DEADLINE)
    st = done["status"]["containerStatuses"][0]
    assert st["restartCount"] == 0 and st["state"]["terminated"]["exitCode"] == 0
    assert node.docker_containers(done["metadata"]["uid"])["c0"] == [ids(never)["c0"]]  # not restarted


async def test_a_removed_sandbox_is_announced_and_the_pod_runs_again(node: Node) -> None:
    await node.client.create(Kind.POD, "default", pod("boxed", containers=2, command=TRAP))
    p = await node.running("boxed")
    uid = p["metadata"]["uid"]
    [sandbox] = node.docker_containers(uid)[SANDBOX_NAME]
    docker("rm", "-f", sandbox)

    changed = await wait_for_condition(lambda: node.events("SandboxChanged", name="boxed"), DEADLINE)
    assert changed[0]["message"] == "Pod sandbox changed, it will be killed and re-created."

    async def again() -> dict[str, Any]:
        now = await node.running("boxed")
        assert restarts(now) == {"c0": 1, "c1": 1}, now["status"]
        return now
    now = await wait_for_condition(again, DEADLINE)
    found = node.docker_containers(uid)
    assert len(found[SANDBOX_NAME]) == 1 and found[SANDBOX_NAME] != [sandbox]
    assert set(ids(now).values()).isdisjoint(ids(p).values())
