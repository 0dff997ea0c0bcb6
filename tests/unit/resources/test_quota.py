"""Quota accounting: evaluators' usage, CheckRequest's refusals and charges, the controller's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from boxk8s.resources.podresources import pod_limits, pod_requests, resource_list, wire
from boxk8s.resources.quota import (
    Refused,
    Request,
    charged,
    check_request,
    less_than_or_equal,
    plan_quota_status,
    subtract_non_negative,
)
from boxk8s.resources.quota_evaluators import (
    ClaimEvaluator,
    Evaluator,
    PodEvaluator,
    ServiceEvaluator,
    count_name,
    evaluator_for,
)

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
PODS, SERVICES, CLAIMS = PodEvaluator(), ServiceEvaluator(), ClaimEvaluator()


def container(name: str = "main", requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
              **extra: Any) -> dict[str, Any]:
    return {"name": name, "resources": {**({"requests": requests} if requests else {}),
                                        **({"limits": limits} if limits else {})}, **extra}


def pod(*containers: dict[str, Any], name: str = "p", phase: str = "Pending", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"containers": list(containers), **spec},
            "status": {"phase": phase}}


def quota(name: str = "q", hard: dict[str, str] | None = None, used: dict[str, str] | None = None,
          **spec: Any) -> dict[str, Any]:
    hard = hard or {}
    status: dict[str, Any] = {"hard": hard}
    if used is not None:
        status["used"] = used
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": "7"},
            "spec": {"hard": hard, **spec}, "status": status}


# --- usage ------------------------------------------------------------------------------------

def test_pod_totals_count_init_containers_sidecars_and_overhead() -> None:
    p = pod(container("a", {"cpu": "100m"}, {"cpu": "200m"}), container("b", {"cpu": "300m", "memory": "64Mi"}),
            initContainers=[container("sidecar", {"cpu": "50m"}, {"cpu": "50m"}, restartPolicy="Always"),
                            container("init", {"cpu": "1"})],
            overhead={"cpu": "10m"})
    # containers 400m + sidecar 50m = 450m; the later init container runs beside the sidecar: 1050m wins
    assert wire(pod_requests(p)) == {"cpu": "1060m", "memory": "64Mi"}
    assert wire(pod_requests(p, overhead=False)) == {"cpu": "1050m", "memory": "64Mi"}
    assert wire(pod_limits(p)) == {"cpu": "260m"}  # overhead only where a limit exists


@pytest.mark.parametrize(("p", "usage"), [
    (pod(container()), {"count/pods": "1", "pods": "1"}),
    (pod(container(requests={"cpu": "500m", "memory": "128Mi"}, limits={"cpu": "1", "nvidia.com/gpu": "1"}),
         container("b", requests={"cpu": "250m", "nvidia.com/gpu": "1", "hugepages-2Mi": "4Mi"})),
     {"count/pods": "1", "pods": "1", "cpu": "750m", "requests.cpu": "750m", "memory": "128Mi",
      "requests.memory": "128Mi", "limits.cpu": "1", "requests.nvidia.com/gpu": "1", "hugepages-2Mi": "4Mi",
      "requests.hugepages-2Mi": "4Mi"}),
    # terminal pods only count as objects
    (pod(container(requests={"cpu": "1"}), phase="Succeeded"), {"count/pods": "1"}),
    (pod(container(requests={"cpu": "1"}), phase="Failed"), {"count/pods": "1"}),
])
def test_pod_usage(p: dict[str, Any], usage: dict[str, str]) -> None:
    assert wire(PODS.usage(p, NOW)) == usage


@pytest.mark.parametrize(("deleted", "grace", "charged_"), [
    ("2024-01-01T11:59:50Z", 30, True),  # still within its grace period
    ("2024-01-01T11:59:00Z", 30, False),  # stuck terminating past it: not charged
    (None, None, True),
])
def test_pods_stuck_terminating_stop_counting(deleted: str | None, grace: int | None, charged_: bool) -> None:
    p = pod(container(requests={"cpu": "1"}))
    if deleted:
        p["metadata"].update(deletionTimestamp=deleted, deletionGracePeriodSeconds=grace)
    assert ("pods" in PODS.usage(p, NOW)) is charged_


@pytest.mark.parametrize(("spec", "usage"), [
    ({"type": "ClusterIP", "ports": [{"port": 80}]},
     {"count/services": "1", "services": "1", "services.loadbalancers": "0", "services.nodeports": "0"}),
    ({"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]},
     {"count/services": "1", "services": "1", "services.loadbalancers": "0", "services.nodeports": "2"}),
    ({"type": "LoadBalancer", "ports": [{"port": 80}]},
     {"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "1"}),
    ({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}, {"port": 81, "nodePort": 30001}]},
     {"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "1"}),
])
def test_service_usage(spec: dict[str, Any], usage: dict[str, str]) -> None:
    assert wire(SERVICES.usage({"metadata": {"name": "s"}, "spec": spec}, NOW)) == usage


@pytest.mark.parametrize(("claim", "usage"), [
    ({"spec": {"resources": {"requests": {"storage": "1Gi"}}}},
     {"persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1", "requests.storage": "1Gi"}),
    ({"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1.5"}}}},
     {"persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1", "requests.storage": "2",
      "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "gold.storageclass.storage.k8s.io/requests.storage": "2"}),
    ({"spec": {"resources": {"requests": {"storage": "1Gi"}}}, "status": {"allocatedResources": {"storage": "2Gi"}}},
     {"persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1", "requests.storage": "2Gi"}),
])
def test_claim_usage(claim: dict[str, Any], usage: dict[str, str]) -> None:
    assert wire(CLAIMS.usage({"metadata": {"name": "c"}, **claim}, NOW)) == usage


@pytest.mark.parametrize(("group", "plural", "names"), [
    ("", "configmaps", ("count/configmaps", "configmaps")),
    ("", "secrets", ("count/secrets", "secrets")),
    ("", "replicationcontrollers", ("count/replicationcontrollers", "replicationcontrollers")),
    ("", "resourcequotas", ("count/resourcequotas", "resourcequotas")),
    ("apps", "deployments", ("count/deployments.apps",)),
    ("batch", "jobs", ("count/jobs.batch",)),
])
def test_object_count_names(group: str, plural: str, names: tuple[str, ...]) -> None:
    evaluator = evaluator_for(group, plural)
    assert isinstance(evaluator, Evaluator) and evaluator.names == names
    assert count_name(group, plural) == names[0]
    assert evaluator.handles("CREATE", "") and not evaluator.handles("UPDATE", "")
    assert evaluator_for("", "events") is None and evaluator_for("events.k8s.io", "events") is None


@pytest.mark.parametrize(("selector", "p", "match"), [
    ({"scopeName": "BestEffort", "operator": "Exists"}, pod(container()), True),
    ({"scopeName": "BestEffort", "operator": "Exists"}, pod(container(requests={"cpu": "1"})), False),
    ({"scopeName": "NotBestEffort", "operator": "Exists"}, pod(container(requests={"cpu": "1"})), True),
    ({"scopeName": "Terminating", "operator": "Exists"}, pod(container(), activeDeadlineSeconds=60), True),
    ({"scopeName": "NotTerminating", "operator": "Exists"}, pod(container(), activeDeadlineSeconds=60), False),
    ({"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}, pod(container(), priorityClassName="high"), True),
    ({"scopeName": "PriorityClass", "operator": "NotIn", "values": ["high"]}, pod(container()), True),
    ({"scopeName": "PriorityClass", "operator": "Exists"}, pod(container()), False),
    ({"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"},
     pod(container(), affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
         {"topologyKey": "k", "namespaces": ["other"]}]}}), True),
])
def test_pod_scopes(selector: dict[str, Any], p: dict[str, Any], match: bool) -> None:
    assert PODS.matches_scope(selector, p) is match


# --- CheckRequest ---------------------------------------------------------------------------------

CPU_POD = pod(container(requests={"cpu": "500m"}, limits={"cpu": "500m", "memory": "64Mi"}))


@pytest.mark.parametrize(("quotas", "refusal"), [
    ([quota(hard={"requests.cpu": "1"}, used={"requests.cpu": "800m"})],
     "exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=800m, limited: requests.cpu=1"),
    ([quota(hard={"pods": "2", "requests.cpu": "1"}, used={"pods": "2", "requests.cpu": "800m"})],
     "exceeded quota: q, requested: pods=1,requests.cpu=500m, used: pods=2,requests.cpu=800m, "
     "limited: pods=2,requests.cpu=1"),
    ([quota(hard={"pods": "5"}, used={"pods": "1"}), quota("tight", hard={"limits.memory": "100Mi"},
                                                             used={"limits.memory": "64Mi"})],
     "exceeded quota: tight, requested: limits.memory=64Mi, used: limits.memory=64Mi, limited: limits.memory=100Mi"),
    ([quota(hard={"requests.memory": "1Gi", "limits.cpu": "2"}, used={"requests.memory": "0", "limits.cpu": "0"})],
     "failed quota: q: must specify requests.memory for: main"),
    ([quota(hard={"pods": "2", "requests.cpu": "1"}, used={"pods": "0"})],
     "status unknown for quota: q, resources: pods,requests.cpu"),
])
def test_refusals(quotas: list[dict[str, Any]], refusal: str) -> None:
    with pytest.raises(Refused) as e:
        check_request(quotas, Request("CREATE", "", CPU_POD), PODS, NOW)
    assert str(e.value) == refusal


def test_a_fitting_create_is_charged_to_the_matching_quotas_only() -> None:
    quotas = [quota(hard={"pods": "3", "requests.cpu": "2"}, used={"pods": "1", "requests.cpu": "1500m"}),
              quota("objects", hard={"count/configmaps": "1"}, used={"count/configmaps": "0"}),
              quota("besteffort", hard={"pods": "1"}, used={"pods": "0"}, scopes=["BestEffort"]),
              quota("new", hard={})]  # not measured yet: constrains nothing
    after = check_request(quotas, Request("CREATE", "", CPU_POD), PODS, NOW)
    assert after[0]["status"]["used"] == {"pods": "2", "requests.cpu": "2"}
    assert [q["metadata"]["name"] for q in charged(quotas, after)] == ["q"]
    assert quotas[0]["status"]["used"] == {"pods": "1", "requests.cpu": "1500m"}  # the input is left alone


def test_updates_charge_the_difference() -> None:
    quotas = [quota(hard={"services.nodeports": "2", "services": "5"}, used={"services.nodeports": "1", "services": "1"})]
    old = {"metadata": {"name": "s", "resourceVersion": "3"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}
    new = {"metadata": {"name": "s", "resourceVersion": "3"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    after = check_request(quotas, Request("UPDATE", "", new, old), SERVICES, NOW)
    assert after[0]["status"]["used"] == {"services.nodeports": "2", "services": "1"}
    # the other way round frees nothing at admission (the controller gives it back)
    assert check_request(quotas, Request("UPDATE", "", old, new), SERVICES, NOW) == quotas
    two = {**new, "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}}
    with pytest.raises(Refused, match="requested: services.nodeports=1, used: services.nodeports=1"):
        check_request([quota(hard={"services.nodeports": "1"}, used={"services.nodeports": "1"})],
                      Request("UPDATE", "", two, new), SERVICES, NOW)


def test_list_arithmetic() -> None:
    a, b = resource_list({"cpu": "1", "memory": "1Gi"}), resource_list({"cpu": "1500m", "pods": "1"})
    assert wire(subtract_non_negative(a, b)) == {"cpu": "0", "memory": "1Gi"}
    assert less_than_or_equal(b, a) == (False, ["cpu"])
    assert less_than_or_equal(a, a) == (True, [])


# --- the controller's status ----------------------------------------------------------------------

def test_plan_quota_status() -> None:
    q = quota(hard={"pods": "3", "requests.cpu": "2", "count/deployments.apps": "1", "foo": "1"}, used=None)
    q["status"] = {}
    objects = {("", "pods"): [pod(container(requests={"cpu": "500m"})), pod(container(requests={"cpu": "750m"})),
                              pod(container(requests={"cpu": "1"}), phase="Succeeded")],
               ("apps", "deployments"): []}
    status = plan_quota_status(q, objects, NOW)
    assert status == {"hard": {"pods": "3", "requests.cpu": "2", "count/deployments.apps": "1", "foo": "1"},
                      "used": {"pods": "2", "requests.cpu": "1250m", "count/deployments.apps": "0"}}
    q["status"] = status
    assert plan_quota_status(q, objects, NOW) is None  # nothing changed: nothing to write
    q["spec"]["hard"]["pods"] = "10"
    assert plan_quota_status(q, objects, NOW)["hard"]["pods"] == "10"  # type: ignore[index]


def test_scoped_quota_counts_only_its_pods() -> None:
    q = quota(hard={"pods": "5", "count/configmaps": "2"}, scopes=["BestEffort"])
    objects = {("", "pods"): [pod(container()), pod(container(requests={"cpu": "1"}))],
               ("", "configmaps"): [{"metadata": {"name": "c"}}]}
    assert plan_quota_status(q, objects, NOW)["used"] == {"pods": "1", "count/configmaps": "0"}  # type: ignore[index]
