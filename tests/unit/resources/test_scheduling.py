"""The shared pod-to-node matchers (k8s.io/component-helpers/scheduling/corev1)."""

from __future__ import annotations

import pytest

from boxk8s.resources.scheduling import tolerates

T = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(("toleration", "taint", "expected"), [
    ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, T, True),
    ({"key": "dedicated", "value": "gpu"}, T, True),  # empty operator means Equal, empty effect any
    ({"key": "dedicated", "operator": "Equal", "value": "cpu"}, T, False),
    ({"key": "dedicated", "operator": "Exists"}, T, True),
    ({"key": "other", "operator": "Exists"}, T, False),
    ({"operator": "Exists"}, T, True),  # empty key with Exists tolerates everything
    ({"operator": "Exists", "effect": "NoExecute"}, T, False),  # ...but the effect must match
    ({"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}, T, True),
    ({"key": "dedicated", "operator": "Exists", "effect": "PreferNoSchedule"}, T, False),
    ({"key": "k", "operator": "Equal", "value": ""}, {"key": "k", "effect": "NoSchedule"}, True),
    ({"key": "k", "operator": "Bogus"}, {"key": "k", "effect": "NoSchedule"}, False),
])
def test_tolerates(toleration: dict[str, str], taint: dict[str, str], expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


def test_node_lifecycle_uses_the_same_rule() -> None:
    """An empty key with the Equal operator compares values, as ToleratesTaint does (one rule for all)."""
    assert tolerates({"operator": "Equal", "value": ""}, {"key": "k", "effect": "NoExecute"}) is True
