"""Server-side Tables: columns and cells as the real apiserver prints them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s.errors import BadRequest
from boxk8s.resources.registry import RESOURCES, by_kind
from boxk8s.resources.tables import table
from boxk8s.resources.tables_common import human_duration
from boxk8s.resources.tables_core import service_ports
from boxk8s.resources.tables_workloads import pod_status

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(**kw: float) -> str:
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rt(api_version: str, kind: str) -> Any:
    found = by_kind(api_version, kind)
    assert found is not None
    return found


def cells(api_version: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return table(rt(api_version, kind), [obj], now=NOW)["rows"][0]["cells"]


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=-5), "<invalid>"),
        (timedelta(seconds=-1), "0s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=5), "5s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(minutes=3), "3m"),
        (timedelta(minutes=3, seconds=2), "3m2s"),
        (timedelta(minutes=10, seconds=30), "10m"),
        (timedelta(minutes=179), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=7, minutes=59), "7h59m"),
        (timedelta(hours=8, minutes=30), "8h"),
        (timedelta(hours=47), "47h"),
        (timedelta(days=2, hours=3), "2d3h"),
        (timedelta(days=7), "7d"),
        (timedelta(days=8, hours=5), "8d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=365 * 3 + 10), "3y10d"),
        (timedelta(days=365 * 9), "9y"),
    ],
)
def test_human_duration(delta: timedelta, expected: str) -> None:
    assert human_duration(delta) == expected


def running(name: str, ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}


def waiting(name: str, reason: str, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}},
            **extra}


def terminated(name: str, reason: str = "", code: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": code}
    if reason:
        term["reason"] = reason
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def pod(containers: int = 1, statuses: list[dict[str, Any]] | None = None, phase: str = "Running",
        inits: int = 0, init_statuses: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default", "creationTimestamp": ago(minutes=5), **meta},
        "spec": {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)],
                 "initContainers": [{"name": f"i{i}", "image": "busybox"} for i in range(inits)]},
        "status": {"phase": phase, "containerStatuses": statuses or [],
                   "initContainerStatuses": init_statuses or []},
    }


LAST_STATE = {"lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}}}


@pytest.mark.parametrize(
    ("obj", "ready", "status", "restarts"),
    [
        (pod(phase="Pending"), "0/1", "Pending", "0"),
        (pod(statuses=[waiting("c0", "ContainerCreating")], phase="Pending"), "0/1", "ContainerCreating", "0"),
        (pod(2, [running("c0"), running("c1", ready=False)]), "1/2", "Running", "0"),
        (pod(2, [running("c0"), running("c1")]), "2/2", "Running", "0"),
        (pod(statuses=[waiting("c0", "CrashLoopBackOff", restarts=3, **LAST_STATE)]), "0/1",
         "CrashLoopBackOff", "3 (2m ago)"),
        (pod(statuses=[terminated("c0", "Completed")], phase="Succeeded"), "0/1", "Completed", "0"),
        (pod(statuses=[terminated("c0", "Error", 1)], phase="Failed"), "0/1", "Error", "0"),
        (pod(statuses=[terminated("c0", code=137)], phase="Failed"), "0/1", "ExitCode:137", "0"),
        (pod(statuses=[waiting("c0", "PodInitializing")], phase="Pending", inits=2,
             init_statuses=[waiting("i0", "PodInitializing"), waiting("i1", "PodInitializing")]),
         "0/1", "Init:0/2", "0"),
        (pod(phase="Pending", inits=2, init_statuses=[terminated("i0"), running("i1", ready=False)]),
         "0/1", "Init:1/2", "0"),
        (pod(phase="Pending", inits=1, init_statuses=[waiting("i0", "CrashLoopBackOff", restarts=2)]),
         "0/1", "Init:CrashLoopBackOff", "2"),
        (pod(phase="Pending", inits=1, init_statuses=[terminated("i0", "Error", 1)]), "0/1", "Init:Error", "0"),
        (pod(statuses=[running("c0")], deletionTimestamp=ago(seconds=3)), "1/1", "Terminating", "0"),
        (pod(statuses=[terminated("c0", "Completed")], phase="Succeeded", deletionTimestamp=ago(seconds=3)),
         "0/1", "Completed", "0"),
    ],
)
def test_pod_ready_status_restarts(obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    row = cells("v1", "Pod", obj)
    assert row[:5] == ["p", ready, status, restarts, "5m"]


def test_pod_sidecar_counts_as_container() -> None:
    obj = pod(statuses=[running("c0")], inits=1, init_statuses=[running("i0", started=True)])
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    assert pod_status(obj)[:3] == ("Running", 2, 2)


def test_pod_wide_cells_and_conditions() -> None:
    obj = pod(statuses=[running("c0")])
    obj["spec"]["nodeName"] = "node-a"
    obj["status"]["podIPs"] = [{"ip": "10.0.0.7"}]
    result = table(rt("v1", "Pod"), [obj], now=NOW)
    assert result["rows"][0]["cells"][5:] == ["10.0.0.7", "node-a", "<none>", "<none>"]
    assert "conditions" not in result["rows"][0]
    done = table(rt("v1", "Pod"), [pod(phase="Succeeded")], now=NOW)["rows"][0]
    assert done["conditions"][0]["reason"] == "Succeeded"


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([], "<none>"),
        ([{"port": 80, "protocol": "TCP"}], "80/TCP"),
        ([{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
         "80:30080/TCP,53/UDP"),
        ([{"port": 443}], "443/TCP"),
    ],
)
def test_service_ports(ports: list[dict[str, Any]], expected: str) -> None:
    assert service_ports({"spec": {"ports": ports}}) == expected


@pytest.mark.parametrize(
    ("svc_spec", "svc_status", "expected"),
    [
        ({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
          "ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "web"}}, {},
         ["svc", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "5m", "app=web"]),
        ({"type": "ClusterIP", "clusterIP": "None"}, {},
         ["svc", "ClusterIP", "None", "<none>", "<none>", "5m", "<none>"]),
        ({"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"], "ports": [{"port": 80, "nodePort": 31000}]},
         {}, ["svc", "LoadBalancer", "10.96.0.11", "<pending>", "80:31000/TCP", "5m", "<none>"]),
        ({"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"]}, {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
         ["svc", "LoadBalancer", "10.96.0.11", "1.2.3.4", "<none>", "5m", "<none>"]),
        ({"type": "ExternalName", "externalName": "example.com"}, {},
         ["svc", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"]),
    ],
)
def test_service_row(svc_spec: dict[str, Any], svc_status: dict[str, Any], expected: list[Any]) -> None:
    obj = {"metadata": {"name": "svc", "creationTimestamp": ago(minutes=5)}, "spec": svc_spec,
           "status": svc_status}
    assert cells("v1", "Service", obj) == expected


TEMPLATE = {"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]}}
SELECTOR = {"matchLabels": {"app": "web"}}


def test_deployment_row() -> None:
    obj = {"metadata": {"name": "web", "creationTimestamp": ago(days=2, hours=3)},
           "spec": {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE},
           "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells("apps/v1", "Deployment", obj) == ["web", "2/3", 3, 2, "2d3h", "web,log", "nginx:1,busybox",
                                                   "app=web"]


def test_replicaset_statefulset_daemonset_rows() -> None:
    base = {"metadata": {"name": "x", "creationTimestamp": ago(seconds=30)}}
    rs = {**base, "spec": {"replicas": 2, "selector": SELECTOR, "template": TEMPLATE},
          "status": {"replicas": 2, "readyReplicas": 1}}
    assert cells("apps/v1", "ReplicaSet", rs) == ["x", 2, 2, 1, "30s", "web,log", "nginx:1,busybox", "app=web"]
    sts = {**base, "spec": {"replicas": 3, "template": TEMPLATE}, "status": {"readyReplicas": 3}}
    assert cells("apps/v1", "StatefulSet", sts) == ["x", "3/3", "30s", "web,log", "nginx:1,busybox"]
    ds_template = {"spec": {**TEMPLATE["spec"], "nodeSelector": {"kubernetes.io/os": "linux"}}}
    ds = {**base, "spec": {"selector": SELECTOR, "template": ds_template},
          "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1,
                     "updatedNumberScheduled": 1, "numberAvailable": 1}}
    assert cells("apps/v1", "DaemonSet", ds) == ["x", 1, 1, 1, 1, 1, "kubernetes.io/os=linux", "30s",
                                                 "web,log", "nginx:1,busybox", "app=web"]


@pytest.mark.parametrize(
    ("job_spec", "job_status", "expected"),
    [
        ({"completions": 1}, {"succeeded": 1, "startTime": ago(minutes=4), "completionTime": ago(minutes=3),
                              "conditions": [{"type": "Complete", "status": "True"}]},
         ["Complete", "1/1", "60s"]),
        ({"completions": 3, "parallelism": 2}, {"startTime": ago(seconds=20)}, ["Running", "0/3", "20s"]),
        ({"parallelism": 4}, {}, ["Running", "0/1 of 4", ""]),
        ({"completions": 1}, {"conditions": [{"type": "Failed", "status": "True"}]}, ["Failed", "0/1", ""]),
    ],
)
def test_job_row(job_spec: dict[str, Any], job_status: dict[str, Any], expected: list[Any]) -> None:
    obj = {"metadata": {"name": "j", "creationTimestamp": ago(minutes=5)},
           "spec": {**job_spec, "template": TEMPLATE}, "status": job_status}
    assert cells("batch/v1", "Job", obj)[1:4] == expected


def test_cronjob_row() -> None:
    obj = {"metadata": {"name": "cj", "creationTimestamp": ago(hours=1)},
           "spec": {"schedule": "*/5 * * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
           "status": {"active": [{"name": "cj-1"}], "lastScheduleTime": ago(minutes=4)}}
    assert cells("batch/v1", "CronJob", obj) == ["cj", "*/5 * * * *", "<none>", "False", 1, "4m", "60m",
                                                 "web,log", "nginx:1,busybox", "<none>"]


def test_node_row() -> None:
    obj = {"metadata": {"name": "n1", "creationTimestamp": ago(days=1),
                        "labels": {"node-role.kubernetes.io/control-plane": ""}},
           "spec": {"unschedulable": True},
           "status": {"conditions": [{"type": "Ready", "status": "True"}],
                      "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                      "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "boxk8s"}}}
    assert cells("v1", "Node", obj) == ["n1", "Ready,SchedulingDisabled", "control-plane", "24h", "v1.32.0",
                                        "172.18.0.2", "<none>", "boxk8s", "<unknown>", "<unknown>"]


def test_event_row_core_and_events_api() -> None:
    core = {"metadata": {"name": "p.1"}, "type": "Warning", "reason": "BackOff", "message": " back-off \n",
            "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
            "source": {"component": "kubelet", "host": "n1"}, "count": 4,
            "firstTimestamp": ago(minutes=6), "lastTimestamp": ago(seconds=30)}
    assert cells("v1", "Event", core) == ["30s", "Warning", "BackOff", "pod/p", "spec.containers{c}",
                                          "kubelet, n1", "back-off", "6m", 4, "p.1"]
    new = {"metadata": {"name": "e"}, "type": "Normal", "reason": "Scheduled", "note": "ok",
           "regarding": {"kind": "Pod", "name": "p"}, "reportingController": "default-scheduler",
           "eventTime": "2024-05-01T11:59:00.000000Z"}
    assert cells("events.k8s.io/v1", "Event", new) == ["60s", "Normal", "Scheduled", "pod/p", "",
                                                       "default-scheduler", "ok", "60s", 1, "e"]


def test_small_kinds() -> None:
    base = {"metadata": {"name": "x", "creationTimestamp": ago(minutes=1)}}
    assert cells("v1", "ConfigMap", {**base, "data": {"a": "1"}, "binaryData": {"b": ""}}) == ["x", 2, "60s"]
    assert cells("v1", "Secret", {**base, "type": "Opaque", "data": {"a": "MQ=="}}) == ["x", "Opaque", 1, "60s"]
    assert cells("v1", "Namespace", {**base, "status": {"phase": "Active"}}) == ["x", "Active", "60s"]
    assert cells("v1", "ServiceAccount", base) == ["x", 0, "60s"]
    assert cells("coordination.k8s.io/v1", "Lease", {**base, "spec": {"holderIdentity": "me"}}) == [
        "x", "me", "60s"]
    ep = {**base, "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(5)], "ports": [{"port": 80}]}]}
    assert cells("v1", "Endpoints", ep) == ["x", "10.0.0.0:80,10.0.0.1:80,10.0.0.2:80 + 2 more...", "60s"]
    assert cells("v1", "Endpoints", base)[1] == "<none>"
    eps = {**base, "addressType": "IPv4", "ports": [{"port": 80}], "endpoints": [{"addresses": ["10.0.0.1"]}]}
    assert cells("discovery.k8s.io/v1", "EndpointSlice", eps) == ["x", "IPv4", "80", "10.0.0.1", "60s"]
    ing = {**base, "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.test"}], "tls": [{}]}}
    assert cells("networking.k8s.io/v1", "Ingress", ing) == ["x", "nginx", "a.test", "", "80, 443", "60s"]
    assert cells("networking.k8s.io/v1", "IngressClass", {**base, "spec": {"controller": "k8s.io/nginx"}}) == [
        "x", "k8s.io/nginx", "<none>", "60s"]
    cr = {**base, "revision": 2, "metadata": {**base["metadata"], "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]}}
    assert cells("apps/v1", "ControllerRevision", cr) == ["x", "statefulset.apps/web", 2, "60s"]
    pvc = {**base, "spec": {"volumeName": "pv1", "storageClassName": "standard"},
           "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}}
    assert cells("v1", "PersistentVolumeClaim", pvc) == ["x", "Bound", "pv1", "1Gi", "RWO", "standard", "<unset>",
                                                         "60s", "<unset>"]
    pv = {**base, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                           "persistentVolumeReclaimPolicy": "Delete", "claimRef": {"namespace": "d", "name": "c"}},
          "status": {"phase": "Bound"}}
    assert cells("v1", "PersistentVolume", pv) == ["x", "1Gi", "RWO,RWX", "Delete", "Bound", "d/c", "", "<unset>",
                                                   "", "60s", "<unset>"]


def test_missing_creation_timestamp_is_unknown() -> None:
    assert cells("v1", "ConfigMap", {"metadata": {"name": "x"}})[-1] == "<unknown>"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: f"{r.group or 'core'}/{r.kind}")
def test_every_kind_has_matching_columns_and_cells(resource: Any) -> None:
    result = table(resource, [{"metadata": {"name": "x", "creationTimestamp": ago(seconds=1)}}, {}], now=NOW)
    columns = result["columnDefinitions"]
    assert result["kind"] == "Table" and result["apiVersion"] == "meta.k8s.io/v1"
    assert len(result["rows"]) == 2
    for row in result["rows"]:
        assert len(row["cells"]) == len(columns)
    assert set(columns[0]) == {"name", "type", "format", "description", "priority"}
    names = [c["name"] for c in columns if c["format"] == "name"]
    # upstream's VolumeAttachment printer marks its Attacher column as a name too
    assert names == (["Name", "Attacher"] if resource.kind == "VolumeAttachment" else ["Name"])
    if resource.kind != "Event":
        assert columns[0]["name"] == "Name" and columns[0]["priority"] == 0


def test_headline_columns() -> None:
    def headline(api_version: str, kind: str, wide: bool = False) -> list[str]:
        cols = table(rt(api_version, kind), [], now=NOW)["columnDefinitions"]
        return [c["name"].upper() for c in cols if wide or c["priority"] == 0]

    assert headline("v1", "Pod") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert headline("v1", "Pod", wide=True)[5:] == ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    assert headline("v1", "Service") == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert headline("apps/v1", "Deployment") == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert headline("v1", "Event") == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert headline("v1", "Node") == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert headline("batch/v1", "Job") == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]


def test_include_object_modes_and_list_meta() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "uid": "u"}, "data": {"k": "v"}}
    cm = rt("v1", "ConfigMap")
    meta_row = table(cm, [obj], now=NOW, list_meta={"resourceVersion": "42", "continue": ""})
    assert meta_row["metadata"] == {"resourceVersion": "42"}
    assert meta_row["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                             "metadata": {"name": "x", "uid": "u"}}
    assert table(cm, [obj], include_object="Object", now=NOW)["rows"][0]["object"] == obj
    assert table(cm, [obj], include_object="None", now=NOW)["rows"][0]["object"] is None
    with pytest.raises(BadRequest):
        table(cm, [obj], include_object="Everything")
