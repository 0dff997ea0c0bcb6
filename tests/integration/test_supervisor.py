"""supervise(): components start in order and stop in reverse, and a failing one stops them all."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.controllers import Controller
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.settings import NodeSettings
from boxk8s.store import Store, StoreSettings

DEADLINE = 10.0


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


class WritesWhileStopping(Controller):
    """Writes one object when it is told to stop: the store must still take it (it stops last)."""

    name = "writes-while-stopping"
    stopped_write: dict[str, Any] | None = None

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            type(self).stopped_write = await self.client.create(Kind.CONFIGMAP, "default", configmap("last-words"))
            raise


class Fails(Controller):
    name = "fails"

    async def run(self) -> None:
        await self.factory.wait_synced()
        raise RuntimeError("controller bug")


def settings(tmp: Path) -> ClusterSettings:
    return ClusterSettings(state_dir=tmp, cluster_name="test-supervisor", stop_timeout=DEADLINE, ingress_port=0)


async def test_components_stop_in_reverse_and_the_store_last(tmp_path: Path) -> None:
    async with asyncio.timeout(DEADLINE):
        async with running(settings(tmp_path), controllers=[WritesWhileStopping], serve_api=False,
                           nodes=[NodeSettings("node-1", fake=True)]) as c:
            runtime = c.runtimes["node-1"]
            assert isinstance(runtime, FakeRuntime) and runtime.started
            assert await c.resources.get(Kind.NAMESPACE, None, "kube-system")  # bootstrapped before anything ran
        assert not runtime.started  # closed on the way out
        # The controller's write during its own stop was committed: the store outlived it.
        assert WritesWhileStopping.stopped_write is not None
        store = await Store.open_standalone(StoreSettings(path=settings(tmp_path).db_path))
        try:
            stored = await store.get(Kind.CONFIGMAP.key("default", "last-words"))
            assert stored["metadata"]["uid"] == WritesWhileStopping.stopped_write["metadata"]["uid"]
        finally:
            await store.close()


async def test_a_failing_component_stops_the_cluster(tmp_path: Path) -> None:
    def fails(client: Client, factory: InformerFactory) -> Controller:
        return Fails(client, factory)

    with pytest.raises(ExceptionGroup) as raised:
        async with asyncio.timeout(DEADLINE):
            async with running(settings(tmp_path), controllers=[fails], serve_api=False,
                               nodes=[NodeSettings("node-1", fake=True)]) as c:
                runtime = c.runtimes["node-1"]
                await asyncio.Event().wait()  # the failure cancels the block
    assert raised.group_contains(RuntimeError, match="controller bug")
    assert not runtime.started
    # Everything was released: the state opens again, with what was written before.
    store = await Store.open_standalone(StoreSettings(path=settings(tmp_path).db_path))
    try:
        assert await store.get(Kind.NAMESPACE.key(None, "default"))
    finally:
        await store.close()
