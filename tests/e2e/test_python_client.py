"""The official `kubernetes` Python client against a running `boxk8s up`."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.e2e.conftest import Boxk8s


@pytest.fixture(scope="module")
def api(cluster: Boxk8s) -> Iterator[client.ApiClient]:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=cfg)
    with client.ApiClient(cfg) as c:
        yield c


def test_core_v1_crud(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm", labels={"from": "python"}),
                              data={"a": "1"})
    created = core.create_namespaced_config_map("default", body)
    assert created.metadata.uid and created.metadata.resource_version
    read = core.read_namespaced_config_map("py-cm", "default")
    assert read.data == {"a": "1"}
    listed = core.list_namespaced_config_map("default", label_selector="from=python")
    assert [i.metadata.name for i in listed.items] == ["py-cm"]
    patched = core.patch_namespaced_config_map("py-cm", "default", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    patched.data = {"c": "3"}
    replaced = core.replace_namespaced_config_map("py-cm", "default", patched)
    assert replaced.data == {"c": "3"}
    stale = read
    stale.data = {"stale": "yes"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("py-cm", "default", stale)
    assert conflict.value.status == 409
    core.delete_namespaced_config_map("py-cm", "default")
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("py-cm", "default")
    assert missing.value.status == 404


def test_apps_v1_crud(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-dep"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "py"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="boxk8s-busybox:latest")]),
            ),
        ),
    )
    created = apps.create_namespaced_deployment("default", dep)
    assert created.spec.strategy.type == "RollingUpdate"  # defaulted by the server
    assert created.metadata.generation == 1
    patched = apps.patch_namespaced_deployment("py-dep", "default", {"spec": {"replicas": 4}})
    assert patched.spec.replicas == 4 and patched.metadata.generation == 2
    scale = apps.read_namespaced_deployment_scale("py-dep", "default")
    assert scale.spec.replicas == 4
    names = [d.metadata.name for d in apps.list_deployment_for_all_namespaces().items]
    assert "py-dep" in names
    apps.delete_namespaced_deployment("py-dep", "default")
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("py-dep", "default")
    assert missing.value.status == 404


def test_watch_resumes_from_resource_version(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w-1"), data={"n": "1"}))
    rv = first.metadata.resource_version
    core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w-2"), data={"n": "2"}))
    core.patch_namespaced_config_map("w-1", "default", {"data": {"n": "10"}})
    core.delete_namespaced_config_map("w-2", "default")

    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    timer = threading.Timer(30, w.stop)
    timer.start()
    try:
        for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=30):
            name = ev["object"].metadata.name
            if name.startswith("w-"):
                seen.append((ev["type"], name))
            if len(seen) == 3:
                w.stop()
    finally:
        timer.cancel()
    assert seen == [("ADDED", "w-2"), ("MODIFIED", "w-1"), ("DELETED", "w-2")]

    apps = client.AppsV1Api(api)
    lst = apps.list_namespaced_deployment("default")
    w2 = watch.Watch()
    got = []
    for ev in w2.stream(apps.list_namespaced_deployment, "default",
                        resource_version=lst.metadata.resource_version, timeout_seconds=2):
        got.append(ev)
    assert got == []  # nothing changed since the list: a resumed watch replays nothing
