"""metrics.k8s.io served in-process: fake nodes whose pods use what their annotations say, the
metrics sampler over their runtimes (sampled by hand here), and the API over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from boxk8s.api.app import ApiSettings, build_app
from boxk8s.cluster import running
from boxk8s.cluster.components import Components
from boxk8s.config import ClusterSettings
from boxk8s.kubelet.fake_usage import POD_ANNOTATION
from boxk8s.kubelet.settings import NodeSettings
from boxk8s.resources.quantity import parse_quantity
from tests.integration.conftest import TOKEN, Api, assert_status
from tests.integration.controllers_harness import FAST
from tests.integration.waiting import wait_for_condition

M = "/apis/metrics.k8s.io/v1beta1"


@dataclass
class Env:
    api: Api
    c: Components


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path) -> AsyncIterator[Env]:
    settings = ClusterSettings(state_dir=tmp_path, cluster_name="test", metric_resolution_seconds=3600)
    nodes = [NodeSettings("node-1", fake=True, labels=(("pool", "a"),)), NodeSettings("node-2", fake=True)]
    async with running(settings, controllers=[], nodes=nodes, kubelet=FAST, scheduler=False, serve_api=False,
                       proxy=False) as c:
        assert c.metrics is not None
        app = build_app(c.resources, ApiSettings(token=TOKEN), metrics=c.metrics)
        async with TestClient(TestServer(app)) as client:
            yield Env(Api(client, c.store, c.resources), c)


def pod(name: str, ns: str = "default", usage: str = "", node: str = "node-1", **labels: str) -> dict[str, Any]:
    annotations = {POD_ANNOTATION: usage} if usage else {}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [
                {"name": "app", "image": "busybox", "command": ["sleep", "3600"],
                 "resources": {"requests": {"cpu": "100m", "memory": "16Mi"}}},
                {"name": "sidecar", "image": "busybox", "command": ["sleep", "3600"]}]}}


def cores(q: str) -> float:
    return float(parse_quantity(q))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with cluster(tmp_path) as e:
        api = e.api
        await api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "other"}})
        web = pod("web-1", usage="cpu=250m,memory=64Mi", app="web")
        web["metadata"]["annotations"]["fake-usage.boxk8s.io/sidecar"] = "cpu=50m,memory=8Mi"
        await api.ok("POST", "/api/v1/namespaces/default/pods", body=web)
        await api.ok("POST", "/api/v1/namespaces/default/pods", body=pod("idle", app="idle"))  # its requests
        await api.ok("POST", "/api/v1/namespaces/other/pods",
                     body=pod("db-1", "other", usage="cpu=1", node="node-2", app="db"))
        pending = pod("pending", node="")
        pending["spec"].pop("nodeName")
        await api.ok("POST", "/api/v1/namespaces/default/pods", body=pending)  # no scheduler: stays Pending

        async def all_running() -> bool:
            for ns, name in (("default", "web-1"), ("default", "idle"), ("other", "db-1")):
                got = await api.ok("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
                assert got["status"].get("phase") == "Running", (name, got["status"])
            return True

        await wait_for_condition(all_running, 15)
        await e.c.metrics.sample()  # type: ignore[union-attr]
        await e.c.metrics.sample()  # type: ignore[union-attr]  # two samples: a rate
        yield e


async def test_discovery_and_apiservice(env: Env) -> None:
    groups = await env.api.ok("GET", "/apis")
    [metrics] = [g for g in groups["groups"] if g["name"] == "metrics.k8s.io"]
    assert metrics["preferredVersion"] == {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}
    assert (await env.api.ok("GET", "/apis/metrics.k8s.io"))["kind"] == "APIGroup"
    resources = await env.api.ok("GET", M)
    assert [(r["name"], r["kind"], r["namespaced"], r["verbs"]) for r in resources["resources"]] == [
        ("nodes", "NodeMetrics", False, ["get", "list"]), ("pods", "PodMetrics", True, ["get", "list"])]
    svc = await env.api.ok("GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
    assert svc["spec"]["group"] == "metrics.k8s.io" and "service" not in svc["spec"]
    [cond] = svc["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Available", "True", "Local")


async def test_pod_metrics(env: Env) -> None:
    listed = await env.api.ok("GET", f"{M}/namespaces/default/pods")
    assert listed["kind"] == "PodMetricsList" and listed["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["idle", "web-1"]  # not the Pending one
    web = listed["items"][1]
    assert web["metadata"]["labels"] == {"app": "web"} and web["metadata"]["namespace"] == "default"
    assert web["timestamp"].endswith("Z") and web["window"].endswith("s")
    usage = {c["name"]: c["usage"] for c in web["containers"]}
    assert set(usage) == {"app", "sidecar"}
    assert cores(usage["app"]["cpu"]) == pytest.approx(0.25, rel=1e-3)
    assert usage["app"]["memory"] == "64Mi"
    assert cores(usage["sidecar"]["cpu"]) == pytest.approx(0.05, rel=1e-3) and usage["sidecar"]["memory"] == "8Mi"
    idle = {c["name"]: c["usage"] for c in listed["items"][0]["containers"]}
    assert cores(idle["app"]["cpu"]) == pytest.approx(0.1, rel=1e-3) and idle["app"]["memory"] == "16Mi"
    assert cores(idle["sidecar"]["cpu"]) == 0 and idle["sidecar"]["memory"] == "0"  # nothing requested

    everywhere = await env.api.ok("GET", f"{M}/pods")
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]] == [
        ("default", "idle"), ("default", "web-1"), ("other", "db-1")]
    by_label = await env.api.ok("GET", f"{M}/pods", params={"labelSelector": "app in (web,db)"})
    assert [i["metadata"]["name"] for i in by_label["items"]] == ["web-1", "db-1"]
    by_field = await env.api.ok("GET", f"{M}/namespaces/default/pods", params={"fieldSelector": "metadata.name=idle"})
    assert [i["metadata"]["name"] for i in by_field["items"]] == ["idle"]

    one = await env.api.ok("GET", f"{M}/namespaces/other/pods/db-1")
    assert one["kind"] == "PodMetrics" and cores(one["containers"][0]["usage"]["cpu"]) == pytest.approx(1, rel=1e-3)


async def test_pod_metrics_errors(env: Env) -> None:
    code, body, _ = await env.api.get(f"{M}/namespaces/default/pods/nope")
    assert_status(code, body, 404, "NotFound")
    assert body["message"] == 'pods "nope" not found'
    code, body, _ = await env.api.get(f"{M}/namespaces/default/pods/pending")
    assert_status(code, body, 404, "NotFound")
    assert body["message"] == 'podmetrics.metrics.k8s.io "default/pending" not found'
    code, body, _ = await env.api.post(f"{M}/namespaces/default/pods", body={})
    assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = await env.api.get(f"{M}/namespaces/default/nodes")
    assert_status(code, body, 404, "NotFound")
    code, body, _ = await env.api.get(f"{M}/pods", params={"labelSelector": "a in b"})
    assert_status(code, body, 400, "BadRequest")


async def test_node_metrics(env: Env) -> None:
    listed = await env.api.ok("GET", f"{M}/nodes")
    assert listed["kind"] == "NodeMetricsList"
    by_name = {i["metadata"]["name"]: i for i in listed["items"]}
    assert set(by_name) == {"node-1", "node-2"}
    node1 = by_name["node-1"]
    assert "namespace" not in node1["metadata"] and node1["metadata"]["labels"]["pool"] == "a"
    # the node's usage is its pods': web-1 (0.25 + 0.05) and idle (0.1 + 0) cores; 64Mi + 8Mi + 16Mi
    assert cores(node1["usage"]["cpu"]) == pytest.approx(0.4, rel=1e-3)
    assert node1["usage"]["memory"] == "88Mi"
    one = await env.api.ok("GET", f"{M}/nodes/node-2")
    assert cores(one["usage"]["cpu"]) == pytest.approx(2, rel=1e-3)  # db-1: both containers at cpu=1
    assert [i["metadata"]["name"] for i in (await env.api.ok("GET", f"{M}/nodes", params={
        "labelSelector": "pool=a"}))["items"]] == ["node-1"]
    code, body, _ = await env.api.get(f"{M}/nodes/nope")
    assert_status(code, body, 404, "NotFound")
    assert body["message"] == 'nodes "nope" not found'


async def test_tables(env: Env) -> None:
    table = await env.api.ok("GET", f"{M}/namespaces/default/pods",
                             headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert [r["cells"][0] for r in table["rows"]] == ["idle", "web-1"]
    assert table["rows"][1]["cells"][2] == "72Mi"
