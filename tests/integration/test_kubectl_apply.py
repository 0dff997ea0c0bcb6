"""`kubectl apply` twice: the second apply changes nothing (no new resourceVersion, no new generation).

The real kubectl against the in-process API, each workload kind with its usual optional fields. What
kubectl prints follows from its 3-way patch (strategicpatch.CreateThreeWayMergePatch, in
apimachinery/pkg/util/strategicpatch/patch.go): "unchanged" only when the patch is `{}`. An atomic
list (no merge key) is sent whole when the live one differs from the manifest in any field
(replacePatchFieldIfNotEqual), so a StatefulSet's volumeClaimTemplates, which the apiserver returns
with apiVersion, kind, volumeMode and status filled in, is "configured" on every apply on a real
cluster too (kubernetes/kubernetes#66450); so is a Secret's write-only stringData. Either way the
apiserver finds nothing to change, which is what these tests hold the server to.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from boxk8s.resources import meta
from tests.integration.conftest import Api, running_api
from tests.integration.kubectl import needs_kubectl, run_kubectl

Obj = dict[str, Any]
LATER = "2099-01-01T00:00:00Z"


def _pod_spec(name: str, **extra: Any) -> Obj:
    return {"containers": [{"name": name, "image": "busybox:1.36", "command": ["sleep", "3600"]}], **extra}


def _labelled(name: str) -> tuple[Obj, Obj]:
    return {"matchLabels": {"app": name}}, {"labels": {"app": name}}


WEB_SELECTOR, WEB_LABELS = _labelled("web")

DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": WEB_SELECTOR,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {**WEB_LABELS, "annotations": {"a": "b"}},
            "spec": {
                "serviceAccountName": "default",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100,
                    "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": WEB_SELECTOR},
                }]}},
                "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
                "containers": [{
                    "name": "web", "image": "nginx:1.25", "args": ["-g", "daemon off;"],
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}},
                    ],
                    "envFrom": [{"configMapRef": {"name": "cfg"}}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                  "limits": {"cpu": "500m", "memory": "128Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                    "livenessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 5},
                    "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}},
                    "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}}},
                    "securityContext": {"runAsNonRoot": False, "readOnlyRootFilesystem": False},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                     {"name": "cfg", "mountPath": "/etc/cfg"},
                                     {"name": "sec", "mountPath": "/etc/sec"}],
                }],
                "volumes": [{"name": "data", "emptyDir": {}},
                            {"name": "cfg", "configMap": {"name": "cfg"}},
                            {"name": "sec", "secret": {"secretName": "sec"}}],
            },
        },
    },
}

DAEMONSET: Obj = {
    "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
    "spec": {
        "selector": _labelled("agent")[0],
        "template": {"metadata": _labelled("agent")[1], "spec": {
            "hostNetwork": True,
            "containers": [{"name": "agent", "image": "busybox:1.36", "command": ["sleep", "3600"],
                            "ports": [{"containerPort": 9100}],
                            "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": True}]}],
            "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        }},
    },
}

CLAIM_TEMPLATE: Obj = {
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


def statefulset(claims: list[Obj]) -> Obj:
    selector, labels = _labelled("db")
    spec: Obj = {
        "serviceName": "db", "replicas": 1, "selector": selector,
        "template": {"metadata": labels, "spec": _pod_spec("db")},
    }
    if claims:
        spec["volumeClaimTemplates"] = claims
        spec["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": spec}


JOB: Obj = {
    "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
    "spec": {"backoffLimit": 2, "ttlSecondsAfterFinished": 100,
             "template": {"spec": _pod_spec("main", restartPolicy="Never")}},
}

CRONJOB: Obj = {
    "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
    "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
             "jobTemplate": {"spec": {"backoffLimit": 1,
                                      "template": {"spec": _pod_spec("main", restartPolicy="OnFailure")}}}},
}

NODEPORT_SERVICE: Obj = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [
        {"name": "http", "port": 80, "targetPort": "http"},
        {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443},
    ]},
}

HEADLESS_SERVICE: Obj = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
    "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]},
}

INGRESS: Obj = {
    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "web", "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"}},
    "spec": {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["web.example"], "secretName": "web-tls"}],
        "rules": [{"host": "web.example", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}},
        }]}}],
    },
}

PVC: Obj = {
    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "scratch"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}

SECRET: Obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "stringData": {"password": "x"}}

PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/default/deployments",
    "DaemonSet": "/apis/apps/v1/namespaces/default/daemonsets",
    "StatefulSet": "/apis/apps/v1/namespaces/default/statefulsets",
    "Job": "/apis/batch/v1/namespaces/default/jobs",
    "CronJob": "/apis/batch/v1/namespaces/default/cronjobs",
    "Service": "/api/v1/namespaces/default/services",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
    "PersistentVolumeClaim": "/api/v1/namespaces/default/persistentvolumeclaims",
    "Secret": "/api/v1/namespaces/default/secrets",
}

# (manifest, what kubectl prints on the second apply, as against a real cluster)
CASES: dict[str, tuple[Obj, str]] = {
    "deployment": (DEPLOYMENT, "unchanged"),
    "daemonset": (DAEMONSET, "unchanged"),
    "statefulset": (statefulset([]), "unchanged"),
    "statefulset-claims": (statefulset([CLAIM_TEMPLATE]), "configured"),
    "job": (JOB, "unchanged"),
    "cronjob": (CRONJOB, "unchanged"),
    "service-nodeport": (NODEPORT_SERVICE, "unchanged"),
    "service-headless": (HEADLESS_SERVICE, "unchanged"),
    "ingress": (INGRESS, "unchanged"),
    "pvc": (PVC, "unchanged"),
    "secret-stringdata": (SECRET, "configured"),
}


@pytest.fixture
async def open_api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path / "state", token="") as a:
        yield a


def _path(obj: Obj) -> str:
    return f"{PATHS[obj['kind']]}/{obj['metadata']['name']}"


def _bookkeeping(obj: Obj) -> tuple[str, int | None]:
    return obj["metadata"]["resourceVersion"], obj["metadata"].get("generation")


@needs_kubectl
@pytest.mark.parametrize("case", list(CASES))
async def test_reapply_changes_nothing(open_api: Api, tmp_path: Path, case: str) -> None:
    manifest, second_verb = CASES[case]
    server = str(open_api.client.make_url("")).rstrip("/")
    cache = tmp_path / "cache"
    file = tmp_path / "manifest.yaml"
    file.write_text(yaml.safe_dump(manifest))
    kind_name = manifest["kind"].lower()

    rc, out, err = await run_kubectl(server, cache, "apply", "-f", str(file))
    assert rc == 0 and out.endswith(" created\n"), (out, err)
    first = await open_api.ok("GET", _path(manifest))
    for attempt in range(2):
        rc, out, err = await run_kubectl(server, cache, "apply", "-f", str(file))
        assert rc == 0 and out.startswith(kind_name) and out.endswith(f" {second_verb}\n"), (attempt, out, err)
        again = await open_api.ok("GET", _path(manifest))
        assert _bookkeeping(again) == _bookkeeping(first), (attempt, again["metadata"], first["metadata"])
    assert again == first
    # kubectl diff: a server-side dry-run of the same patch, compared with the live object.
    rc, out, err = await run_kubectl(server, cache, "diff", "-f", str(file))
    assert (rc, out) == (0, ""), (out, err)


@needs_kubectl
@pytest.mark.parametrize("case", [c for c, (_, verb) in CASES.items() if verb == "unchanged"])
async def test_server_side_reapply_changes_nothing(open_api: Api, tmp_path: Path, case: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`kubectl apply --server-side` again: the manager's managedFields time moves only when the apply
    changes the object (the fieldmanager's managedFieldsUpdater.Apply), so nothing is written. The
    kinds whose manifest differs from what is stored (atomic claim templates, write-only stringData)
    are left out: upstream the merged object differs there, and its time moves."""
    manifest = CASES[case][0]
    server = str(open_api.client.make_url("")).rstrip("/")
    file = tmp_path / "manifest.yaml"
    file.write_text(yaml.safe_dump(manifest))
    rc, out, err = await run_kubectl(server, tmp_path / "cache", "apply", "--server-side", "-f", str(file))
    assert rc == 0 and out.endswith(" serverside-applied\n"), (out, err)
    first = await open_api.ok("GET", _path(manifest))
    monkeypatch.setattr(meta, "now_rfc3339", lambda: LATER)  # a time that moved would show
    rc, out, err = await run_kubectl(server, tmp_path / "cache", "apply", "--server-side", "-f", str(file))
    assert rc == 0 and out.endswith(" serverside-applied\n"), (out, err)
    assert await open_api.ok("GET", _path(manifest)) == first


async def test_statefulset_claim_templates_read_back_as_upstream(open_api: Api) -> None:
    """The claim templates come back with the type meta of the v1 conversion and the PVC defaults
    (SetDefaults_PersistentVolumeClaim's volumeMode, status phase Pending): whatever type meta the
    client sent (Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec sets it on the way out)."""
    claim = copy.deepcopy(CLAIM_TEMPLATE)
    claim.update(apiVersion="v2", kind="Claim")
    created = await open_api.ok("POST", PATHS["StatefulSet"], body=statefulset([claim]))
    (template,) = created["spec"]["volumeClaimTemplates"]
    assert template["apiVersion"] == "v1" and template["kind"] == "PersistentVolumeClaim", template
    assert template["spec"]["volumeMode"] == "Filesystem", template
    assert template["status"] == {"phase": "Pending"}, template


async def test_statefulset_kubectl_patch_is_a_no_op(open_api: Api) -> None:
    """The patch kubectl sends on every re-apply of a StatefulSet with claim templates (the atomic list
    whole, without what the apiserver defaulted) leaves the object as it was: the strategy's
    PrepareForUpdate compares specs after defaulting, so no generation bump, and no write at all."""
    sts = statefulset([CLAIM_TEMPLATE])
    created = await open_api.ok("POST", PATHS["StatefulSet"], body=sts)
    kubectl_patch = {"spec": {"volumeClaimTemplates": [CLAIM_TEMPLATE]}}
    patched = await open_api.ok("PATCH", _path(sts), data=json.dumps(kubectl_patch),
                                content_type="application/strategic-merge-patch+json")
    assert patched == created
    # A real change of the spec is still a change, and a new generation.
    patched = await open_api.ok("PATCH", _path(sts), data=json.dumps({"spec": {"replicas": 2}}),
                                content_type="application/strategic-merge-patch+json")
    assert patched["metadata"]["generation"] == 2, patched["metadata"]


@pytest.mark.parametrize("case", ["deployment", "statefulset-claims", "secret-stringdata"])
async def test_put_of_the_same_manifest_is_a_no_op(open_api: Api, case: str) -> None:
    """An update with the manifest as created (no defaulted fields, a Secret's stringData) decodes to the
    stored object: no write, the same resourceVersion (the apiserver's GuaranteedUpdate skips equal
    objects), and the manager's managedFields entry keeps its time."""
    manifest = CASES[case][0]
    params = {"fieldManager": "editor"}
    created = await open_api.ok("POST", PATHS[manifest["kind"]], body=manifest, params=params)
    body = copy.deepcopy(manifest)
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    updated = await open_api.ok("PUT", _path(manifest), body=body, params=params)
    assert updated == created
