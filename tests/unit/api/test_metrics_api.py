"""metrics.k8s.io objects as metrics-server writes them: Quantities, durations, tables."""

from __future__ import annotations

import pytest

from boxk8s.api.metrics import go_duration, metrics_table, node_metrics, pod_metrics
from boxk8s.client.metrics import ContainerUsage, NodeUsage, PodUsage
from boxk8s.resources.quantity import canonical_binary, canonical_decimal


@pytest.mark.parametrize("mantissa, exponent, expected", [
    (0, -9, "0"), (1234567, -9, "1234567n"), (1_000_000, -9, "1m"), (1_500_000_000, -9, "1500m"),
    (2_000_000_000, -9, "2"), (1500, -3, "1500m"), (2000, -3, "2"), (5_000_000, 0, "5M"),
    (104857600000, -3, "104857600"), (123, -10, "13n"), (1000, 0, "1k"), (10, -9, "10n"),
])
def test_canonical_decimal(mantissa: int, exponent: int, expected: str) -> None:
    assert canonical_decimal(mantissa, exponent) == expected


@pytest.mark.parametrize("n, expected", [
    (0, "0"), (1000, "1k"), (1023, "1023"), (1024, "1Ki"), (5812224, "5676Ki"), (5812225, "5812225"),
    (64 * 2**20, "64Mi"), (3 * 2**30, "3Gi"),
])
def test_canonical_binary(n: int, expected: str) -> None:
    assert canonical_binary(n) == expected


@pytest.mark.parametrize("seconds, expected", [
    (15.0, "15s"), (10.0123, "10.012s"), (0.5, "500ms"), (60.5, "1m0.5s"), (3600.0, "1h0m0s"), (0.0, "0s"),
])
def test_go_duration(seconds: float, expected: str) -> None:
    assert go_duration(seconds) == expected


POD = {"metadata": {"name": "web-1", "namespace": "default", "uid": "u", "labels": {"app": "web"},
                    "resourceVersion": "7"}}


def test_pod_metrics_object() -> None:
    usage = PodUsage(1796317760.0, 15.012, (ContainerUsage("app", 1234567, 5812224),))
    assert pod_metrics(POD, usage, 1796317761.0) == {
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": "2026-12-03T17:09:21Z",
                     "labels": {"app": "web"}},
        "timestamp": "2026-12-03T17:09:20Z", "window": "15.012s",
        "containers": [{"name": "app", "usage": {"cpu": "1234567n", "memory": "5676Ki"}}],
    }


def test_node_metrics_object_and_table() -> None:
    node = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}
    item = node_metrics(node, NodeUsage(1796317760.0, 10.0, 250_000_000, 2**30), 1796317761.0)
    assert item["usage"] == {"cpu": "250m", "memory": "1Gi"} and "namespace" not in item["metadata"]
    table = metrics_table([item])
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert table["rows"][0]["cells"] == ["n1", "250m", "1Gi", "10s"]
    pod = pod_metrics(POD, PodUsage(0, 5, (ContainerUsage("a", 1_000_000, 1024), ContainerUsage("b", 500_000, 1024))), 0)
    assert metrics_table([pod])["rows"][0]["cells"] == ["web-1", "1500u", "2Ki", "5s"]
