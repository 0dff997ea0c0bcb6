"""The disruption controller in-process: PDB status over a Deployment on simulated nodes, and evictions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Kind
from boxk8s.controllers.deployment import DeploymentController
from boxk8s.controllers.disruption import DisruptionController
from boxk8s.controllers.replicaset import ReplicaSetController
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.disruption import PDB, is_pod_ready
from boxk8s.resources.eviction import evict
from tests.integration.controllers_harness import Harness, eventually, harness

Obj = dict[str, Any]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [ReplicaSetController, DeploymentController, DisruptionController], nodes=2) as h:
        yield h


def deployment(replicas: int = 3) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}}}


def budget(name: str = "web", **spec: Any) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


async def status_of(env: Harness, name: str = "web") -> Obj:
    return (await env.client.get(PDB, "default", name)).get("status") or {}


def counts(status: Obj) -> tuple[int, int, int, int]:
    return (status.get("expectedPods", -1), status.get("currentHealthy", -1), status.get("desiredHealthy", -1),
            status.get("disruptionsAllowed", -1))


async def ready_pods(env: Harness) -> list[Obj]:
    pods = await env.client.list(Kind.POD, "default")
    return [p for p in pods if is_pod_ready(p) and not p["metadata"].get("deletionTimestamp")]


async def test_min_available_over_a_deployment(env: Harness) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(3))
    await env.client.create(PDB, "default", budget(minAvailable=2))

    async def settled() -> Obj:
        status = await status_of(env)
        assert counts(status) == (3, 3, 2, 1)
        return status
    status = await eventually(settled)
    assert status["observedGeneration"] == 1
    assert [(c["type"], c["status"], c["reason"], c["message"], c["observedGeneration"])
            for c in status["conditions"]] == [("DisruptionAllowed", "True", "SufficientPods", "", 1)]

    # A new spec: a new generation, observed.
    pdb = await env.client.get(PDB, "default", "web")
    pdb["spec"]["minAvailable"] = 3
    await env.client.update(PDB, pdb)

    async def observed() -> bool:
        status = await status_of(env)
        assert status["observedGeneration"] == 2 and counts(status) == (3, 3, 3, 0)
        assert status["conditions"][0]["reason"] == "InsufficientPods"
        return True
    await eventually(observed)


@pytest.mark.parametrize(("spec", "at_3", "at_5"), [
    ({"minAvailable": "50%"}, (3, 3, 2, 1), (5, 5, 3, 2)),  # ceil(1.5), ceil(2.5)
    ({"maxUnavailable": "34%"}, (3, 3, 1, 2), (5, 5, 3, 2)),  # 3 - ceil(1.02), 5 - ceil(1.7)
])
async def test_percentages_use_the_deployments_scale(env: Harness, spec: Obj, at_3: tuple[int, ...],
                                                     at_5: tuple[int, ...]) -> None:
    """One PDB per pod: a pod's events only wake the first PDB that selects it, as upstream."""
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(3))
    await env.client.create(PDB, "default", budget(**spec))
    await eventually(lambda: _counts_are(env, at_3))
    await env.client.patch(Kind.DEPLOYMENT, "default", "web", {"spec": {"replicas": 5}})
    await eventually(lambda: _counts_are(env, at_5))


async def test_pods_without_a_scalable_controller_fail_safe(env: Harness) -> None:
    await env.client.create(Kind.POD, "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent", "labels": {"app": "agent"}, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "u-agent", "controller": True}]},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
    await env.client.create(PDB, "default", {**budget("agent", maxUnavailable=1),
                                             "spec": {"maxUnavailable": 1,
                                                      "selector": {"matchLabels": {"app": "agent"}}}})

    async def failed() -> Obj:
        status = await status_of(env, "agent")
        cond = status["conditions"][0]
        assert (cond["status"], cond["reason"]) == ("False", "SyncFailed")
        return status
    status = await eventually(failed)
    assert status["conditions"][0]["message"] == "daemonsets.apps does not implement the scale subresource"
    assert status["disruptionsAllowed"] == 0

    events = await env.client.list(Kind.EVENT, "default")
    assert any(e["reason"] == "CalculateExpectedPodCountFailed" and e["involvedObject"]["name"] == "agent"
               for e in events)


async def test_an_eviction_spends_the_budget_until_the_replacement_is_ready(env: Harness) -> None:
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(3))
    await env.client.create(PDB, "default", budget(minAvailable=2))
    await eventually(lambda: _counts_are(env, (3, 3, 2, 1)))
    victim, other = (await ready_pods(env))[:2]

    opts = WriteOptions(field_manager="test")
    status = await evict(env.resources, "default", victim["metadata"]["name"],
                         {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": victim["metadata"]["name"]}},
                         False, opts)
    assert status["status"] == "Success"
    with pytest.raises(errors.TooManyRequests):  # the budget is spent until the controller sees a replacement
        await evict(env.resources, "default", other["metadata"]["name"],
                    {"metadata": {"name": other["metadata"]["name"]}}, False, opts)

    async def replaced() -> Obj:
        status = await status_of(env)
        assert counts(status) == (3, 3, 2, 1) and not status.get("disruptedPods")
        return status
    await eventually(replaced)  # the evicted pod went, its replacement turned ready: room again
    names = {p["metadata"]["name"] for p in await ready_pods(env)}
    assert victim["metadata"]["name"] not in names and len(names) == 3
    status = await evict(env.resources, "default", other["metadata"]["name"],
                         {"metadata": {"name": other["metadata"]["name"]}}, False, opts)
    assert status["status"] == "Success"


async def _counts_are(env: Harness, expected: tuple[int, int, int, int]) -> bool:
    assert counts(await status_of(env)) == expected
    return True


async def test_a_pod_matched_by_two_budgets_gets_an_event(env: Harness) -> None:
    await env.client.create(PDB, "default", budget("a", minAvailable=1))
    await env.client.create(PDB, "default", budget("b", minAvailable=1))
    await env.client.create(Kind.DEPLOYMENT, "default", deployment(1))

    async def warned() -> bool:
        events = [e for e in await env.client.list(Kind.EVENT, "default")
                  if e["reason"] == "MultiplePodDisruptionBudgets"]
        assert events
        name = events[0]["involvedObject"]["name"]
        assert events[0]["message"] == (f'Pod "default"/"{name}" matches multiple PodDisruptionBudgets.  '
                                        'Chose "a" arbitrarily.')
        return True
    await eventually(warned)
