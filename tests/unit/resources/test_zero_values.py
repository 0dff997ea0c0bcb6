"""The status fields the apiserver always writes (json tags without omitempty in k8s.io/api types.go)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.resources.zero_values import fill_status_zero_values, status_zero_values


@pytest.mark.parametrize(("definition", "expected"), [
    # DaemonSetStatus: the four counters tagged `json:"currentNumberScheduled"` etc.
    ("io.k8s.api.apps.v1.DaemonSet",
     {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
    ("io.k8s.api.apps.v1.ReplicaSet", {"replicas": 0}),
    # replicas is required; availableReplicas is optional but has no omitempty either
    ("io.k8s.api.apps.v1.StatefulSet", {"replicas": 0, "availableReplicas": 0}),
    ("io.k8s.api.apps.v1.Deployment", {}),  # every DeploymentStatus field is omitempty
    ("io.k8s.api.batch.v1.Job", {}),
    ("io.k8s.api.batch.v1.CronJob", {}),
    ("io.k8s.api.networking.v1.Ingress", {"loadBalancer": {}}),  # a struct: omitempty never omits it
    ("io.k8s.api.core.v1.Service", {"loadBalancer": {}}),
    ("io.k8s.api.core.v1.Pod", {}),
    ("io.k8s.api.core.v1.ConfigMap", {}),  # no status at all
    ("io.k8s.api.core.v1.NoSuchKind", {}),
])
def test_status_zero_values(definition: str, expected: dict[str, Any]) -> None:
    assert status_zero_values(definition) == expected


def test_fill_keeps_what_is_set_and_copies_the_zeros() -> None:
    first: dict[str, Any] = {"status": {"replicas": 3, "availableReplicas": None}}
    fill_status_zero_values(first, "io.k8s.api.apps.v1.StatefulSet")
    assert first["status"] == {"replicas": 3, "availableReplicas": 0}
    a: dict[str, Any] = {}
    b: dict[str, Any] = {"status": None}
    fill_status_zero_values(a, "io.k8s.api.networking.v1.Ingress")
    fill_status_zero_values(b, "io.k8s.api.networking.v1.Ingress")
    a["status"]["loadBalancer"]["ingress"] = [{"ip": "10.0.0.1"}]
    assert b == {"status": {"loadBalancer": {}}}
    untouched: dict[str, Any] = {"spec": {}}
    fill_status_zero_values(untouched, "io.k8s.api.apps.v1.Deployment")
    assert untouched == {"spec": {}}
