"""Endpoints and EndpointSlice decisions as tables (pkg/controller/endpoint, pkg/controller/endpointslice)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.endpoints_plan import (
    SliceContent,
    desired_slices,
    endpoints_labels,
    find_port,
    plan_endpoints_subsets,
    plan_slices,
    should_pod_be_in_endpoints,
    slice_labels,
)

Obj = dict[str, Any]


def pod(name: str, ip: str = "10.0.0.1", *, ready: bool = True, ports: list[Obj] | None = None,
        deleting: bool = False, phase: str = "Running", **spec: Any) -> Obj:
    md: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": {"app": "web"}}
    if deleting:
        md["deletionTimestamp"] = "2026-12-03T00:00:00Z"
    return {
        "metadata": md,
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "ports": ports or []}], **spec},
        "status": {"phase": phase, "podIP": ip,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def service(ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"tier": "front"}},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
                     if ports is None else ports, **spec}}


HTTP_NAMED = [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]


@pytest.mark.parametrize(("container_ports", "service_port", "expected"), [
    ([], {"port": 80, "targetPort": 8080}, 8080),  # a number is taken as is
    ([], {"port": 80, "targetPort": "9090"}, 9090),
    ([{"name": "web", "containerPort": 8081}], {"port": 80, "targetPort": "web"}, 8081),
    ([{"name": "web", "containerPort": 8081, "protocol": "UDP"}], {"port": 80, "targetPort": "web"}, None),
    ([{"name": "other", "containerPort": 8081}], {"port": 80, "targetPort": "web"}, None),  # no such name
    ([], {"port": 80}, 80),  # no targetPort: the port
])
def test_find_port(container_ports: list[Obj], service_port: Obj, expected: int | None) -> None:
    assert find_port(pod("a", ports=container_ports), service_port) == expected


def test_find_port_looks_at_sidecars_but_not_plain_init_containers() -> None:
    p = pod("a", initContainers=[{"name": "side", "restartPolicy": "Always", "ports": [{"name": "web", "containerPort": 7}]}])
    assert find_port(p, {"port": 80, "targetPort": "web"}) == 7
    p["spec"]["initContainers"][0].pop("restartPolicy")
    assert find_port(p, {"port": 80, "targetPort": "web"}) is None


@pytest.mark.parametrize(("p", "include_terminating", "expected"), [
    (pod("a"), False, True),
    (pod("a", ip=""), False, False),  # no IP yet
    (pod("a", phase="Succeeded"), True, False),  # finished
    (pod("a", phase="Failed"), True, False),
    (pod("a", deleting=True), False, False),  # terminating: out of Endpoints at once...
    (pod("a", deleting=True), True, True),  # ...but in EndpointSlices, marked
])
def test_should_pod_be_in_endpoints(p: Obj, include_terminating: bool, expected: bool) -> None:
    assert should_pod_be_in_endpoints(p, include_terminating) is expected


def addresses(subset: Obj, key: str = "addresses") -> list[str]:
    return [a["ip"] for a in subset.get(key, [])]


def test_ready_and_not_ready_addresses_share_a_subset_sorted_by_ip() -> None:
    subsets = plan_endpoints_subsets(service(), [pod("b", "10.0.0.10"), pod("a", "10.0.0.9"),
                                                 pod("c", "10.0.0.2", ready=False), pod("d", "10.0.0.3", deleting=True)])
    assert len(subsets) == 1
    assert addresses(subsets[0]) == ["10.0.0.9", "10.0.0.10"]  # numeric order, not text
    assert addresses(subsets[0], "notReadyAddresses") == ["10.0.0.2"]  # the terminating pod is gone
    assert subsets[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    first = subsets[0]["addresses"][0]
    assert first["targetRef"] == {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}
    assert first["nodeName"] == "node-1"


def test_named_target_port_is_resolved_per_pod_and_a_pod_without_it_is_left_out() -> None:
    pods = [pod("a", "10.0.0.1", ports=[{"name": "web", "containerPort": 8080}]),
            pod("b", "10.0.0.2", ports=[{"name": "web", "containerPort": 9090}]),
            pod("c", "10.0.0.3", ports=[{"name": "metrics", "containerPort": 9100}])]
    subsets = plan_endpoints_subsets(service(HTTP_NAMED), pods)
    got = sorted((addresses(s)[0], s["ports"][0]["port"]) for s in subsets)
    assert got == [("10.0.0.1", 8080), ("10.0.0.2", 9090)]


def test_several_ports_of_the_same_pods_make_one_subset() -> None:
    ports = [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
             {"name": "metrics", "port": 9100, "targetPort": 9100, "protocol": "TCP"}]
    subsets = plan_endpoints_subsets(service(ports), [pod("a", "10.0.0.1"), pod("b", "10.0.0.2")])
    assert len(subsets) == 1
    assert [p["name"] for p in subsets[0]["ports"]] == ["http", "metrics"]
    assert addresses(subsets[0]) == ["10.0.0.1", "10.0.0.2"]


def test_publish_not_ready_addresses_lists_unready_pods_as_ready() -> None:
    subsets = plan_endpoints_subsets(service(publishNotReadyAddresses=True), [pod("a", ready=False)])
    assert addresses(subsets[0]) == ["10.0.0.1"] and "notReadyAddresses" not in subsets[0]


def test_hostname_only_when_the_pod_names_this_service_as_its_subdomain() -> None:
    same = pod("web-0", "10.0.0.1", hostname="web-0", subdomain="web")
    other = pod("db-0", "10.0.0.2", hostname="db-0", subdomain="db")
    subsets = plan_endpoints_subsets(service(clusterIP="None"), [same, other])
    by_ip = {a["ip"]: a for a in subsets[0]["addresses"]}
    assert by_ip["10.0.0.1"]["hostname"] == "web-0" and "hostname" not in by_ip["10.0.0.2"]


def test_headless_service_without_ports_still_lists_its_pods() -> None:
    assert plan_endpoints_subsets(service([], clusterIP="None"), [pod("a")]) == [
        {"addresses": [{"ip": "10.0.0.1", "nodeName": "node-1",
                        "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}}]}]
    assert plan_endpoints_subsets(service([]), [pod("a")]) == []  # a ClusterIP Service without ports: none


def test_labels() -> None:
    assert endpoints_labels(service()) == {"tier": "front"}
    assert endpoints_labels(service(clusterIP="None")) == {"tier": "front", "service.kubernetes.io/headless": ""}
    assert slice_labels(service()) == {"tier": "front", "kubernetes.io/service-name": "web",
                                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}


@pytest.mark.parametrize(("p", "conditions"), [
    (pod("a"), {"ready": True, "serving": True, "terminating": False}),
    (pod("a", ready=False), {"ready": False, "serving": False, "terminating": False}),
    (pod("a", deleting=True), {"ready": False, "serving": True, "terminating": True}),  # still serving while it stops
    (pod("a", ready=False, deleting=True), {"ready": False, "serving": False, "terminating": True}),
])
def test_slice_endpoint_conditions(p: Obj, conditions: Obj) -> None:
    [content] = desired_slices(service(), [p])
    assert content.endpoints[0]["conditions"] == conditions
    assert content.ports == (("http", 8080, "TCP"),)


def test_slices_group_by_port_set_and_hold_at_most_the_maximum() -> None:
    pods = [pod(f"p{i}", f"10.0.0.{i + 1}", ports=[{"name": "web", "containerPort": 8080}]) for i in range(5)]
    pods.append(pod("odd", "10.0.1.1", ports=[{"name": "web", "containerPort": 9090}]))
    slices = desired_slices(service(HTTP_NAMED), pods, max_per_slice=2)
    assert [(s.ports[0][1], len(s.endpoints)) for s in slices] == [(8080, 2), (8080, 2), (8080, 1), (9090, 1)]


def stored(name: str, content: SliceContent, labels: Obj | None = None) -> Obj:
    body: Obj = {"metadata": {"name": name, "labels": labels or {}}, "endpoints": list(content.endpoints)}
    if content.ports:
        body["ports"] = content.ports_json()
    return body


A = SliceContent((("http", 8080, "TCP"),), ({"addresses": ["10.0.0.1"], "targetRef": {"name": "a"}},))
B = SliceContent((("http", 8080, "TCP"),), ({"addresses": ["10.0.0.2"], "targetRef": {"name": "b"}},))
C = SliceContent((("http", 9090, "TCP"),), ({"addresses": ["10.0.0.3"], "targetRef": {"name": "c"}},))


@pytest.mark.parametrize(("desired", "existing", "create", "update", "delete"), [
    ([A], [stored("s1", A)], [], {}, []),  # unchanged: nothing is written
    ([B], [stored("s1", A)], [], {"s1": B}, []),  # changed: the slice is rewritten, not replaced
    ([A, C], [stored("s1", A)], [C], {}, []),  # a new port set: a new slice
    ([A], [stored("s1", A), stored("s2", C)], [], {}, ["s2"]),  # no longer needed: deleted
    ([C], [stored("s1", A), stored("s2", B)], [], {"s1": C}, ["s2"]),  # reuse before creating
    ([SliceContent((), ())], [], [SliceContent((), ())], {}, []),  # the placeholder of a Service with no pods
])
def test_plan_slices(desired: list[SliceContent], existing: list[Obj], create: list[SliceContent],
                     update: dict[str, SliceContent], delete: list[str]) -> None:
    plan = plan_slices(desired, existing)
    assert (plan.create, plan.update, plan.delete) == (create, update, delete)


def test_slices_with_stale_labels_are_rewritten() -> None:
    plan = plan_slices([A], [stored("s1", A)], labels_current=False)
    assert plan.update == {"s1": A} and not plan.create and not plan.delete
