from boxk8s.scheduler.nodeinfo import (
    DEFAULT_MEMORY_REQUEST,
    NodeInfo,
    pod_non_zero_requests,
    pod_requests,
)

from .helpers import node, pod


def test_requests_sum_containers() -> None:
    p = pod(spec={"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
        {"name": "b", "resources": {"requests": {"cpu": "0.5", "memory": "1Gi"}}},
    ]})
    assert pod_requests(p) == {"cpu": 600, "memory": 64 * 2**20 + 2**30}


def test_init_containers_take_the_max() -> None:
    p = pod(spec={
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "10Mi"}}}],
    })
    assert pod_requests(p) == {"cpu": 2000, "memory": 2**30}


def test_sidecars_add_to_the_app_containers_and_to_later_init_containers() -> None:
    p = pod(spec={
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [
            {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
            {"name": "init", "resources": {"requests": {"cpu": "1"}}},
        ],
    })
    # steady state 100m + 200m = 300m; the init container runs beside the sidecar: 1000m + 200m.
    assert pod_requests(p)["cpu"] == 1200


def test_overhead_and_limits_default_the_requests() -> None:
    p = pod(spec={
        "containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
        "overhead": {"cpu": "250m"},
    })
    assert pod_requests(p) == {"cpu": 1250, "memory": 2**30}


def test_non_zero_requests_for_best_effort_pods() -> None:
    assert pod_non_zero_requests(pod()) == (100, DEFAULT_MEMORY_REQUEST)
    assert pod_non_zero_requests(pod(cpu="1")) == (1000, DEFAULT_MEMORY_REQUEST)


def test_node_info_ignores_terminal_pods() -> None:
    done = pod("done", cpu="1", node_name="n1")
    done["status"]["phase"] = "Succeeded"
    i = NodeInfo.from_pods(node("n1"), [pod("a", cpu="500m", node_name="n1"), done])
    assert i.requested["cpu"] == 500 and i.pod_count == 1
    assert i.allocatable == {"cpu": 2000, "memory": 4 * 2**30, "pods": 110}


def test_adding_a_pod_is_building_with_it() -> None:
    from boxk8s.scheduler.nodeinfo import PodUsage

    n = node("n1")
    a, b = PodUsage.of(pod("a", cpu="100m", extra={"nvidia.com/gpu": "1"})), PodUsage.of(pod("b", memory="1Gi"))
    assert NodeInfo.build(n, [a]).adding(b) == NodeInfo.build(n, [a, b])
    assert NodeInfo.build(n).adding(a) == NodeInfo.build(n, [a])
