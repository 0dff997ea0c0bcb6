from typing import Any

import pytest

from boxk8s.scheduler import filters
from boxk8s.scheduler.filters import (
    node_affinity,
    node_name,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    run_filters,
    taint_toleration,
)

from .helpers import info, node, pod

AFFINITY = "node(s) didn't match Pod's node affinity/selector"


# --- NodeResourcesFit ---------------------------------------------------------------------------

@pytest.mark.parametrize(("new", "placed", "expected"), [
    (pod(cpu="1"), [], None),
    (pod(cpu="2"), [], None),
    (pod(cpu="2001m"), [], "Insufficient cpu"),
    (pod(cpu="1"), [pod("a", cpu="1500m")], "Insufficient cpu"),
    (pod(memory="5Gi"), [], "Insufficient memory"),
    (pod(cpu="3", memory="5Gi"), [], "Insufficient cpu, Insufficient memory"),
    (pod(), [pod("a", cpu="2")], None),  # asks for nothing: fits a full node
    (pod(extra={"nvidia.com/gpu": "1"}), [], "Insufficient nvidia.com/gpu"),
    (pod(extra={"ephemeral-storage": "1Gi"}), [], "Insufficient ephemeral-storage"),
])
def test_resources_fit(new: dict[str, Any], placed: list[dict[str, Any]], expected: str | None) -> None:
    assert node_resources_fit(new, info(node(), *placed)) == expected


def test_too_many_pods_comes_first() -> None:
    full = info(node(pods="1"), pod("a"))
    assert node_resources_fit(pod(cpu="3"), full) == "Too many pods, Insufficient cpu"
    assert node_resources_fit(pod(), full) == "Too many pods"


# --- NodeName, NodeUnschedulable ----------------------------------------------------------------

def test_node_name() -> None:
    assert node_name(pod(node_name="n1"), info(node("n1"))) is None
    assert node_name(pod(node_name="n2"), info(node("n1"))) == "node(s) didn't match the requested node name"
    assert node_name(pod(), info(node("n1"))) is None


def test_node_unschedulable() -> None:
    cordoned = info(node(unschedulable=True))
    assert node_unschedulable(pod(), cordoned) == "node(s) were unschedulable"
    assert node_unschedulable(pod(), info(node())) is None
    tolerating = pod(spec={"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                            "effect": "NoSchedule"}]})
    assert node_unschedulable(tolerating, cordoned) is None


# --- TaintToleration ----------------------------------------------------------------------------

T = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(("taint", "tolerations", "expected"), [
    (T, [], "node(s) had untolerated taint {dedicated: gpu}"),
    ({"key": "evict", "value": "now", "effect": "NoExecute"}, [], "node(s) had untolerated taint {evict: now}"),
    ({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}, [],
     "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
    ({"key": "soft", "value": "x", "effect": "PreferNoSchedule"}, [], None),  # does not filter
    (T, [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], None),
    (T, [{"operator": "Exists"}], None),
    ({"key": "evict", "effect": "NoExecute"}, [{"key": "evict", "operator": "Exists", "effect": "NoSchedule"}],
     "node(s) had untolerated taint {evict: }"),
])
def test_taint_toleration(taint: dict[str, str], tolerations: list[dict[str, str]], expected: str | None) -> None:
    assert taint_toleration(pod(spec={"tolerations": tolerations}), info(node(taints=[taint]))) == expected


# --- NodeAffinity -------------------------------------------------------------------------------

LABELS = {"zone": "a", "disk": "ssd", "cores": "8"}


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}}


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


@pytest.mark.parametrize(("spec", "fits"), [
    ({"nodeSelector": {"zone": "a"}}, True),
    ({"nodeSelector": {"zone": "a", "disk": "ssd"}}, True),
    ({"nodeSelector": {"zone": "b"}}, False),
    ({"nodeSelector": {"missing": ""}}, False),
    (required({"matchExpressions": [expr("zone", "In", "a", "b")]}), True),
    (required({"matchExpressions": [expr("zone", "In", "b")]}), False),
    (required({"matchExpressions": [expr("zone", "NotIn", "b")]}), True),
    (required({"matchExpressions": [expr("zone", "NotIn", "a")]}), False),
    (required({"matchExpressions": [expr("absent", "NotIn", "a")]}), True),
    (required({"matchExpressions": [expr("disk", "Exists")]}), True),
    (required({"matchExpressions": [expr("gpu", "Exists")]}), False),
    (required({"matchExpressions": [expr("gpu", "DoesNotExist")]}), True),
    (required({"matchExpressions": [expr("disk", "DoesNotExist")]}), False),
    (required({"matchExpressions": [expr("cores", "Gt", "4")]}), True),
    (required({"matchExpressions": [expr("cores", "Gt", "8")]}), False),
    (required({"matchExpressions": [expr("cores", "Lt", "16")]}), True),
    (required({"matchExpressions": [expr("cores", "Lt", "8")]}), False),
    (required({"matchExpressions": [expr("zone", "Gt", "1")]}), False),  # not an integer
    (required({"matchExpressions": [expr("absent", "Lt", "1")]}), False),
    # expressions in a term are ANDed; terms are ORed
    (required({"matchExpressions": [expr("zone", "In", "a"), expr("disk", "In", "hdd")]}), False),
    (required({"matchExpressions": [expr("zone", "In", "b")]}, {"matchExpressions": [expr("disk", "In", "ssd")]}), True),
    (required({}), False),  # an empty term matches nothing
    (required(), False),  # no terms match nothing
    # matchFields: metadata.name only
    (required({"matchFields": [expr("metadata.name", "In", "n1")]}), True),
    (required({"matchFields": [expr("metadata.name", "In", "n2")]}), False),
    (required({"matchFields": [expr("metadata.name", "NotIn", "n2")]}), True),
    (required({"matchFields": [expr("metadata.name", "In", "n1")], "matchExpressions": [expr("zone", "In", "b")]}), False),
    # nodeSelector and affinity must both hold
    ({"nodeSelector": {"zone": "b"}, **required({"matchExpressions": [expr("zone", "In", "a")]})}, False),
])
def test_node_affinity(spec: dict[str, Any], fits: bool) -> None:
    result = node_affinity(pod(spec=spec), info(node("n1", labels=LABELS)))
    assert result == (None if fits else AFFINITY)


# --- NodePorts and the chain --------------------------------------------------------------------

def test_node_ports() -> None:
    def with_port(name: str, port: int, host_ip: str = "") -> dict[str, Any]:
        p = pod(name, node_name="n1")
        c = p["spec"]["containers"][0]
        c["ports"] = [{"containerPort": 80, "hostPort": port, **({"hostIP": host_ip} if host_ip else {})}]
        return p
    busy = info(node("n1"), with_port("a", 8080))
    assert node_ports(with_port("b", 8080), busy) == "node(s) didn't have free ports for the requested pod ports"
    assert node_ports(with_port("b", 8081), busy) is None
    assert node_ports(pod(), busy) is None
    assert node_ports(with_port("b", 9000, "10.0.0.2"), info(node("n1"), with_port("a", 9000, "10.0.0.1"))) is None


def test_first_rejecting_plugin_wins() -> None:
    n = node("n1", cpu="1", unschedulable=True, taints=[T])
    status = run_filters(pod(cpu="4"), info(n))
    assert status is not None and status.plugin == "NodeUnschedulable" and not status.resolvable
    status = run_filters(pod(cpu="4"), info(node("n1", cpu="1")))
    assert status is not None and status.reasons == ("Insufficient cpu",) and status.resolvable
    assert run_filters(pod(cpu="1"), info(node("n1", cpu="1"))) is None
    assert [f.name for f in filters.FILTERS] == [
        "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit"]
