"""From cumulative samples to usage (metrics-server's storage), and what the runtimes report."""

from __future__ import annotations

import asyncio

import pytest

from boxk8s.client.metrics import ContainerUsage, NodeUsage, PodUsage
from boxk8s.kubelet.fake_usage import PodAnnotationUsage, container_usage, parse_usage
from boxk8s.kubelet.metrics_plan import container_usage as usage_between
from boxk8s.kubelet.metrics_plan import store_batch
from boxk8s.kubelet.runtime import ContainerConfig, ContainerStats, RuntimeSettings, SandboxConfig
from boxk8s.kubelet.runtime.docker_specs import container_stats, is_app_container, working_set
from boxk8s.kubelet.runtime.fake import FakeRuntime


def point(cid: str, ts: float, cpu_ns: int, memory: int = 1024, pod: str = "uid-a", name: str = "app") -> ContainerStats:
    return ContainerStats(cid, pod, "default", f"pod-{pod}", name, ts, cpu_ns, memory)


def test_a_rate_needs_two_samples() -> None:
    first = store_batch(None, [point("c1", 100.0, 5_000_000_000)], 100.0)
    assert first.pods == {} and first.node is None
    second = store_batch(first, [point("c1", 110.0, 7_500_000_000, 4096)], 110.0)
    # 2.5 s of CPU over 10 s: a quarter of a core
    assert second.pods == {"uid-a": PodUsage(110.0, 10.0, (ContainerUsage("app", 250_000_000, 4096),))}
    assert second.node == NodeUsage(110.0, 10.0, 250_000_000, 4096)


def test_pod_needs_every_container_twice_and_takes_the_earliest_window() -> None:
    s = store_batch(None, [point("c1", 100.0, 0, name="a")], 100.0)
    s = store_batch(s, [point("c1", 110.0, 1_000_000_000, name="a"), point("c2", 110.0, 0, name="b")], 110.0)
    assert s.pods == {}  # b was sampled once: allContainersPresent is false
    s = store_batch(s, [point("c1", 121.0, 2_100_000_000, name="a"), point("c2", 120.0, 500_000_000, name="b")], 121.0)
    usage = s.pods["uid-a"]
    assert (usage.timestamp, usage.window) == (120.0, 10.0)
    assert [(c.name, c.cpu_nanocores) for c in usage.containers] == [("a", 100_000_000), ("b", 50_000_000)]


def test_restarted_container_starts_over_and_a_decrease_is_skipped() -> None:
    s = store_batch(None, [point("old", 100.0, 9_000_000_000)], 100.0)
    s = store_batch(s, [point("new", 110.0, 1_000_000)], 110.0)  # a new id: no prev yet
    assert s.pods == {}
    assert usage_between(point("c", 110.0, 5), point("c", 100.0, 10)) is None  # counter went down
    assert usage_between(point("c", 100.0, 10), point("c", 100.0, 5)) is None  # no time passed


def test_same_timestamp_keeps_the_previous_point() -> None:
    s = store_batch(None, [point("c1", 100.0, 0)], 100.0)
    s = store_batch(s, [point("c1", 110.0, 1_000_000_000)], 110.0)
    s = store_batch(s, [point("c1", 110.0, 1_000_000_000)], 112.0)  # the runtime's stats did not move on
    assert s.pods["uid-a"].containers[0].cpu_nanocores == 100_000_000


@pytest.mark.parametrize("text, expected", [
    ("cpu=250m,memory=64Mi", {"cpu": "250m", "memory": "64Mi"}),
    (" cpu = 1 ", {"cpu": "1"}),
    ("bogus,disk=1,cpu=", {}),
])
def test_parse_usage(text: str, expected: dict[str, str]) -> None:
    assert parse_usage(text) == expected


def fake_pod(annotations: dict[str, str] | None = None, requests: dict[str, str] | None = None) -> dict:
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1", "annotations": annotations or {}},
            "spec": {"containers": [{"name": "app", "resources": {"requests": requests or {}}},
                                    {"name": "side"}]}}


@pytest.mark.parametrize("annotations, requests, container, expected", [
    ({}, {"cpu": "20m", "memory": "32Mi"}, "app", (20_000_000, 32 * 2**20)),  # the requests
    ({}, {}, "app", (0, 0)),
    ({"boxk8s.io/fake-usage": "cpu=500m"}, {"cpu": "20m", "memory": "1Mi"}, "app", (500_000_000, 2**20)),
    ({"boxk8s.io/fake-usage": "cpu=500m", "fake-usage.boxk8s.io/side": "cpu=1,memory=1Ki"}, {}, "side",
     (1_000_000_000, 1024)),
    ({"boxk8s.io/fake-usage": "cpu=lots"}, {}, "app", (0, 0)),
])
def test_fake_usage(annotations: dict[str, str], requests: dict[str, str], container: str,
                    expected: tuple[int, int]) -> None:
    assert container_usage(fake_pod(annotations, requests), container) == expected


def test_fake_runtime_integrates_the_usage_it_is_given() -> None:
    async def scenario() -> None:
        now = [1000.0]
        pods = {"default/p": fake_pod({"boxk8s.io/fake-usage": "cpu=500m,memory=10Mi"})}
        rt = FakeRuntime(RuntimeSettings(), now=lambda: now[0], usage=PodAnnotationUsage(pods))
        sb = await rt.run_sandbox(SandboxConfig("default", "p", "u1", "p"))
        c = await rt.create_container(sb, ContainerConfig("app", "img", command=("sleep", "1d")))
        await rt.start_container(c.id)
        init = await rt.create_container(sb, ContainerConfig("init", "img", init=True))
        await rt.start_container(init.id)
        now[0] += 10
        [s] = await rt.container_stats()  # the init container is not measured
        assert (s.name, s.cpu_usage_ns, s.memory_working_set, s.timestamp) == ("app", 5_000_000_000, 10 * 2**20, 1010.0)
        rt.set_usage("u1", "app", 100_000_000, 1)
        now[0] += 10
        [s] = await rt.container_stats()
        assert s.cpu_usage_ns == 6_000_000_000 and s.memory_working_set == 1
        await rt.stop_container(c.id, 0)
        assert await rt.container_stats() == []

    asyncio.run(scenario())


def test_docker_stats_parse() -> None:
    entry = {"Id": "abc", "Labels": {"io.kubernetes.pod.uid": "u", "io.kubernetes.pod.namespace": "ns",
                                     "io.kubernetes.pod.name": "p", "io.kubernetes.container.name": "app"}}
    stats = {"read": "2026-12-03T17:09:21.907297187Z",
             "cpu_stats": {"cpu_usage": {"total_usage": 1044581424}},
             "memory_stats": {"usage": 2404352, "stats": {"total_inactive_file": 1601536, "inactive_file": 1601536}}}
    s = container_stats(entry, stats)
    assert s is not None
    assert (s.id, s.pod_uid, s.namespace, s.pod_name, s.name) == ("abc", "u", "ns", "p", "app")
    assert s.cpu_usage_ns == 1044581424 and s.memory_working_set == 2404352 - 1601536
    assert abs(s.timestamp - 1796317761.907297) < 1e-3
    # a container that stopped meanwhile: Docker answers with zeros
    assert container_stats(entry, {"read": "0001-01-01T00:00:00Z", "memory_stats": {}}) is None


@pytest.mark.parametrize("memory, expected", [
    ({"usage": 100, "stats": {"inactive_file": 30}}, 70),  # cgroup v2
    ({"usage": 100, "stats": {"total_inactive_file": 40, "inactive_file": 1}}, 60),  # v1 prefers the total
    ({"usage": 100, "stats": {"inactive_file": 300}}, 100),  # never below zero: the usage as is
    ({"usage": 100}, 100),
])
def test_working_set(memory: dict, expected: int) -> None:
    assert working_set(memory) == expected


def test_only_app_containers_are_measured() -> None:
    assert is_app_container({"io.kubernetes.container.name": "app", "io.boxk8s.init": "false"})
    assert not is_app_container({"io.kubernetes.container.name": "POD"})
    assert not is_app_container({"io.kubernetes.container.name": "init", "io.boxk8s.init": "true"})
    assert not is_app_container({})
