"""What a fresh cluster has (default RBAC, StorageClass, PriorityClasses, APIServices, ComponentStatus),
the ClusterRole aggregation, the DefaultStorageClass and Priority admission, and the real kubectl
listing them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Kind
from boxk8s.controllers.clusterroleaggregation import ClusterRoleAggregationController
from boxk8s.controllers.pvc import PERSISTENT_VOLUMES, PersistentVolumeBinder
from boxk8s.resources import registry
from tests.integration.conftest import PODS, Api, assert_status, running_api
from tests.integration.controllers_harness import eventually, harness
from tests.integration.test_cluster_kinds import Kubectl, serving

RBAC = "/apis/rbac.authorization.k8s.io/v1"
PCS = "/apis/scheduling.k8s.io/v1/priorityclasses"
SCS = "/apis/storage.k8s.io/v1/storageclasses"
APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"
CS = "/api/v1/componentstatuses"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
CLUSTER_ROLES = registry.find("rbac.authorization.k8s.io", "v1", "clusterroles")
STORAGE_CLASSES = registry.find("storage.k8s.io", "v1", "storageclasses")

DEFAULT_ROLES = {"cluster-admin", "admin", "edit", "view", "system:aggregate-to-admin", "system:aggregate-to-edit",
                 "system:aggregate-to-view", "system:discovery", "system:basic-user", "system:monitoring",
                 "system:public-info-viewer"}


def names(body: dict[str, Any]) -> set[str]:
    return {i["metadata"]["name"] for i in body["items"]}


async def test_a_fresh_cluster_has_the_default_objects(api: Api) -> None:
    roles = {r["metadata"]["name"]: r for r in (await api.ok("GET", f"{RBAC}/clusterroles"))["items"]}
    assert DEFAULT_ROLES <= set(roles)
    for role in (roles[n] for n in DEFAULT_ROLES):
        assert role["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert role["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    assert roles["cluster-admin"]["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                               {"nonResourceURLs": ["*"], "verbs": ["*"]}]
    assert roles["view"]["aggregationRule"] == {"clusterRoleSelectors": [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}
    assert roles["view"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert roles["edit"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"

    bindings = {b["metadata"]["name"]: b for b in (await api.ok("GET", f"{RBAC}/clusterrolebindings"))["items"]}
    groups = {n: [s["name"] for s in b["subjects"]] for n, b in bindings.items()}
    assert groups == {"cluster-admin": ["system:masters"], "system:discovery": ["system:authenticated"],
                      "system:basic-user": ["system:authenticated"], "system:monitoring": ["system:monitoring"],
                      "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"]}
    assert bindings["cluster-admin"]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                    "name": "cluster-admin"}

    [sc] = (await api.ok("GET", SCS))["items"]
    assert sc["metadata"]["name"] == "standard"
    assert sc["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert (sc["provisioner"], sc["reclaimPolicy"], sc["volumeBindingMode"]) == (
        "boxk8s.io/docker-volume", "Delete", "Immediate")

    pcs = {p["metadata"]["name"]: p for p in (await api.ok("GET", PCS))["items"]}
    assert {n: (p["value"], p.get("globalDefault", False), p["preemptionPolicy"]) for n, p in pcs.items()} == {
        "system-cluster-critical": (2000000000, False, "PreemptLowerPriority"),
        "system-node-critical": (2000001000, False, "PreemptLowerPriority")}
    assert pcs["system-node-critical"]["description"] == (
        "Used for system critical pods that must not be moved from their current node.")
    code, body, _ = await api.delete(f"{PCS}/system-cluster-critical")
    assert_status(code, body, 403, "Forbidden")
    assert body["message"].endswith("this is a system priority class and cannot be deleted")

    services = {a["metadata"]["name"]: a for a in (await api.ok("GET", APISERVICES))["items"]}
    assert {"v1.", "v1.apps", "v1.autoscaling", "v2.autoscaling", "v1.batch", "v1.rbac.authorization.k8s.io",
            "v1.storage.k8s.io", "v1.scheduling.k8s.io", "v1.networking.k8s.io"} <= set(services)
    assert "v1.apiregistration.k8s.io" not in services  # the aggregator's own group has none
    assert services["v1."]["spec"] == {"version": "v1", "groupPriorityMinimum": 18000, "versionPriority": 1}
    for a in services.values():
        assert "service" not in a["spec"] or a["spec"]["service"] is None
        [cond] = a["status"]["conditions"]
        assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
            "Available", "True", "Local", "Local APIServices are always available")


async def test_component_statuses_are_a_read_only_view(api: Api) -> None:
    code, body, resp = await api.get(CS)
    assert code == 200 and body["kind"] == "ComponentStatusList", body
    assert resp.headers.getall("Warning") == ['299 - "v1 ComponentStatus is deprecated in v1.19+"']
    assert {i["metadata"]["name"]: i["conditions"] for i in body["items"]} == {
        n: [{"type": "Healthy", "status": "True", "message": "ok"}] for n in ("scheduler", "controller-manager", "etcd-0")}
    etcd = await api.ok("GET", f"{CS}/etcd-0")
    assert etcd["kind"] == "ComponentStatus" and etcd["metadata"]["name"] == "etcd-0"
    code, body, _ = await api.get(f"{CS}/nope")
    assert_status(code, body, 404, "NotFound")
    # get and list are its only verbs
    for method, path in (("POST", CS), ("DELETE", f"{CS}/etcd-0"), ("PUT", f"{CS}/etcd-0")):
        code, body, _ = await api.request(method, path, body={"metadata": {"name": "etcd-0"}})
        assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = await api.get(CS, params={"watch": "1"})
    assert_status(code, body, 405, "MethodNotAllowed")
    # selectors filter as on any list: nothing has a label
    assert (await api.ok("GET", CS, params={"labelSelector": "a=b"}))["items"] == []
    assert names(await api.ok("GET", CS, params={"fieldSelector": "metadata.name=scheduler"})) == {"scheduler"}


async def test_a_restarted_cluster_keeps_what_it_has(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        # the user makes another class the default and deletes a default role
        await api.ok("PATCH", f"{SCS}/standard", data='{"metadata":{"annotations":{'
                     '"storageclass.kubernetes.io/is-default-class":"false"}}}',
                     content_type="application/merge-patch+json")
        await api.ok("DELETE", f"{RBAC}/clusterroles/system:public-info-viewer")
        # an APIService boxk8s made for a group it no longer serves, and one someone else made
        await api.ok("POST", APISERVICES, body={"metadata": {"name": "v1beta1.gone.example.com", "labels": {
            "kube-aggregator.kubernetes.io/automanaged": "onstart"}}, "spec": {
            "group": "gone.example.com", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 1}})
        await api.ok("POST", APISERVICES, body={"metadata": {"name": "v1.mine.example.com"}, "spec": {
            "group": "mine.example.com", "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 1}})
    async with running_api(tmp_path) as api:
        sc = await api.ok("GET", f"{SCS}/standard")
        assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "false"
        roles = names(await api.ok("GET", f"{RBAC}/clusterroles"))
        assert "system:public-info-viewer" in roles  # bootstrap creates what is missing
        services = names(await api.ok("GET", APISERVICES))
        assert "v1beta1.gone.example.com" not in services and "v1.mine.example.com" in services
        # no default class now: a claim keeps none
        claim = await api.ok("POST", PVCS, body=pvc("solo"))
        assert "storageClassName" not in claim["spec"]


def pvc(name: str, cls: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


async def test_default_storage_class_admission(api: Api) -> None:
    claim = await api.ok("POST", PVCS, body=pvc("data"))
    assert claim["spec"]["storageClassName"] == "standard"
    assert (await api.ok("POST", PVCS, body=pvc("none", "")))["spec"]["storageClassName"] == ""
    assert (await api.ok("POST", PVCS, body=pvc("fast", "fast")))["spec"]["storageClassName"] == "fast"
    # a second default: the newest wins (GetDefaultClass since 1.26), and within the same second
    # (creationTimestamp's resolution) the first by name: "fast" either way
    await api.ok("POST", SCS, body={"metadata": {"name": "fast", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "example.com/fast"})
    assert (await api.ok("POST", PVCS, body=pvc("later")))["spec"]["storageClassName"] == "fast"
    # an update never applies the default
    updated = await api.ok("PATCH", f"{PVCS}/none", data='{"metadata":{"labels":{"a":"b"}}}',
                           content_type="application/merge-patch+json")
    assert updated["spec"]["storageClassName"] == ""


async def test_claims_are_provisioned_for_our_classes_only(tmp_path: Path) -> None:
    async with harness(tmp_path, [PersistentVolumeBinder]) as h:
        assert Kind.PVC and PERSISTENT_VOLUMES and STORAGE_CLASSES
        await h.client.create(STORAGE_CLASSES, None, {"metadata": {"name": "keep"}, "provisioner":
                                                      "boxk8s.io/docker-volume", "reclaimPolicy": "Retain"})
        await h.client.create(STORAGE_CLASSES, None, {"metadata": {"name": "ebs"}, "provisioner": "ebs.csi.aws.com"})
        for name, cls in (("plain", None), ("kept", "keep"), ("remote", "ebs"), ("lost", "no-such-class")):
            await h.client.create(Kind.PVC, "default", pvc(name, cls))

        async def bound(name: str) -> dict[str, Any] | None:
            c = await h.client.get(Kind.PVC, "default", name)
            return c if c["status"].get("phase") == "Bound" else None

        plain = await eventually(lambda: bound("plain"))
        assert plain["spec"]["storageClassName"] == "standard"  # the DefaultStorageClass admission's
        assert plain["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "boxk8s.io/docker-volume"
        pv = await h.client.get(PERSISTENT_VOLUMES, None, plain["spec"]["volumeName"])
        assert pv["spec"]["storageClassName"] == "standard"
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "boxk8s.io/docker-volume"
        kept = await eventually(lambda: bound("kept"))
        pv = await h.client.get(PERSISTENT_VOLUMES, None, kept["spec"]["volumeName"])
        assert (pv["spec"]["storageClassName"], pv["spec"]["persistentVolumeReclaimPolicy"]) == ("keep", "Retain")

        async def event(claim: str, reason: str) -> dict[str, Any] | None:
            for ev in await h.client.list(Kind.EVENT, "default"):
                if ev["involvedObject"]["name"] == claim and ev["reason"] == reason:
                    return ev
            return None

        waiting = await eventually(lambda: event("remote", "ExternalProvisioning"))
        assert waiting["type"] == "Normal" and waiting["source"]["component"] == "persistentvolume-binder-controller"
        assert waiting["message"].startswith(
            "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually")
        remote = await h.client.get(Kind.PVC, "default", "remote")
        assert remote["status"]["phase"] == "Pending" and not remote["spec"].get("volumeName")
        assert remote["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "ebs.csi.aws.com"
        failed = await eventually(lambda: event("lost", "ProvisioningFailed"))
        assert failed["type"] == "Warning"
        assert failed["message"] == 'storageclass.storage.k8s.io "no-such-class" not found'
        # the class appears: the claim that waited for it is provisioned
        await h.client.create(STORAGE_CLASSES, None, {"metadata": {"name": "no-such-class"},
                                                      "provisioner": "boxk8s.io/docker-volume"})
        await eventually(lambda: bound("lost"))
        assert (await h.client.get(Kind.PVC, "default", "remote"))["status"]["phase"] == "Pending"


async def test_aggregation_reacts_to_a_labelled_cluster_role(tmp_path: Path) -> None:
    async with harness(tmp_path, [ClusterRoleAggregationController]) as h:
        assert CLUSTER_ROLES
        widgets = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list", "watch"]}

        async def rules(name: str) -> list[dict[str, Any]]:
            return (await h.client.get(CLUSTER_ROLES, None, name)).get("rules") or []

        async def aggregated() -> bool:
            return len(await rules("view")) == 10 and len(await rules("edit")) == 23 and len(await rules("admin")) == 25

        await eventually(aggregated)
        view = await h.client.get(CLUSTER_ROLES, None, "view")
        assert [m["manager"] for m in view["metadata"]["managedFields"]] == [
            "kube-apiserver", "clusterrole-aggregation-controller"]
        await h.client.create(CLUSTER_ROLES, None, {"metadata": {"name": "widget-viewer", "labels": {
            "rbac.authorization.k8s.io/aggregate-to-view": "true"}}, "rules": [widgets]})

        async def everywhere() -> bool:
            return all([widgets in await rules(n) for n in ("view", "edit", "admin")])

        await eventually(everywhere)
        await h.client.delete(CLUSTER_ROLES, None, "widget-viewer")

        async def gone() -> bool:
            return not any([widgets in await rules(n) for n in ("view", "edit", "admin")])

        await eventually(gone)
        assert await aggregated()
        # the aggregated role's rules are the controller's: an edit is put back
        await h.client.patch(CLUSTER_ROLES, None, "view", {"rules": [widgets]})
        await eventually(aggregated)


PRIORITY_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def pod_with(name: str, **spec: Any) -> dict[str, Any]:
    return {**PRIORITY_POD, "metadata": {"name": name}, "spec": {**PRIORITY_POD["spec"], **spec}}


async def test_priority_class_name_resolves(api: Api) -> None:
    critical = await api.ok("POST", PODS, body=pod_with("critical", priorityClassName="system-cluster-critical"))
    assert (critical["spec"]["priority"], critical["spec"]["preemptionPolicy"]) == (2000000000, "PreemptLowerPriority")
    plain = await api.ok("POST", PODS, body=pod_with("plain"))
    assert (plain["spec"]["priority"], plain["spec"]["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in plain["spec"]

    code, body, _ = await api.post(PODS, body=pod_with("x", priorityClassName="nope"))
    assert_status(code, body, 403, "Forbidden")
    assert body["message"] == 'pods "x" is forbidden: no PriorityClass with name nope was found'
    code, body, _ = await api.post(PODS, body=pod_with("y", priority=5))
    assert_status(code, body, 403, "Forbidden")
    assert "the integer value of priority (5) must not be provided in pod spec" in body["message"]

    # a globalDefault class applies to pods without a class; a second one is refused
    await api.ok("POST", PCS, body={"metadata": {"name": "batch"}, "value": 100, "globalDefault": True,
                                    "preemptionPolicy": "Never"})
    code, body, _ = await api.post(PCS, body={"metadata": {"name": "other"}, "value": 1, "globalDefault": True})
    assert_status(code, body, 403, "Forbidden")
    assert body["message"] == ('priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass batch is '
                               "already marked as default. Only one default can exist")
    defaulted = await api.ok("POST", PODS, body=pod_with("defaulted"))
    assert {k: defaulted["spec"].get(k) for k in ("priorityClassName", "priority", "preemptionPolicy")} == {
        "priorityClassName": "batch", "priority": 100, "preemptionPolicy": "Never"}

    # an update that leaves priority out keeps it (the plugin's Update branch)
    current = await api.ok("GET", f"{PODS}/critical")
    del current["spec"]["priority"], current["spec"]["preemptionPolicy"]
    replaced = await api.ok("PUT", f"{PODS}/critical", body=current)
    assert (replaced["spec"]["priority"], replaced["spec"]["preemptionPolicy"]) == (2000000000, "PreemptLowerPriority")


# ---- the real kubectl ---------------------------------------------------------------------------

def first_column(table: str) -> list[str]:
    return [line.split()[0] for line in table.splitlines()[1:] if line.strip()]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
async def test_real_kubectl_lists_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    async with serving(tmp_path / "state", [ClusterRoleAggregationController]) as port:
        kubectl = Kubectl(port, tmp_path / "cache")
        rc, out, err = await kubectl.run("get", "clusterroles")
        assert rc == 0, err
        assert DEFAULT_ROLES <= set(first_column(out)), out

        rc, out, err = await kubectl.run("get", "sc")
        assert rc == 0, err
        assert first_column(out) == ["standard"], out  # printed `standard (default)` with the class columns

        rc, out, err = await kubectl.run("get", "apiservices")
        assert rc == 0, err
        assert {"v1.", "v1.apps", "v2.autoscaling", "v1.autoscaling"} <= set(first_column(out)), out

        rc, out, err = await kubectl.run("get", "cs")
        assert rc == 0, err
        assert set(first_column(out)) == {"scheduler", "controller-manager", "etcd-0"}, out
        assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in err, err

        rc, out, err = await kubectl.run("get", "priorityclasses")
        assert rc == 0, err
        assert set(first_column(out)) == {"system-cluster-critical", "system-node-critical"}, out

        # a user's role labelled aggregate-to-view shows up in `kubectl get clusterrole view -o yaml`
        manifest = tmp_path / "role.yaml"
        manifest.write_text(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: widget-viewer\n"
            "  labels:\n    rbac.authorization.k8s.io/aggregate-to-view: \"true\"\n"
            "rules:\n- apiGroups: [example.com]\n  resources: [widgets]\n  verbs: [get, list, watch]\n")
        rc, out, err = await kubectl.run("apply", "-f", str(manifest))
        assert rc == 0 and "clusterrole.rbac.authorization.k8s.io/widget-viewer created" in out, err

        async def in_view() -> str | None:
            rc, out, _ = await kubectl.run("get", "clusterrole", "view", "-o", "yaml")
            return out if rc == 0 and "widgets" in out else None

        view = await eventually(in_view)
        assert "- example.com" in view and "aggregationRule:" in view, view
