"""The defaults the apiserver fills in, following pkg/apis/*/v1/defaults.go (Kubernetes 1.32).

Also the few values that admission and registry strategies set on create and that `kubectl get
-o yaml` shows (a Pod's serviceAccountName and default tolerations; a Namespace's
finalizer and phase; a Service's ipFamilies). Defaulting only fills what is absent, so applying
it twice changes nothing; `kubectl apply`'s 3-way diff relies on that stability.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from boxk8s.resources import crd_definition, crd_structural, custom, defaults_kinds
from boxk8s.resources.defaulting import child_dict as _dict
from boxk8s.resources.defaulting import dict_list as _dicts
from boxk8s.resources.defaulting import set_default as _set
from boxk8s.resources.zero_values import fill_status_zero_values

Obj = dict[str, Any]

_DEFAULT_MODE = 0o644  # 420: Secret, ConfigMap, projected and downwardAPI volumes


# pods ---------------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]+$")


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent for a tag or a digest."""
    if "@" in image and _DIGEST_RE.search(image):
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    _set(probe, "timeoutSeconds", 1)
    _set(probe, "periodSeconds", 10)
    _set(probe, "successThreshold", 1)
    _set(probe, "failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        _set(http, "path", "/")
        _set(http, "scheme", "HTTP")
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        _set(grpc, "service", "")


def _env(env: Any) -> None:
    for e in _dicts(env):
        field_ref = (e.get("valueFrom") or {}).get("fieldRef") if isinstance(e.get("valueFrom"), dict) else None
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")


def _container(c: Obj) -> None:
    image = c.get("image")
    if isinstance(image, str) and image:
        _set(c, "imagePullPolicy", image_pull_policy(image))
    _set(c, "terminationMessagePath", "/dev/termination-log")
    _set(c, "terminationMessagePolicy", "File")
    _set(c, "resources", {})
    for p in _dicts(c.get("ports")):
        _set(p, "protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            h = lifecycle.get(hook)
            if isinstance(h, dict) and isinstance(h.get("httpGet"), dict):
                _set(h["httpGet"], "path", "/")
                _set(h["httpGet"], "scheme", "HTTP")
    _env(c.get("env"))


_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI",
    "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
    "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)


def _volume(v: Obj) -> None:
    if not any(v.get(src) is not None for src in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for src in ("secret", "configMap", "downwardAPI", "projected"):
        s = v.get(src)
        if isinstance(s, dict):
            _set(s, "defaultMode", _DEFAULT_MODE)
            if src == "projected":
                for proj in _dicts(s.get("sources")):
                    token = proj.get("serviceAccountToken")
                    if isinstance(token, dict):
                        _set(token, "expirationSeconds", 3600)
            if src == "downwardAPI":
                for item in _dicts(s.get("items")):
                    if isinstance(item.get("fieldRef"), dict):
                        _set(item["fieldRef"], "apiVersion", "v1")
    host = v.get("hostPath")
    if isinstance(host, dict):
        _set(host, "type", "")
    iscsi = v.get("iscsi")
    if isinstance(iscsi, dict):
        _set(iscsi, "iscsiInterface", "default")


def pod_spec_defaults(spec: Obj) -> None:
    """SetDefaults_PodSpec plus the per-item defaults for containers and volumes."""
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "restartPolicy", "Always")
    _set(spec, "securityContext", {})
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "schedulerName", "default-scheduler")
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in _dicts(spec.get(field)):
            _container(c)
    for v in _dicts(spec.get("volumes")):
        _volume(v)
    if spec.get("hostNetwork") is True:
        for field in ("initContainers", "containers"):
            for c in _dicts(spec.get(field)):
                for p in _dicts(c.get("ports")):
                    if p.get("hostPort") is None and p.get("containerPort") is not None:
                        p["hostPort"] = p["containerPort"]


def _template(template: Any) -> None:
    if isinstance(template, dict):
        pod_spec_defaults(_dict(template, "spec"))


_DEFAULT_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
)


def pod_defaults(pod: Obj) -> None:
    """SetDefaults_Pod, plus what the ServiceAccount and DefaultTolerationSeconds admission add (the
    Priority plugin's spec.priority is admission_priority's: it reads PriorityClasses)."""
    spec = _dict(pod, "spec")
    pod_spec_defaults(spec)
    _set(spec, "enableServiceLinks", True)
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        resources = c.get("resources")
        limits = resources.get("limits") if isinstance(resources, dict) else None
        if isinstance(limits, dict) and limits:
            requests = _dict(resources, "requests")
            for k, v in limits.items():
                requests.setdefault(k, v)
    _set(spec, "serviceAccountName", spec.get("serviceAccount") or "default")
    _set(spec, "serviceAccount", spec["serviceAccountName"])
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = spec["tolerations"] = []
    if isinstance(tolerations, list):
        present = {(t.get("key"), t.get("effect")) for t in _dicts(tolerations)}
        has_all_noexecute = any(
            t.get("operator") == "Exists" and not t.get("key") and t.get("effect") in (None, "", "NoExecute")
            for t in _dicts(tolerations)
        )
        for t in _DEFAULT_TOLERATIONS:
            if not has_all_noexecute and (t["key"], "NoExecute") not in present:
                tolerations.append(dict(t))
    status = _dict(pod, "status")
    _set(status, "phase", "Pending")
    _set(status, "qosClass", qos_class(spec))


def qos_class(spec: Obj) -> str:
    """qos.GetPodQOS (pkg/apis/core/helper/qos): Guaranteed, Burstable or BestEffort, from the cpu and
    memory requests and limits of the containers (other resources do not count)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        res = c.get("resources") if isinstance(c.get("resources"), dict) else {}
        req = {k: v for k, v in (res.get("requests") or {}).items() if k in ("cpu", "memory")}
        lim = {k: v for k, v in (res.get("limits") or {}).items() if k in ("cpu", "memory")}
        requests.update(req)
        limits.update(lim)
        if set(lim) != {"cpu", "memory"} or any(str(req.get(k, lim[k])) != str(lim[k]) for k in lim):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# workloads ----------------------------------------------------------------------------------


def deployment_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "replicas", 1)
    strategy = _dict(spec, "strategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = _dict(strategy, "rollingUpdate")
        _set(ru, "maxUnavailable", "25%")
        _set(ru, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(spec.get("template"))


def replicaset_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "replicas", 1)
    _template(spec.get("template"))


def statefulset_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(_dict(strategy, "rollingUpdate"), "partition", 0)
    retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    _set(retention, "whenDeleted", "Retain")
    _set(retention, "whenScaled", "Retain")
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        # Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec (pkg/apis/apps/v1/conversion.go):
        # the claim templates always read back with this type meta, whatever the client sent.
        claim["apiVersion"] = "v1"
        claim["kind"] = "PersistentVolumeClaim"
        claim_spec = _dict(claim, "spec")
        _set(claim_spec, "volumeMode", "Filesystem")
        _set(_dict(claim, "status"), "phase", "Pending")
    _template(spec.get("template"))


def daemonset_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    strategy = _dict(spec, "updateStrategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = _dict(strategy, "rollingUpdate")
        _set(ru, "maxUnavailable", 1)
        _set(ru, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec.get("template"))


def job_spec_defaults(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    policy = spec.get("podFailurePolicy")
    _set(spec, "podReplacementPolicy", "Failed" if isinstance(policy, dict) else "TerminatingOrFailed")
    if isinstance(policy, dict):
        for rule in _dicts(policy.get("rules")):
            for pattern in _dicts(rule.get("onPodConditions")):
                _set(pattern, "status", "True")
    _template(spec.get("template"))


def job_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    job_spec_defaults(spec)
    job_selector(obj)
    # SetDefaults_Job gives an unlabelled Job its template's labels. Upstream it also runs on every
    # read of the stored Job (the storage codec defaults), after generateSelector labelled the
    # template on create: so the labels include the selector's, from the first read on.
    meta = _dict(obj, "metadata")
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if template_labels and not meta.get("labels"):
        meta["labels"] = dict(template_labels)


def job_selector(obj: Obj) -> None:
    """The selector and template labels the Job strategy generates from the uid (needs metadata.uid).

    Call again once the uid is assigned if defaults ran before that.
    """
    spec = _dict(obj, "spec")
    meta = obj.get("metadata") or {}
    uid = meta.get("uid")
    name = meta.get("name")
    if spec.get("manualSelector") is True or not uid or spec.get("selector") is not None:
        return
    template = spec.get("template")
    if not isinstance(template, dict):
        return
    labels = _dict(_dict(template, "metadata"), "labels")
    labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    labels.setdefault("controller-uid", uid)
    if name:
        labels.setdefault("batch.kubernetes.io/job-name", name)
        labels.setdefault("job-name", name)
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def cronjob_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        job_spec = _dict(job_template, "spec")
        # The CronJob's job template gets only pod template defaults; Job defaults land on the Job.
        _template(job_spec.get("template"))


# core ---------------------------------------------------------------------------------------


def service_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        cfg = _dict(_dict(spec, "sessionAffinityConfig"), "clientIP")
        _set(cfg, "timeoutSeconds", 10800)
    _set(spec, "type", "ClusterIP")
    stype = spec["type"]
    for p in _dicts(spec.get("ports")):
        _set(p, "protocol", "TCP")
        if p.get("targetPort") in (None, 0, "") and p.get("port") is not None:
            p["targetPort"] = p["port"]
    if stype in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    if stype != "ExternalName":
        _set(spec, "internalTrafficPolicy", "Cluster")
        # Set by the service REST storage when it allocates the cluster IP; single-stack IPv4 here.
        _set(spec, "ipFamilyPolicy", "SingleStack")
        _set(spec, "ipFamilies", ["IPv4"])


def secret_defaults(obj: Obj) -> None:
    fold_string_data(obj)
    _set(obj, "type", "Opaque")


def fold_string_data(obj: Obj) -> None:
    """stringData is write-only: merged into data, its values winning (upstream's v1 conversion,
    Convert_v1_Secret_To_core_Secret), so a stored Secret never shows it, nor do the fields its
    writer is recorded as managing (the apiserver's field manager sees the converted object)."""
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        del obj["stringData"]
        if string_data:
            data = _dict(obj, "data")
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()


def namespace_defaults(obj: Obj) -> None:
    meta = _dict(obj, "metadata")
    name = meta.get("name")
    if isinstance(name, str) and name:
        _dict(meta, "labels")["kubernetes.io/metadata.name"] = name
    spec = _dict(obj, "spec")
    _set(spec, "finalizers", ["kubernetes"])
    _set(_dict(obj, "status"), "phase", "Active")


def pvc_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "volumeMode", "Filesystem")
    _set(_dict(obj, "status"), "phase", "Pending")


def pv_defaults(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "persistentVolumeReclaimPolicy", "Retain")
    _set(spec, "volumeMode", "Filesystem")
    _set(_dict(obj, "status"), "phase", "Pending")


def endpoints_defaults(obj: Obj) -> None:
    for subset in _dicts(obj.get("subsets")):
        for p in _dicts(subset.get("ports")):
            _set(p, "protocol", "TCP")


def endpointslice_defaults(obj: Obj) -> None:
    for p in _dicts(obj.get("ports")):
        _set(p, "protocol", "TCP")
        _set(p, "name", "")


def pod_template_defaults(obj: Obj) -> None:
    _template(obj.get("template"))


def replication_controller_defaults(obj: Obj) -> None:
    defaults_kinds.replication_controller_defaults(obj)
    _template(_dict(obj, "spec").get("template"))


_BY_DEFINITION: dict[str, Callable[[Obj], None]] = {
    "io.k8s.api.core.v1.Pod": pod_defaults,
    "io.k8s.api.core.v1.PodTemplate": pod_template_defaults,
    "io.k8s.api.core.v1.Service": service_defaults,
    "io.k8s.api.core.v1.Secret": secret_defaults,
    "io.k8s.api.core.v1.Namespace": namespace_defaults,
    "io.k8s.api.core.v1.PersistentVolumeClaim": pvc_defaults,
    "io.k8s.api.core.v1.PersistentVolume": pv_defaults,
    "io.k8s.api.core.v1.Endpoints": endpoints_defaults,
    "io.k8s.api.apps.v1.Deployment": deployment_defaults,
    "io.k8s.api.apps.v1.ReplicaSet": replicaset_defaults,
    "io.k8s.api.apps.v1.StatefulSet": statefulset_defaults,
    "io.k8s.api.apps.v1.DaemonSet": daemonset_defaults,
    "io.k8s.api.batch.v1.Job": job_defaults,
    "io.k8s.api.batch.v1.CronJob": cronjob_defaults,
    "io.k8s.api.discovery.v1.EndpointSlice": endpointslice_defaults,
    "io.k8s.api.core.v1.ReplicationController": replication_controller_defaults,
    **defaults_kinds.BY_DEFINITION,  # the cluster-level kinds
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition": crd_definition.crd_defaults,
}


def apply_defaults(obj: Obj, definition: str) -> None:
    """Fill in, in place, the defaults the apiserver sets for an object of `definition`."""
    cv = custom.lookup(definition)
    if cv is not None:  # a custom resource: its schema's defaults (crd_structural.default)
        crd_structural.default(obj, cv.root)
        return
    fn = _BY_DEFINITION.get(definition)
    if fn is not None:
        fn(obj)
    fill_status_zero_values(obj, definition)


def _pod_status(obj: Obj) -> None:
    status = _dict(obj, "status")
    _set(status, "phase", "Pending")
    if status.get("qosClass") is None:
        spec = obj.get("spec")
        status["qosClass"] = qos_class(spec if isinstance(spec, dict) else {})


def _phase(value: str) -> Callable[[Obj], None]:
    def fill(obj: Obj) -> None:
        _set(_dict(obj, "status"), "phase", value)
    return fill


# What apply_defaults sets under a top-level status (the only part a /status write takes).
_STATUS_BY_DEFINITION: dict[str, Callable[[Obj], None]] = {
    "io.k8s.api.core.v1.Pod": _pod_status,
    "io.k8s.api.core.v1.Namespace": _phase("Active"),
    "io.k8s.api.core.v1.PersistentVolumeClaim": _phase("Pending"),
    "io.k8s.api.core.v1.PersistentVolume": _phase("Pending"),
}


def apply_status_defaults(obj: Obj, definition: str) -> None:
    """apply_defaults for an object whose every part but its status is already defaulted (a
    /status write: the rest is the stored object): the same result, without walking the spec."""
    cv = custom.lookup(definition)
    if cv is not None:
        crd_structural.default(obj, cv.root)
        return
    fn = _STATUS_BY_DEFINITION.get(definition)
    if fn is not None:
        fn(obj)
    fill_status_zero_values(obj, definition)
