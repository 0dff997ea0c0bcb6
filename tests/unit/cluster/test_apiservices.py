"""Table tests for the local APIServices plan (the aggregator's autoregistration)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.cluster.apiservices import (
    AUTOMANAGED_LABEL,
    PRIORITIES,
    apiservice_name,
    desired_apiservice,
    plan_apiservices,
)
from boxk8s.resources import registry

Obj = dict[str, Any]


def stored(group: str, version: str, *, label: str | None = "onstart", available: bool = True,
           service: Obj | None = None, **spec: Any) -> Obj:
    obj = desired_apiservice(group, version) or {
        "metadata": {"name": apiservice_name(group, version), "labels": {}},
        "spec": {"group": group, "version": version, "groupPriorityMinimum": 100, "versionPriority": 10}}
    obj["metadata"]["labels"] = {AUTOMANAGED_LABEL: label} if label else {}
    obj["spec"].update(spec)
    if service:
        obj["spec"]["service"] = service
    if available:
        obj["status"] = {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}
    return obj


def test_desired() -> None:
    assert desired_apiservice("", "v1") == {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1.", "labels": {AUTOMANAGED_LABEL: "onstart"}},
        "spec": {"version": "v1", "groupPriorityMinimum": 18000, "versionPriority": 1}}
    assert desired_apiservice("autoscaling", "v2")["spec"] == {  # type: ignore[index]
        "group": "autoscaling", "version": "v2", "groupPriorityMinimum": 17500, "versionPriority": 30}
    # a group-version the table does not know gets none (makeAPIService), as the aggregator's own group
    assert desired_apiservice("example.com", "v1") is None
    assert desired_apiservice("apiregistration.k8s.io", "v1") is None


def test_every_served_group_version_has_one() -> None:
    """Kept true as kinds are added: each group-version boxk8s serves (but the aggregator's) is listed."""
    served = {gv for gv in registry.group_versions() if gv[0] != "apiregistration.k8s.io"}
    assert served <= set(PRIORITIES), served - set(PRIORITIES)
    names = {o["metadata"]["name"] for o in plan_apiservices(registry.group_versions(), []).create}
    assert {"v1.", "v1.apps", "v1.autoscaling", "v2.autoscaling", "v1.rbac.authorization.k8s.io",
            "v1.storage.k8s.io", "v1.scheduling.k8s.io"} <= names
    assert "v1.apiregistration.k8s.io" not in names


@pytest.mark.parametrize(("served", "existing", "create", "update", "delete", "available"), [
    # a fresh cluster: all created and marked Available
    ([("", "v1"), ("apps", "v1")], [], ["v1.", "v1.apps"], [], [], ["v1.", "v1.apps"]),
    # a restart: nothing to do
    ([("", "v1")], [stored("", "v1")], [], [], [], []),
    # ours, no longer served: deleted; someone else's (no label) or a remote one stays
    ([("", "v1")], [stored("", "v1"), stored("batch", "v1"), stored("example.com", "v1", label=None),
                    stored("metrics.k8s.io", "v1beta1", label="true", service={"name": "m", "namespace": "s"})],
     [], [], ["v1.batch"], []),
    # ours with another priority: brought back
    ([("apps", "v1")], [stored("apps", "v1", versionPriority=3)], [], ["v1.apps"], [], []),
    # not yet Available: marked (a local one only)
    ([("apps", "v1")], [stored("apps", "v1", available=False)], [], [], [], ["v1.apps"]),
    # an APIService someone pointed at a Service for a group we serve keeps its spec and status
    ([("apps", "v1")], [stored("apps", "v1", label=None, available=False, service={"name": "x", "namespace": "y"},
                               versionPriority=1)], [], [], [], []),
])
def test_plan(served: list[tuple[str, str]], existing: list[Obj], create: list[str], update: list[str],
              delete: list[str], available: list[str]) -> None:
    plan = plan_apiservices(served, existing)
    assert [o["metadata"]["name"] for o in plan.create] == create
    assert [o["metadata"]["name"] for o in plan.update] == update
    assert plan.delete == delete
    assert plan.mark_available == available
