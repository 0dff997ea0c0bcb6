"""Endpoints and EndpointSlices follow a Service's pods on simulated nodes: readiness, ports, deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.client import Kind
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.controllers.endpoints import EndpointsController, EndpointSliceController
from tests.integration.controllers_harness import Harness, eventually, harness

Obj = dict[str, Any]


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [EndpointsController, EndpointSliceController], nodes=2) as env:
        yield env


def pod(name: str, node: str, *, port_name: str = "web", probe: bool = False) -> Obj:
    container: Obj = {"name": "app", "image": "busybox", "command": ["sleep", "1d"],
                      "ports": [{"name": port_name, "containerPort": 8080}]}
    if probe:
        container["readinessProbe"] = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"nodeName": node, "containers": [container]}}


def service(target: Any = "web", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"tier": "front"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": target}], **spec}}


async def pod_ips(h: Harness, *names: str) -> dict[str, str]:
    async def all_have_ips() -> dict[str, str] | None:
        pods = {n: await h.client.get(Kind.POD, "default", n) for n in names}
        ips = {n: p["status"].get("podIP", "") for n, p in pods.items()}
        ready = all(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
                    for p in pods.values())
        return ips if all(ips.values()) and ready else None
    return await eventually(all_have_ips)


async def endpoints_view(h: Harness) -> tuple[list[str], list[str]] | None:
    """(ready `ip:port`s, not-ready `ip:port`s) of the Endpoints `web`, or None while there is none."""
    try:
        ep = await h.client.get(Kind.ENDPOINTS, "default", "web")
    except errors.NotFound:
        return None
    ready, not_ready = [], []
    for s in ep.get("subsets") or []:
        for p in s.get("ports") or []:
            ready += [f"{a['ip']}:{p['port']}" for a in s.get("addresses") or []]
            not_ready += [f"{a['ip']}:{p['port']}" for a in s.get("notReadyAddresses") or []]
    return sorted(ready), sorted(not_ready)


async def slices_of(h: Harness) -> list[Obj]:
    return await h.client.list(Kind.ENDPOINTSLICE, "default",
                               label=lambda labels: labels.get("kubernetes.io/service-name") == "web")


async def test_endpoints_and_slices_list_the_ready_pods_with_their_ports(h: Harness) -> None:
    await h.client.create(Kind.POD, "default", pod("a", "node-1"))
    await h.client.create(Kind.POD, "default", pod("b", "node-2"))
    ips = await pod_ips(h, "a", "b")
    svc = await h.client.create(Kind.SERVICE, "default", service())
    want = sorted(f"{ip}:8080" for ip in ips.values())
    assert await eventually(lambda: _when(endpoints_view(h), lambda v: v == (want, []))) == (want, [])

    ep = await h.client.get(Kind.ENDPOINTS, "default", "web")
    assert ep["metadata"]["labels"] == {"tier": "front"}
    refs = sorted(a["targetRef"]["name"] for a in ep["subsets"][0]["addresses"])
    assert refs == ["a", "b"]

    async def one_slice() -> Obj | None:
        found = await slices_of(h)
        return found[0] if len(found) == 1 and len(found[0].get("endpoints") or []) == 2 else None

    slice_ = await eventually(one_slice)
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert slice_["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    owner = slice_["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("Service", "web", svc["metadata"]["uid"], True)
    assert all(e["conditions"] == {"ready": True, "serving": True, "terminating": False} for e in slice_["endpoints"])

    # Nothing changes: another pass writes nothing (no resourceVersion churn).
    before = (ep["metadata"]["resourceVersion"], slice_["metadata"]["resourceVersion"])
    assert await h.controller(EndpointsController).reconcile("default/web") is None
    assert await h.controller(EndpointSliceController).reconcile("default/web") is None
    ep = await h.client.get(Kind.ENDPOINTS, "default", "web")
    again = await slices_of(h)
    assert (ep["metadata"]["resourceVersion"], again[0]["metadata"]["resourceVersion"]) == before


async def test_an_unready_pod_moves_to_not_ready_and_back(h: Harness) -> None:
    await h.client.create(Kind.POD, "default", pod("a", "node-1", probe=True))
    await h.client.create(Kind.POD, "default", pod("b", "node-2", probe=True))
    ips = await pod_ips(h, "a", "b")
    await h.client.create(Kind.SERVICE, "default", service())
    both = sorted(f"{ip}:8080" for ip in ips.values())
    await eventually(lambda: _when(endpoints_view(h), lambda v: v == (both, [])))

    h.runtimes["node-2"].probe_exit_codes["app"] = 1  # b fails its readiness probe
    b = f"{ips['b']}:8080"
    await eventually(lambda: _when(endpoints_view(h), lambda v: v == ([f"{ips['a']}:8080"], [b])))

    async def b_not_ready_in_slice() -> bool:
        for s in await slices_of(h):
            for e in s.get("endpoints") or []:
                if e["targetRef"]["name"] == "b":
                    return e["conditions"] == {"ready": False, "serving": False, "terminating": False}
        return False

    await eventually(b_not_ready_in_slice)
    h.runtimes["node-2"].probe_exit_codes["app"] = 0
    await eventually(lambda: _when(endpoints_view(h), lambda v: v == (both, [])))


async def test_a_pod_without_the_named_port_is_left_out(h: Harness) -> None:
    await h.client.create(Kind.POD, "default", pod("a", "node-1"))
    await h.client.create(Kind.POD, "default", pod("other", "node-2", port_name="metrics"))
    ips = await pod_ips(h, "a", "other")
    await h.client.create(Kind.SERVICE, "default", service())
    assert await eventually(lambda: _when(endpoints_view(h), lambda v: v == ([f"{ips['a']}:8080"], [])))
    # A numbered targetPort needs no declaration: both pods serve it.
    await h.client.patch(Kind.SERVICE, "default", "web", {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 9000}]}})
    want = sorted(f"{ip}:9000" for ip in ips.values())
    await eventually(lambda: _when(endpoints_view(h), lambda v: v == (want, [])))


async def test_deleting_the_service_removes_its_endpoints_and_slices(h: Harness) -> None:
    await h.client.create(Kind.POD, "default", pod("a", "node-1"))
    await pod_ips(h, "a")
    await h.client.create(Kind.SERVICE, "default", service())
    await eventually(lambda: _when(endpoints_view(h), lambda v: bool(v and v[0])))
    await eventually(lambda: slices_of(h))
    await h.client.delete(Kind.SERVICE, "default", "web")

    async def gone() -> bool:
        return await endpoints_view(h) is None and not await slices_of(h)

    await eventually(gone)


async def test_a_service_with_no_pods_has_empty_endpoints_and_a_placeholder_slice(h: Harness) -> None:
    await h.client.create(Kind.SERVICE, "default", service())
    assert await eventually(lambda: _when(endpoints_view(h), lambda v: v == ([], []))) == ([], [])
    [placeholder] = await eventually(lambda: slices_of(h))
    assert placeholder["endpoints"] == [] and "ports" not in placeholder


async def test_a_service_without_a_selector_keeps_the_users_endpoints(h: Harness) -> None:
    await h.client.create(Kind.SERVICE, "default", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                                                     "spec": {"ports": [{"port": 80}]}})
    mine = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
            "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}]}
    await h.client.create(Kind.ENDPOINTS, "default", mine)
    assert await h.controller(EndpointsController).reconcile("default/ext") is None
    stored = await h.client.get(Kind.ENDPOINTS, "default", "ext")
    assert stored["subsets"][0]["addresses"] == [{"ip": "192.0.2.10"}]


async def test_the_kubernetes_service_points_at_the_api_server(tmp_path: Path) -> None:
    settings = ClusterSettings(state_dir=tmp_path, port=0, write_kubeconfig=False, ingress_port=0)
    async with running(settings, controllers=[], nodes=[], scheduler=False) as c:
        assert c.api is not None
        ep = await c.resources.get(Kind.ENDPOINTS, "default", "kubernetes")
        [subset] = ep["subsets"]
        port = subset["ports"][0]["port"]
        assert port != 0 and subset["addresses"] == [{"ip": "127.0.0.1"}]
        svc = await c.resources.get(Kind.SERVICE, "default", "kubernetes")
        assert svc["spec"]["ports"][0]["targetPort"] == port
        slice_ = await c.resources.get(Kind.ENDPOINTSLICE, "default", "kubernetes")
        assert slice_["endpoints"][0]["addresses"] == ["127.0.0.1"] and slice_["ports"][0]["port"] == port


async def _when(view: Any, ok: Any) -> Any:
    """The awaited view when `ok(view)` holds, else None (for `eventually`)."""
    value = await view
    return value if value is not None and ok(value) else None

