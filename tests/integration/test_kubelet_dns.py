"""The pod's /etc/resolv.conf as the kubelet makes it, on the real Docker runtime.

A kubelet over the real resource layer and store drives Docker (cluster `dnsconf`, pod subnet
10.212.0.0/16); every Docker object it makes carries the cluster label and is removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Client, Kind
from boxk8s.cluster import bootstrap
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.runtime.base import RuntimeSettings
from boxk8s.kubelet.runtime.docker import DockerRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.resources.layer import Resources
from boxk8s.store import Store, StoreSettings
from tests.e2e.docker_cleanup import cluster_objects, remove_cluster_objects
from tests.integration.waiting import wait_for_condition

CLUSTER = "dnsconf"
SUBNET = "10.212.0.0/16"
NODE = "node-1"
IMAGE = "boxk8s-busybox:latest"
CLUSTER_DNS = "10.212.192.10"
DEADLINE = 60.0
CLUSTER_FIRST = (f"search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver {CLUSTER_DNS}\n"
                 "options ndots:5\n")
DNS_CONFIG = {"nameservers": ["192.0.2.1"], "searches": ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
              "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}


def docker_available() -> bool:
    try:
        return subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not docker_available(), reason=f"needs Docker and {IMAGE} (scripts/build_images.sh)")


def pod(name: str, containers: int = 1, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": f"c{i}", "image": IMAGE, "imagePullPolicy": "Never",
                                     "command": ["sleep", "3600"]} for i in range(containers)], **spec}}


class Node:
    def __init__(self, client: Client, runtime: DockerRuntime, settings: KubeletSettings, state_dir: Path) -> None:
        self.client, self.runtime, self.settings, self.state_dir = client, runtime, settings, state_dir
        self.kubelet: Kubelet | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Kubelet:
        self.kubelet = Kubelet(self.client, self.runtime, NodeSettings(NODE), self.settings, self.state_dir)
        self.task = asyncio.create_task(self.kubelet.run(), name="kubelet")
        async with asyncio.timeout(DEADLINE):
            await self.kubelet.ready.wait()
        return self.kubelet

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    remove_cluster_objects(CLUSTER)  # what a killed run may have left
    host_resolv_conf = tmp_path / "resolv.conf"  # the node's file, without search domains: exact expectations
    host_resolv_conf.write_text("nameserver 10.255.255.53\n")
    store = await Store.open_standalone(StoreSettings(path=tmp_path / "db"))
    resources = Resources(store)
    await bootstrap(resources)
    runtime = DockerRuntime(RuntimeSettings(cluster=CLUSTER, node=NODE, pod_subnet=SUBNET,
                                            state_dir=tmp_path / "state"), pull_timeout=30)
    settings = KubeletSettings(status_resync_seconds=1.0, cluster_dns=(CLUSTER_DNS,),
                               resolv_conf=str(host_resolv_conf))
    n = Node(Client(resources, "kubelet"), runtime, settings, tmp_path / "state")
    try:
        await runtime.start()
        await n.start()
        yield n
    finally:
        await n.stop()
        await runtime.close()
        await store.close()
        remove_cluster_objects(CLUSTER)
    assert cluster_objects(CLUSTER) == {"containers": [], "networks": [], "volumes": []}


async def running_ids(client: Client, name: str) -> dict[str, str]:
    """The pod's container ids by name, once it runs with every container ready."""
    p = await client.get(Kind.POD, "default", name)
    statuses = p["status"]["containerStatuses"]
    assert p["status"]["phase"] == "Running" and all(s["ready"] for s in statuses), p["status"]
    return {s["name"]: s["containerID"].removeprefix("docker://") for s in statuses}


async def resolv_conf(runtime: DockerRuntime, container_id: str) -> str:
    code, out = await runtime.exec_probe(container_id, ["cat", "/etc/resolv.conf"], 10.0)
    assert code == 0, out
    return out.decode()


async def test_pods_get_the_resolv_conf_of_their_dns_policy_and_keep_it_across_a_restart(node: Node) -> None:
    client = node.client
    pods = {
        "cluster-first": pod("cluster-first"),  # one container: a solo pod, no sandbox container
        "cluster-first-shared": pod("cluster-first-shared", containers=2,  # a sandbox, joined containers
                                    initContainers=[{"name": "init", "image": IMAGE, "imagePullPolicy": "Never",
                                                     "command": ["sh", "-c", "grep -q 'nameserver "
                                                                 f"{CLUSTER_DNS}' /etc/resolv.conf"]}]),
        "default": pod("default", dnsPolicy="Default"),
        "none": pod("none", dnsPolicy="None", dnsConfig=DNS_CONFIG),
    }
    for body in pods.values():
        await client.create(Kind.POD, "default", body)
    ids: dict[str, dict[str, str]] = {}
    for name in pods:
        ids[name] = await wait_for_condition(lambda name=name: running_ids(client, name), DEADLINE, interval=0.1)

    for name in ("cluster-first", "cluster-first-shared"):
        for cid in ids[name].values():
            assert await resolv_conf(node.runtime, cid) == CLUSTER_FIRST, name
    shared = await client.get(Kind.POD, "default", "cluster-first-shared")
    assert shared["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    default = await resolv_conf(node.runtime, ids["default"]["c0"])
    assert "nameserver 127.0.0.11" in default.splitlines(), default  # Docker's own resolver, as before
    assert await resolv_conf(node.runtime, ids["none"]["c0"]) == (
        "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\noptions ndots:2 edns0\n")
    events = [e for e in await client.list(Kind.EVENT, "default") if e["type"] == "Warning"]
    assert not events, events

    # A restart of the kubelet adopts every container as it is: nothing is made again.
    await node.stop()
    kubelet = await node.start()

    async def synced_again() -> bool:
        return all(w.syncs >= 2 for w in kubelet.workers.values()) and len(kubelet.workers) == len(pods)

    await wait_for_condition(synced_again, DEADLINE, interval=0.1)
    for name in pods:
        assert await running_ids(client, name) == ids[name], name
        restarts = [s["restartCount"] for s in (await client.get(Kind.POD, "default", name))["status"]
                    ["containerStatuses"]]
        assert restarts == [0] * len(restarts), name
