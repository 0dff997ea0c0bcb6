"""LimitRanger's decisions (defaults into pods, min/max/ratio per container, pod and PVC), with the
apiserver's wording."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.resources.admission_limitranger import (
    aggregate,
    default_pod_resources,
    pod_problems,
    pvc_problems,
)
from boxk8s.resources.defaults import apply_defaults


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    """A LimitRange as stored: with its defaults (the plugin reads stored ones)."""
    lr = {"metadata": {"name": "lr"}, "spec": {"limits": list(items)}}
    apply_defaults(lr, "io.k8s.api.core.v1.LimitRange")
    return lr


def container(name: str = "main", requests: dict[str, str] | None = None,
              limits: dict[str, str] | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "image": "busybox", "resources": res}


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize(("p", "requests", "limits", "annotation"), [
    (pod(container()), {"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "256Mi"},
     "LimitRanger plugin set: cpu, memory request for container main; cpu, memory limit for container main"),
    (pod(container(requests={"cpu": "200m"}, limits={"cpu": "300m"})), {"cpu": "200m", "memory": "256Mi"},
     {"cpu": "300m", "memory": "256Mi"},
     "LimitRanger plugin set: memory request for container main; memory limit for container main"),
    (pod(container(requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "1", "memory": "1Gi"})),
     {"cpu": "1", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}, None),
])
def test_defaults_into_containers(p: dict[str, Any], requests: dict[str, str], limits: dict[str, str],
                                  annotation: str | None) -> None:
    lr = limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                      "defaultRequest": {"cpu": "100m"}})
    default_pod_resources(lr, p)
    res = p["spec"]["containers"][0]["resources"]
    assert (res["requests"], res["limits"]) == (requests, limits)
    assert (p["metadata"].get("annotations") or {}).get("kubernetes.io/limit-ranger") == annotation


def test_defaults_name_init_containers() -> None:
    p = pod(container("app", requests={"cpu": "1"}, limits={"cpu": "1"}), init=[container("setup")])
    default_pod_resources(limit_range({"type": "Container", "default": {"cpu": "1"}}), p)
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for init container setup; cpu limit for init container setup")


@pytest.mark.parametrize(("item", "p", "problems"), [
    ({"type": "Container", "max": {"cpu": "1"}}, pod(container(requests={"cpu": "1"}, limits={"cpu": "2"})),
     ["maximum cpu usage per Container is 1, but limit is 2"]),
    ({"type": "Container", "max": {"cpu": "1"}}, pod(container()),  # validated without admit's defaults
     ["maximum cpu usage per Container is 1.  No limit is specified"]),
    ({"type": "Container", "max": {"cpu": "1"}}, pod(container(requests={"cpu": "1500m"}, limits={"cpu": "1"})),
     ["maximum cpu usage per Container is 1, but request is 1500m"]),
    ({"type": "Container", "min": {"cpu": "100m"}}, pod(container(requests={"cpu": "50m"})),
     ["minimum cpu usage per Container is 100m, but request is 50m"]),
    ({"type": "Container", "min": {"cpu": "100m"}}, pod(container()),
     ["minimum cpu usage per Container is 100m.  No request is specified"]),
    ({"type": "Container", "min": {"memory": "128Mi"}},
     pod(container(requests={"memory": "128Mi"}, limits={"memory": "64Mi"})),
     ["minimum memory usage per Container is 128Mi, but limit is 64Mi"]),
    ({"type": "Container", "min": {"cpu": "1000m"}}, pod(container(requests={"cpu": "1"})), []),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
     pod(container(requests={"cpu": "100m"}, limits={"cpu": "500m"})),
     ["cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000"]),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
     pod(container(requests={"cpu": "100m"}, limits={"cpu": "200m"})), []),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}, pod(container(limits={"cpu": "1"})),
     ["cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"]),
    ({"type": "Container", "maxLimitRequestRatio": {"memory": "1500m"}},
     pod(container(requests={"memory": "1Gi"})),
     ["memory max limit to request ratio per Container is 1500m, but no limit is specified or limit is 0"]),
    # every container, init containers too
    ({"type": "Container", "max": {"cpu": "1"}},
     pod(container("a", limits={"cpu": "1"}), init=[container("b", limits={"cpu": "2"})]),
     ["maximum cpu usage per Container is 1, but limit is 2"]),
    # type Pod: the totals (init containers count as their maximum)
    ({"type": "Pod", "max": {"memory": "1Gi"}},
     pod(container("a", limits={"memory": "768Mi"}), container("b", limits={"memory": "768Mi"})),
     ["maximum memory usage per Pod is 1Gi, but limit is 1536Mi"]),
    ({"type": "Pod", "max": {"memory": "1Gi"}},
     pod(container("a", limits={"memory": "512Mi"}), init=[container("i", limits={"memory": "1Gi"})]), []),
    ({"type": "Pod", "min": {"cpu": "1"}},
     pod(container("a", requests={"cpu": "300m"}), container("b", requests={"cpu": "300m"})),
     ["minimum cpu usage per Pod is 1, but request is 600m"]),
])
def test_pod_problems(item: dict[str, Any], p: dict[str, Any], problems: list[str]) -> None:
    assert pod_problems(limit_range(item), p) == problems


def test_several_problems_are_one_aggregate() -> None:
    lr = limit_range({"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}})
    p = pod(container(limits={"cpu": "2", "memory": "2Gi"}))
    assert aggregate(pod_problems(lr, p)) == ("[maximum cpu usage per Container is 1, but limit is 2, "
                                              "maximum memory usage per Container is 1Gi, but limit is 2Gi]")
    assert aggregate(["same", "same"]) == "same"


def pvc(storage: str | None) -> dict[str, Any]:
    resources = {"requests": {"storage": storage}} if storage else {}
    return {"metadata": {"name": "data"}, "spec": {"resources": resources}}


@pytest.mark.parametrize(("claim", "problems"), [
    (pvc("5Gi"), []),
    (pvc("500Mi"), ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]),
    (pvc("20Gi"), ["maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"]),
    (pvc(None), ["minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified",
                 "maximum storage usage per PersistentVolumeClaim is 10Gi.  No request is specified"]),
])
def test_pvc_problems(claim: dict[str, Any], problems: list[str]) -> None:
    lr = limit_range({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}},
                     {"type": "Container", "max": {"cpu": "1"}})
    assert pvc_problems(lr, claim) == problems
