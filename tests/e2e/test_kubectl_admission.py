"""kubectl 1.32 against `boxk8s up` with simulated nodes only (no Docker): the default
ServiceAccount, quota refusals in the apiserver's words, ReplicationControllers scaled and deleted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import remove_cluster_objects

POD_SUBNET = "10.216.0.0/16"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state", extra=["--nodes", "0", "--fake-nodes", "1"],
                     cluster_name=f"boxk8s-ctrl-{uuid.uuid4().hex[:8]}", pod_subnet=POD_SUBNET)
    try:
        wait_for(lambda: b.kubectl("get", "sa", "default", check=False).returncode == 0, what="the default account")
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"


def get_json(c: Boxk8s, *args: str) -> dict:
    return json.loads(c.kubectl("get", *args, "-o", "json").stdout)


def pod_yaml(name: str, cpu: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [{"name": "main", "image": "boxk8s-busybox:latest",
                                                "resources": {"requests": {"cpu": cpu}}}]}})


def test_default_service_account_in_a_new_namespace(fake: Boxk8s) -> None:
    fake.kubectl("create", "namespace", "team")
    out = wait_for(lambda: (r := fake.kubectl("get", "sa", "default", "-n", "team", check=False)).returncode == 0
                   and r.stdout, what="the default ServiceAccount")
    assert out.splitlines()[0].split() == ["NAME", "SECRETS", "AGE"]
    assert out.splitlines()[1].split()[:2] == ["default", "0"]
    refused = fake.kubectl("run", "robot", "-n", "team", "--image=boxk8s-busybox:latest",
                           "--overrides", json.dumps({"spec": {"serviceAccountName": "robot"}}), check=False)
    assert refused.returncode == 1
    assert ('Error from server (Forbidden): pods "robot" is forbidden: error looking up service account '
            'team/robot: serviceaccount "robot" not found') in refused.stderr


def test_quota_refuses_with_the_apiservers_message(fake: Boxk8s) -> None:
    fake.kubectl("create", "namespace", "quota")
    assert "resourcequota/q created" in fake.kubectl(
        "create", "quota", "q", "-n", "quota", "--hard=pods=2,requests.cpu=1").stdout
    wait_for(lambda: (get_json(fake, "quota", "q", "-n", "quota").get("status") or {}).get("used"),
             what="the quota's usage")
    fake.kubectl("create", "-n", "quota", "-f", "-", input=pod_yaml("p1", "600m"))
    refused = fake.kubectl("create", "-n", "quota", "-f", "-", input=pod_yaml("p2", "600m"), check=False)
    assert refused.returncode == 1
    assert ('Error from server (Forbidden): error when creating "STDIN": pods "p2" is forbidden: exceeded quota: q, '
            "requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1") in refused.stderr
    bare = fake.kubectl("run", "bare", "-n", "quota", "--image=boxk8s-busybox:latest", check=False)
    assert 'pods "bare" is forbidden: failed quota: q: must specify requests.cpu for: bare' in bare.stderr
    status = get_json(fake, "quota", "q", "-n", "quota")["status"]
    assert status == {"hard": {"pods": "2", "requests.cpu": "1"}, "used": {"pods": "1", "requests.cpu": "600m"}}
    listed = fake.kubectl("get", "quota", "-n", "quota").stdout.splitlines()
    assert listed[0].split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert listed[1].split()[0] == "q" and "pods: 1/2, requests.cpu: 600m/1" in listed[1]


def test_replication_controller_get_scale_delete(fake: Boxk8s) -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web"},
          "spec": {"replicas": 2, "selector": {"app": "web"},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "web", "image": "boxk8s-busybox:latest"}]}}}}
    assert "replicationcontroller/web created" in fake.kubectl("apply", "-f", "-", input=json.dumps(rc)).stdout

    def ready(n: int) -> bool:
        status = get_json(fake, "rc", "web").get("status") or {}
        return status.get("replicas") == n and status.get("readyReplicas") == n
    wait_for(lambda: ready(2), what="2 ready replicas")
    listed = fake.kubectl("get", "rc").stdout.splitlines()
    assert listed[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert listed[1].split()[:4] == ["web", "2", "2", "2"]
    assert "replicationcontroller/web scaled" in fake.kubectl("scale", "rc/web", "--replicas=3").stdout
    wait_for(lambda: ready(3), what="3 ready replicas")
    pods = get_json(fake, "pods", "-l", "app=web")["items"]
    assert len(pods) == 3
    assert {(r["kind"], r["name"], r["controller"]) for p in pods for r in p["metadata"]["ownerReferences"]} == {
        ("ReplicationController", "web", True)}

    # kubectl deletes with propagationPolicy=Background (its --cascade default): the pods go too,
    # though an RC left to its own default policy orphans them.
    fake.kubectl("delete", "rc", "web")
    wait_for(lambda: not get_json(fake, "pods", "-l", "app=web")["items"], what="the RC's pods deleted")

    rc["metadata"]["name"] = "kept"
    rc["spec"]["selector"] = rc["spec"]["template"]["metadata"]["labels"] = {"app": "kept"}
    fake.kubectl("apply", "-f", "-", input=json.dumps(rc))
    wait_for(lambda: len(get_json(fake, "pods", "-l", "app=kept")["items"]) == 2, what="2 pods")
    fake.kubectl("delete", "rc", "kept", "--cascade=orphan")
    wait_for(lambda: all(not p["metadata"].get("ownerReferences")
                         for p in get_json(fake, "pods", "-l", "app=kept")["items"]), what="orphaned pods")
    assert len(get_json(fake, "pods", "-l", "app=kept")["items"]) == 2
