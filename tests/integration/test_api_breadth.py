"""Every kind a 1.32 apiserver serves, walked through discovery as a client finds them (issue 12's
check that stays true), and the pieces of the API that only some kinds have."""

from __future__ import annotations

import gzip
from importlib import resources
from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

from boxk8s.resources.definitions import definitions
from tests.integration.conftest import AUTH, PODS, Api, assert_status, pod

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# What `kubectl api-resources -o wide` shows on a kubeadm 1.32 cluster where it differs from
# "all eight verbs, no short name, no category".
VERBS = {"namespaces": ["create", "delete", "get", "list", "patch", "update", "watch"],
         "componentstatuses": ["get", "list"], "bindings": ["create"],
         **{r: ["create"] for r in ("tokenreviews", "selfsubjectreviews", "localsubjectaccessreviews",
                                    "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews")}}
SHORT_NAMES = {
    "componentstatuses": ["cs"], "configmaps": ["cm"], "endpoints": ["ep"], "events": ["ev"],
    "limitranges": ["limits"], "namespaces": ["ns"], "nodes": ["no"], "persistentvolumeclaims": ["pvc"],
    "persistentvolumes": ["pv"], "pods": ["po"], "replicationcontrollers": ["rc"], "resourcequotas": ["quota"],
    "serviceaccounts": ["sa"], "services": ["svc"], "daemonsets": ["ds"], "deployments": ["deploy"],
    "replicasets": ["rs"], "statefulsets": ["sts"], "horizontalpodautoscalers": ["hpa"], "cronjobs": ["cj"],
    "certificatesigningrequests": ["csr"], "ingresses": ["ing"], "networkpolicies": ["netpol"],
    "poddisruptionbudgets": ["pdb"], "priorityclasses": ["pc"], "storageclasses": ["sc"],
    "customresourcedefinitions": ["crd", "crds"],
}
CATEGORIES = {
    **{r: ["all"] for r in ("pods", "replicationcontrollers", "services", "daemonsets", "deployments", "replicasets",
                            "statefulsets", "horizontalpodautoscalers", "cronjobs", "jobs")},
    **{r: ["api-extensions"] for r in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations",
                                       "validatingadmissionpolicies", "validatingadmissionpolicybindings",
                                       "apiservices", "customresourcedefinitions")},
}
# GA kinds of the official 1.32 definitions that are not served as a resource of their own here,
# each with its reason. Keep this list short: a kind leaves it when it is served.
NOT_SERVED = {
    "TokenRequest": "a subresource (serviceaccounts/token)",
    "Eviction": "a subresource (pods/eviction)",
    "Scale": "a subresource (deployments/scale, …)",
}
META_KINDS = {"APIGroup", "APIVersions", "DeleteOptions", "Status", "WatchEvent"}  # not resources anywhere


def official_ga_kinds() -> set[tuple[str, str, str]]:
    out = set()
    for name, schema in definitions().items():
        if not name.startswith(("io.k8s.api.", "io.k8s.kube-aggregator.", "io.k8s.apiextensions-apiserver.")):
            continue
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            version, kind = gvk["version"], gvk["kind"]
            if "alpha" in version or "beta" in version or kind.endswith("List") or kind in META_KINDS:
                continue
            out.add((gvk["group"], version, kind))
    return out


async def served_resources(api: Api) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every top-level resource of discovery, by (group, version, kind)."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    paths = ["/api/v1"]
    for group in (await api.ok("GET", "/apis"))["groups"]:
        if group["name"] == "metrics.k8s.io":  # aggregated, not a stored kind: tests/integration/test_metrics_api.py
            continue
        paths += [f"/apis/{v['groupVersion']}" for v in group["versions"]]
    for path in paths:
        doc = await api.ok("GET", path)
        group, _, version = doc["groupVersion"].rpartition("/")
        for entry in doc["resources"]:
            if "/" not in entry["name"]:
                out[(group, version, entry["kind"])] = entry
    return out


async def test_every_ga_kind_is_served_as_upstream_serves_it(api: Api) -> None:
    served = await served_resources(api)
    missing = {gvk for gvk in official_ga_kinds() - served.keys() if gvk[2] not in NOT_SERVED}
    assert not missing, f"GA kinds neither served nor listed as exceptions: {sorted(missing)}"
    wrong_exceptions = [k for k in NOT_SERVED if any(kind == k for _, _, kind in served)]
    assert not wrong_exceptions, f"served now, take them off NOT_SERVED: {wrong_exceptions}"
    for (_group, _version, _kind), entry in served.items():
        name = entry["name"]
        assert sorted(entry["verbs"]) == VERBS.get(name, ALL_VERBS), name
        assert entry.get("shortNames", []) == SHORT_NAMES.get(name, []), name
        assert entry.get("categories", []) == CATEGORIES.get(name, []), name


async def test_a_group_of_two_versions_prefers_the_newest(api: Api) -> None:
    group = await api.ok("GET", "/apis/autoscaling")
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    listed = [g for g in (await api.ok("GET", "/apis"))["groups"] if g["name"] == "autoscaling"]
    assert len(listed) == 1


async def test_verbs_a_kind_lacks_are_refused(api: Api) -> None:
    code, body, _ = await api.request("DELETE", "/api/v1/namespaces")
    assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = await api.post("/api/v1/componentstatuses", {"metadata": {"name": "x"}})
    assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = await api.get("/api/v1/namespaces/default/bindings")
    assert_status(code, body, 405, "MethodNotAllowed")


async def test_the_bindings_resource_binds_the_pod_it_names(api: Api) -> None:
    await api.ok("POST", PODS, body=pod("unbound"))
    await api.ok("POST", "/api/v1/namespaces/default/bindings", body={
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "unbound"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}})
    bound = await api.ok("GET", f"{PODS}/unbound")
    assert bound["spec"]["nodeName"] == "node-a"


def _document_class() -> Any:
    raw = (resources.files("boxk8s.api") / "openapiv2-descriptor.binpb.gz").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
    for fd in descriptor_pb2.FileDescriptorSet.FromString(gzip.decompress(raw)).file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("openapi.v2.Document"))


async def test_openapi_v2_as_protobuf(api: Api) -> None:
    resp = await api.client.get("/openapi/v2", headers={
        **AUTH, "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    doc = _document_class().FromString(await resp.read())
    assert doc.swagger == "2.0"
    schemas = {named.name: named.value for named in doc.definitions.additional_properties}
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    extensions = {e.name: e.value.yaml for e in deployment.vendor_extension}
    assert '"kind":"Deployment"' in extensions["x-kubernetes-group-version-kind"]
    props = {p.name: p.value for p in deployment.properties.additional_properties}
    assert props["spec"]._ref == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    paths = {p.name for p in doc.paths.path}
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in paths
