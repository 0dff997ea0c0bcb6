"""The HPA controller in-process: fake nodes whose pods use what their annotation says, the metrics
sampler over their runtimes, ReplicaSet + Deployment controllers, and the HPA controller with an
injected clock (the stabilization window passes by moving the clock, not by waiting)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.config import ControllerSettings
from boxk8s.controllers.deployment import DeploymentController
from boxk8s.controllers.hpa import HorizontalController
from boxk8s.controllers.replicaset import ReplicaSetController
from boxk8s.kubelet.fake_usage import POD_ANNOTATION
from boxk8s.kubelet.metrics import MetricsSampler
from boxk8s.resources.selectors import parse_label_selector
from tests.integration.controllers_harness import Harness, harness
from tests.integration.waiting import wait_for_condition

DEADLINE = 20.0


@dataclass
class Env:
    h: Harness
    hpa: HorizontalController
    sampler: MetricsSampler
    offset: list[float]  # how far the HPA's clock is ahead of the wall clock

    def advance(self, seconds: float) -> None:
        self.offset[0] += seconds


@contextlib.asynccontextmanager
async def running_env(tmp_path: Path, *, sample: bool = True, controllers: tuple[Any, ...] = ()) -> AsyncIterator[Env]:
    async with harness(tmp_path, [ReplicaSetController, DeploymentController, *controllers], nodes=2) as h:
        import time

        offset = [0.0]
        sampler = MetricsSampler(h.runtimes, resolution=0.05)
        settings = ControllerSettings(hpa_sync_seconds=0.05)
        client = Client(h.resources, "horizontal-pod-autoscaler")
        factory = InformerFactory(client)
        hpa = HorizontalController(client, factory, settings=settings, metrics=sampler,
                                   now=lambda: time.time() + offset[0])
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(factory.run()), tg.create_task(hpa.run())]
            if sample:
                tasks.append(tg.create_task(sampler.run()))
            try:
                yield Env(h, hpa, sampler, offset)
            finally:
                for t in tasks:
                    t.cancel()


def deployment(name: str = "web", replicas: int = 1, cpu_usage: str = "200m", requests: dict[str, str] | None = None
               ) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "busybox", "command": ["sleep", "3600"]}
    if requests is not None:
        container["resources"] = {"requests": requests}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": {POD_ANNOTATION: f"cpu={cpu_usage}"}},
                         "spec": {"containers": [container], "terminationGracePeriodSeconds": 0}},
        },
    }


def hpa(name: str = "web", target: str = "web", *, max_replicas: int = 5, behavior: dict[str, Any] | None = None,
        metrics: list[dict[str, Any]] | None = None, kind: str = "Deployment") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
        "minReplicas": 1, "maxReplicas": max_replicas,
        "metrics": metrics or [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


async def eventually(check: Any, deadline: float = DEADLINE) -> Any:
    return await wait_for_condition(check, deadline)


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype]
    assert found, f"no {ctype} condition yet"
    return found[0]


async def failing(h: Harness, name: str, ctype: str) -> dict[str, Any]:
    """The HPA once its `ctype` condition is False."""
    async def check() -> dict[str, Any]:
        obj = await h.client.get(Kind.HPA, "default", name)
        assert condition(obj, ctype)["status"] == "False"
        return obj

    return dict(await eventually(check))


async def events(h: Harness, name: str) -> list[dict[str, Any]]:
    return [e for e in await h.client.list(Kind.EVENT, "default")
            if e["involvedObject"].get("kind") == "HorizontalPodAutoscaler" and e["involvedObject"]["name"] == name]


async def rescale_events(h: Harness, name: str, count: int = 1) -> list[str]:
    """The SuccessfulRescale messages, once there are `count` (an event is written after the scale)."""
    async def check() -> list[str]:
        got = [e["message"] for e in sorted(await events(h, name), key=lambda e: e["metadata"]["name"])
               if e["reason"] == "SuccessfulRescale"]
        assert len(got) >= count, got
        return got

    return list(await eventually(check))


async def set_pod_usage(h: Harness, app: str, cpu: str) -> None:
    """Change what the app's running pods use (the fake runtime reads the annotation at each sample)."""
    for pod in await h.client.list(Kind.POD, "default", label=parse_label_selector(f"app={app}")):
        await h.client.patch(Kind.POD, "default", pod["metadata"]["name"],
                             {"metadata": {"annotations": {POD_ANNOTATION: f"cpu={cpu}"}}})


@pytest.mark.timeout(60)
async def test_scales_up_on_cpu_then_down_after_the_stabilization_window(tmp_path: Path) -> None:
    async with running_env(tmp_path) as env:
        h = env.h
        await h.client.create(Kind.DEPLOYMENT, "default", deployment(requests={"cpu": "100m"}))
        await h.client.create(Kind.HPA, "default", hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))

        async def at(replicas: int) -> dict[str, Any]:
            d = await h.client.get(Kind.DEPLOYMENT, "default", "web")
            assert d["spec"]["replicas"] == replicas, d["spec"]["replicas"]
            return d

        await eventually(lambda: at(5))  # 200% of the request against a 50% target, up to maxReplicas
        rescales = await rescale_events(h, "web", 2)
        assert rescales[0] == "New size: 4; reason: cpu resource utilization (percentage of request) above target"

        async def limited() -> dict[str, Any]:
            obj = await h.client.get(Kind.HPA, "default", "web")
            st = obj["status"]
            assert st["currentReplicas"] == 5 and st["desiredReplicas"] == 5
            assert st["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 200
            assert condition(obj, "ScalingLimited")["reason"] == "TooManyReplicas"
            return obj

        obj = await eventually(limited)
        assert obj["status"]["currentMetrics"][0] == {"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": 200, "averageValue": "200m"}}}
        assert condition(obj, "ScalingLimited")["status"] == "True"
        assert condition(obj, "ScalingActive") | {"lastTransitionTime": ""} == {
            "type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "lastTransitionTime": "",
            "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization "
                       "(percentage of request)"}
        assert obj["status"]["lastScaleTime"]

        await set_pod_usage(h, "web", "10m")  # the load stops: 10% of the request

        async def stabilized() -> dict[str, Any]:
            obj = await h.client.get(Kind.HPA, "default", "web")
            assert condition(obj, "AbleToScale")["reason"] == "ScaleDownStabilized", condition(obj, "AbleToScale")
            assert obj["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 10
            return obj

        obj = await eventually(stabilized)
        assert condition(obj, "AbleToScale")["message"] == (
            "recent recommendations were higher than current one, applying the highest recent recommendation")
        assert (await at(5))["spec"]["replicas"] == 5  # held by the window

        env.advance(61)  # the scale-down stabilization window passes
        await eventually(lambda: at(1))

        async def rescaled_down() -> bool:
            rescales = [e["message"] for e in await events(h, "web") if e["reason"] == "SuccessfulRescale"]
            assert "New size: 1; reason: All metrics below target" in rescales, rescales
            return True

        await eventually(rescaled_down)


@pytest.mark.timeout(60)
async def test_behavior_policies_limit_the_rate(tmp_path: Path) -> None:
    """scaleUp: at most one pod per 60 s (Pods policy); the next step comes when the period has passed."""
    async with running_env(tmp_path) as env:
        h = env.h
        await h.client.create(Kind.DEPLOYMENT, "default", deployment(requests={"cpu": "100m"}))
        await h.client.create(Kind.HPA, "default", hpa(behavior={"scaleUp": {
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}))

        async def replicas(n: int) -> dict[str, Any]:
            obj = await h.client.get(Kind.HPA, "default", "web")
            assert obj["status"].get("currentReplicas") == n
            assert condition(obj, "ScalingLimited")["reason"] == "ScaleUpLimit"
            return obj

        obj = await eventually(lambda: replicas(2))
        assert condition(obj, "ScalingLimited")["message"] == (
            "the desired replica count is increasing faster than the maximum scale rate")
        assert (await h.client.get(Kind.DEPLOYMENT, "default", "web"))["spec"]["replicas"] == 2
        env.advance(61)
        await eventually(lambda: replicas(3))


@pytest.mark.timeout(60)
async def test_average_value_on_memory(tmp_path: Path) -> None:
    async with running_env(tmp_path) as env:
        h = env.h
        body = deployment(cpu_usage="10m")
        body["spec"]["template"]["metadata"]["annotations"][POD_ANNOTATION] = "cpu=10m,memory=100Mi"
        await h.client.create(Kind.DEPLOYMENT, "default", body)
        await h.client.create(Kind.HPA, "default", hpa(metrics=[{"type": "Resource", "resource": {
            "name": "memory", "target": {"type": "AverageValue", "averageValue": "40Mi"}}}]))

        async def scaled() -> dict[str, Any]:
            obj = await h.client.get(Kind.HPA, "default", "web")
            assert obj["status"]["desiredReplicas"] == 5
            return obj

        obj = await eventually(scaled)
        assert obj["status"]["currentMetrics"] == [
            {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "104857600"}}}]
        rescales = await rescale_events(h, "web")
        assert rescales[0] == "New size: 3; reason: memory resource above target"  # ceil(100Mi / 40Mi)


@pytest.mark.timeout(60)
async def test_errors_are_conditions_and_events(tmp_path: Path) -> None:
    async with running_env(tmp_path, sample=False) as env:  # no usage measured: no metrics at all
        h = env.h
        await h.client.create(Kind.DEPLOYMENT, "default", deployment(requests={"cpu": "100m"}))
        await h.client.create(Kind.HPA, "default", hpa())
        await h.client.create(Kind.HPA, "default", hpa("lost", target="nope"))
        await h.client.create(Kind.DEPLOYMENT, "default", deployment("norequest"))
        await h.client.create(Kind.HPA, "default", hpa("norequest", target="norequest"))

        obj = await failing(h, "web", "ScalingActive")
        assert condition(obj, "ScalingActive")["reason"] == "FailedGetResourceMetric"
        assert condition(obj, "ScalingActive")["message"] == (
            "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics "
            "for resource cpu: no metrics returned from resource metrics API")
        assert condition(obj, "AbleToScale")["reason"] == "SucceededGetScale"
        assert obj["status"]["currentMetrics"] == [{"type": ""}]
        assert obj["status"]["currentReplicas"] == 1

        async def failed_event() -> list[str]:
            got = [e["message"] for e in await events(h, "web") if e["reason"] == "FailedComputeMetricsReplicas"]
            assert got
            return got

        assert (await eventually(failed_event))[0] == (
            "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed "
            "to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource "
            "metrics API")

        obj = await failing(h, "lost", "AbleToScale")
        assert condition(obj, "AbleToScale")["reason"] == "FailedGetScale"
        assert condition(obj, "AbleToScale")["message"] == (
            'the HPA controller was unable to get the target\'s current scale: deployments.apps "nope" not found')

        async def running() -> bool:
            pods = await h.client.list(Kind.POD, "default", label=parse_label_selector("app=norequest"))
            assert pods and all(p.get("status", {}).get("phase") == "Running" for p in pods)
            return True

        await eventually(running)
        await env.sampler.sample()
        await env.sampler.sample()  # twice: a rate now for the pods that run

        async def no_request() -> dict[str, Any]:
            obj = await h.client.get(Kind.HPA, "default", "norequest")
            assert "missing request for cpu in container app of Pod norequest-" in \
                condition(obj, "ScalingActive")["message"]
            return obj

        await eventually(no_request)


@pytest.mark.timeout(60)
async def test_scales_a_custom_resource_through_its_scale_subresource(tmp_path: Path) -> None:
    """scaleTargetRef naming a custom resource: read and written through the CRD's replica paths, its
    pods found by the selector at its labelSelectorPath."""
    from boxk8s.controllers.crd import CRDController
    from boxk8s.resources import registry
    from tests.integration.crd_fixtures import widget, widget_crd

    async with running_env(tmp_path, controllers=(CRDController,)) as env:
        h = env.h
        crd_rt = registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_rt is not None
        await h.client.create(crd_rt, None, widget_crd())

        async def served() -> Any:
            return h.resources.kinds.find("example.com", "v1", "widgets")
        widgets = await eventually(served)
        await h.client.create(Kind.DEPLOYMENT, "default", deployment(requests={"cpu": "100m"}))
        await h.client.create(widgets, "default", widget("w", replicas=1))
        await h.client.patch(widgets, "default", "w", {"status": {"replicas": 1, "selector": "app=web"}},
                             "merge", "status")
        target = hpa(target="w", max_replicas=4)
        target["spec"]["scaleTargetRef"] = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w"}
        await h.client.create(Kind.HPA, "default", target)

        async def scaled() -> bool:
            return (await h.client.get(widgets, "default", "w"))["spec"]["replicas"] == 4
        await eventually(scaled)  # one pod at 200% of its request against 50%: four, the maximum
        rescales = await rescale_events(h, "web", 1)
        assert rescales[0].startswith("New size: 4;"), rescales
