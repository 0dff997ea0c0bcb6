from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from boxk8s.controllers.resourcequota import needs_sync, usage_changed
from boxk8s.resources.quota_evaluators import PodEvaluator, evaluator_for

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def quota(spec_hard: dict[str, str], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "q"}, "spec": {"hard": spec_hard}, "status": status or {}}


MEASURED = {"hard": {"pods": "2"}, "used": {"pods": "0"}}


@pytest.mark.parametrize(("old", "new", "sync"), [
    (None, quota({"pods": "2"}, MEASURED), True),  # added
    (quota({"pods": "2"}, MEASURED), quota({"pods": "2"}, {**MEASURED, "used": {"pods": "1"}}), False),  # a charge
    (quota({"pods": "2"}, MEASURED), quota({"pods": "3"}, MEASURED), True),  # spec.hard changed
    (quota({"pods": "2"}), quota({"pods": "2"}, {"hard": {"pods": "2"}}), True),  # usage not measured yet
    (quota({"pods": "2"}, MEASURED), quota({"pods": "2000m"}, MEASURED), False),  # same value
])
def test_needs_sync(old: dict[str, Any] | None, new: dict[str, Any], sync: bool) -> None:
    assert needs_sync(old, new) is sync


def pod(phase: str = "Running", cpu: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": phase}}


@pytest.mark.parametrize(("old", "new", "changed"), [
    (pod(), None, True),  # deleted
    (None, pod(), False),  # created: admission charged it
    (pod("Pending"), pod("Running"), False),
    (pod("Running"), pod("Succeeded"), True),  # finished: gives its compute back
])
def test_pod_replenishment(old: dict[str, Any] | None, new: dict[str, Any] | None, changed: bool) -> None:
    assert usage_changed(PodEvaluator(), old, new, NOW) is changed


def test_service_type_change_replenishes() -> None:
    services = evaluator_for("", "services")
    assert services is not None
    cluster_ip = {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}
    node_port = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    assert usage_changed(services, node_port, cluster_ip, NOW)
    assert not usage_changed(services, cluster_ip, cluster_ip, NOW)
