"""Decoding Kubernetes protobuf bodies into the JSON a JSON client would have sent."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from google.protobuf.message import Message

from boxk8s.api.protobuf import MAGIC, decode_k8s_protobuf, go_duration, message_class

CORE = "k8s.io.api.core.v1"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"


def new(name: str) -> Any:
    return message_class(name)()


def envelope(api_version: str, kind: str, msg: Message) -> bytes:
    unknown = new("k8s.io.apimachinery.pkg.runtime.Unknown")
    unknown.typeMeta.apiVersion = api_version
    unknown.typeMeta.kind = kind
    unknown.raw = msg.SerializeToString()
    unknown.contentEncoding = ""  # Go writes these (empty) too
    unknown.contentType = ""
    return MAGIC + unknown.SerializeToString()


def test_configmap_with_data_and_labels() -> None:
    cm = new(f"{CORE}.ConfigMap")
    cm.metadata.name = "x"
    cm.metadata.namespace = ""  # a Go value field: empty means unset
    cm.metadata.labels["app"] = "web"
    cm.metadata.creationTimestamp.SetInParent()  # Go's zero Time: an empty message
    cm.data["a"] = "1"
    cm.data["empty"] = ""  # map values are never dropped
    assert decode_k8s_protobuf(envelope("v1", "ConfigMap", cm)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "labels": {"app": "web"}},
        "data": {"a": "1", "empty": ""},
    }


def test_secret_bytes_are_base64_and_pointer_false_is_kept() -> None:
    secret = new(f"{CORE}.Secret")
    secret.metadata.name = "s"
    secret.data["k"] = b"v\x00\xff"
    secret.type = "Opaque"
    secret.immutable = False  # *bool: on the wire only because the client set it
    assert decode_k8s_protobuf(envelope("v1", "Secret", secret)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"k": "dgD/"},
        "type": "Opaque",
        "immutable": False,
    }


def test_deployment_zero_values_quantities_and_int_or_string() -> None:
    dep = new("k8s.io.api.apps.v1.Deployment")
    dep.metadata.name = "d"
    dep.metadata.generation = 0  # value field, omitempty: dropped
    spec = dep.spec
    spec.replicas = 0  # *int32: scale to zero is meaningful
    spec.minReadySeconds = 0  # value field: dropped
    spec.paused = False  # value field: dropped
    spec.selector.matchLabels["app"] = "d"
    spec.strategy.type = "RollingUpdate"
    spec.strategy.rollingUpdate.maxSurge.type = 1
    spec.strategy.rollingUpdate.maxSurge.strVal = "25%"
    spec.strategy.rollingUpdate.maxUnavailable.type = 0
    spec.strategy.rollingUpdate.maxUnavailable.intVal = 0
    spec.strategy.rollingUpdate.maxUnavailable.strVal = ""
    spec.template.metadata.labels["app"] = "d"
    container = spec.template.spec.containers.add()
    container.name = "web"
    container.image = "nginx"
    container.workingDir = ""
    container.tty = False
    port = container.ports.add()
    port.containerPort = 80
    port.hostPort = 0
    port.protocol = "TCP"
    zero_port = container.ports.add()
    zero_port.containerPort = 0  # required in Go JSON: kept
    env = container.env.add()
    env.name = "A"
    env.value = "1"
    container.resources.limits["memory"].string = "128Mi"
    container.resources.requests["cpu"].string = "100m"
    container.securityContext.runAsUser = 0  # *int64: root, on purpose
    container.securityContext.privileged = False
    spec.template.spec.terminationGracePeriodSeconds = 0
    spec.template.spec.hostNetwork = False
    dep.status.SetInParent()  # non-pointer struct: Go JSON writes status: {}
    assert decode_k8s_protobuf(envelope("apps/v1", "Deployment", dep)) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 0}],
                            "env": [{"name": "A", "value": "1"}],
                            "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}},
                            "securityContext": {"runAsUser": 0, "privileged": False},
                        }
                    ],
                    "terminationGracePeriodSeconds": 0,
                },
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        },
        "status": {},
    }


def test_pod_creation_timestamp() -> None:
    pod = new(f"{CORE}.Pod")
    pod.metadata.name = "p"
    pod.metadata.creationTimestamp.seconds = 1704164645
    pod.metadata.creationTimestamp.nanos = 0
    container = pod.spec.containers.add()
    container.name = "c"
    container.resources.SetInParent()
    got = decode_k8s_protobuf(envelope("v1", "Pod", pod))
    assert got == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "creationTimestamp": "2024-01-02T03:04:05Z"},
        "spec": {"containers": [{"name": "c", "resources": {}}]},
    }


def test_service_target_port_int() -> None:
    svc = new(f"{CORE}.Service")
    svc.metadata.name = "svc"
    port = svc.spec.ports.add()
    port.name = "80-8080"
    port.protocol = "TCP"
    port.port = 80
    port.nodePort = 0
    port.targetPort.type = 0
    port.targetPort.intVal = 8080
    port.targetPort.strVal = ""
    svc.spec.selector["app"] = "svc"
    svc.spec.type = "ClusterIP"
    svc.status.loadBalancer.SetInParent()
    assert decode_k8s_protobuf(envelope("v1", "Service", svc)) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc"},
        "spec": {
            "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
            "selector": {"app": "svc"},
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def test_lease_micro_time_and_pointer_empty_string() -> None:
    lease = new("k8s.io.api.coordination.v1.Lease")
    lease.metadata.name = "leader"
    lease.spec.holderIdentity = ""  # *string: released lease
    lease.spec.leaseTransitions = 0
    lease.spec.renewTime.seconds = 1704164645
    lease.spec.renewTime.nanos = 123456789
    assert decode_k8s_protobuf(envelope("coordination.k8s.io/v1", "Lease", lease)) == {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader"},
        "spec": {"holderIdentity": "", "leaseTransitions": 0, "renewTime": "2024-01-02T03:04:05.123456Z"},
    }


def test_eviction_and_meta_kinds_in_group_versions() -> None:
    eviction = new("k8s.io.api.policy.v1.Eviction")
    eviction.metadata.name = "p"
    eviction.metadata.namespace = "default"
    eviction.deleteOptions.gracePeriodSeconds = 0
    assert decode_k8s_protobuf(envelope("policy/v1", "Eviction", eviction)) == {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "p", "namespace": "default"},
        "deleteOptions": {"gracePeriodSeconds": 0},
    }
    # policy/v1beta1 (drain against a server without policy/v1): the same message, its own apiVersion
    assert decode_k8s_protobuf(envelope("policy/v1beta1", "Eviction", eviction))["apiVersion"] == "policy/v1beta1"
    opts = new(f"{META}.DeleteOptions")
    opts.propagationPolicy = "Foreground"
    assert decode_k8s_protobuf(envelope("v1", "DeleteOptions", opts)) == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Foreground",
    }


def test_raw_extension_and_fields_v1_hold_json() -> None:
    rev = new("k8s.io.api.apps.v1.ControllerRevision")
    rev.metadata.name = "r"
    entry = rev.metadata.managedFields.add()
    entry.manager = "kubectl"
    entry.fieldsType = "FieldsV1"
    entry.fieldsV1.Raw = b'{"f:data":{}}'
    rev.data.raw = b'{"spec":{"replicas":2}}'
    rev.revision = 3
    assert decode_k8s_protobuf(envelope("apps/v1", "ControllerRevision", rev)) == {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": "r",
            "managedFields": [{"manager": "kubectl", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}],
        },
        "data": {"spec": {"replicas": 2}},
        "revision": 3,
    }


def test_embedded_json_that_json_cannot_carry_is_refused() -> None:
    rev = new("k8s.io.api.apps.v1.ControllerRevision")
    rev.metadata.name = "r"
    rev.data.raw = b'{"spec":{"ratio":NaN}}'
    with pytest.raises(ValueError, match="embedded object is not JSON"):
        decode_k8s_protobuf(envelope("apps/v1", "ControllerRevision", rev))


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (1_500_000, "1.5ms"),
        (1_500_000_000, "1.5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (-3_661_000_000_001, "-1h1m1.000000001s"),
    ],
)
def test_go_duration(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def _configmap_body() -> bytes:
    cm = new(f"{CORE}.ConfigMap")
    cm.metadata.name = "x"
    cm.data["a"] = "1"
    return envelope("v1", "ConfigMap", cm)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "ConfigMap"}', "magic"),
        (_configmap_body()[:20], "malformed"),
        (MAGIC + b"\x0a\xff", "malformed"),
        (envelope("v1", "NoSuchKind", new(f"{CORE}.ConfigMap")), "NoSuchKind"),
        (envelope("v1", "ConfigMap.DataEntry", new(f"{CORE}.ConfigMap")), "DataEntry"),
        (envelope("example.com/v1", "Widget", new(f"{CORE}.ConfigMap")), "Widget"),
        (envelope("", "ConfigMap", new(f"{CORE}.ConfigMap")), "apiVersion"),
    ],
)
def test_bad_input_raises_value_error(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_k8s_protobuf(body)


KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not on PATH")
@pytest.mark.timeout(60)
async def test_kubectl_create_configmap_body(tmp_path: Path) -> None:
    """What kubectl really sends decodes to what it prints for --dry-run=client -o json."""
    assert KUBECTL is not None
    bodies: list[tuple[str, dict[str, Any]]] = []

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        if path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            resource = {
                "name": "configmaps",
                "singularName": "configmap",
                "namespaced": True,
                "kind": "ConfigMap",
                "verbs": ["create", "get", "list"],
            }
            return web.json_response(
                {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [resource]}
            )
        if request.method == "POST" and path == "/api/v1/namespaces/default/configmaps":
            obj = decode_k8s_protobuf(await request.read())
            bodies.append((request.content_type, obj))
            return web.json_response(obj, status=201)
        return web.json_response({"kind": "Status", "apiVersion": "v1", "code": 404}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
        common = [
            f"--kubeconfig={kubeconfig}",
            f"--server=http://127.0.0.1:{port}",
            f"--cache-dir={tmp_path / 'cache'}",
        ]
        create = ["create", "configmap", "x", "--from-literal=a=1", "--from-literal=b=", "-o", "json"]

        async def kubectl(*args: str) -> bytes:
            proc = await asyncio.create_subprocess_exec(
                KUBECTL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
            return out

        expected = json.loads(await kubectl(*common, *create, "--dry-run=client"))
        await kubectl(*common, *create)
    finally:
        await runner.cleanup()

    # Go's JSON writes the zero creationTimestamp as null; the decoder omits it.
    assert expected["metadata"].pop("creationTimestamp") is None
    assert bodies == [("application/vnd.kubernetes.protobuf", expected)]
    assert expected["data"] == {"a": "1", "b": ""}


def test_embedded_structs_are_flattened_as_go_json_does() -> None:
    """`kubectl create ingress` sends IngressRule.ingressRuleValue: in JSON its `http` sits in the rule."""
    ing = new("k8s.io.api.networking.v1.Ingress")
    ing.metadata.name = "web"
    rule = ing.spec.rules.add()
    rule.host = "web.localhost"
    path = rule.ingressRuleValue.http.paths.add()
    path.path = "/app"
    path.pathType = "Prefix"
    path.backend.service.name = "web"
    path.backend.service.port.number = 80
    assert decode_k8s_protobuf(envelope("networking.k8s.io/v1", "Ingress", ing))["spec"] == {"rules": [{
        "host": "web.localhost",
        "http": {"paths": [{"path": "/app", "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]},
    }]}
    pod = new(f"{CORE}.Pod")
    pod.metadata.name = "p"
    volume = pod.spec.volumes.add()
    volume.name = "data"
    volume.volumeSource.emptyDir.SetInParent()
    c = pod.spec.containers.add()
    c.name = "c"
    c.readinessProbe.handler.tcpSocket.port.intVal = 8080
    spec = decode_k8s_protobuf(envelope("v1", "Pod", pod))["spec"]
    assert spec["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert spec["containers"][0]["readinessProbe"] == {"tcpSocket": {"port": 8080}}
