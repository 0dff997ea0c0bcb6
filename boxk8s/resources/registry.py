"""The kinds boxk8s serves: group, version, kind, plural, scope, and how to find their schema."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    definition: str  # the OpenAPI definition name, e.g. "io.k8s.api.apps.v1.Deployment"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale", "log", "exec", "binding", ...
    has_spec: bool = True  # generation is bumped on changes outside metadata/status
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.extra.get("listKind") or self.kind + "List"  # a CRD may name its own

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def key_prefix(self, namespace: str | None = None) -> str:
        """Store key prefix: /registry/<group>/<plural>/[<namespace>/]."""
        base = f"/registry/{self.group or 'core'}/{self.plural}/"
        if self.namespaced and namespace:
            return base + namespace + "/"
        return base

    def key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"/registry/{self.group or 'core'}/{self.plural}/{namespace}/{name}"
        return f"/registry/{self.group or 'core'}/{self.plural}/{name}"


def _rt(group: str, version: str, kind: str, plural: str, namespaced: bool, pkg: str, **kw: object) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        definition=f"io.k8s.api.{pkg}.{version}.{kind}",
        **kw,  # type: ignore[arg-type]
    )


_ALL = ("all",)
_API_EXTENSIONS = ("api-extensions",)

RESOURCES: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", False, "core", short_names=("ns",), subresources=("status", "finalize"),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch")),  # no deletecollection, as upstream
    _rt("", "v1", "Pod", "pods", True, "core", short_names=("po",), categories=_ALL,
        subresources=("status", "log", "exec", "binding", "eviction", "portforward", "attach")),
    _rt("", "v1", "Service", "services", True, "core", short_names=("svc",), categories=_ALL,
        subresources=("status", "proxy")),
    _rt("", "v1", "Endpoints", "endpoints", True, "core", short_names=("ep",), has_spec=False),
    _rt("", "v1", "ConfigMap", "configmaps", True, "core", short_names=("cm",), has_spec=False),
    _rt("", "v1", "Secret", "secrets", True, "core", has_spec=False),
    _rt("", "v1", "Event", "events", True, "core", short_names=("ev",), has_spec=False),
    _rt("", "v1", "Node", "nodes", False, "core", short_names=("no",), subresources=("status", "proxy")),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "core", short_names=("pvc",),
        subresources=("status",)),
    _rt("", "v1", "PersistentVolume", "persistentvolumes", False, "core", short_names=("pv",),
        subresources=("status",)),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", True, "core", short_names=("sa",), has_spec=False,
        subresources=("token",)),
    _rt("apps", "v1", "Deployment", "deployments", True, "apps", short_names=("deploy",), categories=_ALL,
        subresources=("status", "scale")),
    _rt("apps", "v1", "ReplicaSet", "replicasets", True, "apps", short_names=("rs",), categories=_ALL,
        subresources=("status", "scale")),
    _rt("apps", "v1", "StatefulSet", "statefulsets", True, "apps", short_names=("sts",), categories=_ALL,
        subresources=("status", "scale")),
    _rt("apps", "v1", "DaemonSet", "daemonsets", True, "apps", short_names=("ds",), categories=_ALL,
        subresources=("status",)),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions", True, "apps", has_spec=False),
    _rt("batch", "v1", "Job", "jobs", True, "batch", categories=_ALL, subresources=("status",)),
    _rt("batch", "v1", "CronJob", "cronjobs", True, "batch", short_names=("cj",), categories=_ALL,
        subresources=("status",)),
    _rt("networking.k8s.io", "v1", "Ingress", "ingresses", True, "networking", short_names=("ing",),
        subresources=("status",)),
    _rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, "networking"),
    _rt("coordination.k8s.io", "v1", "Lease", "leases", True, "coordination"),
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True, "discovery", has_spec=False),
    _rt("events.k8s.io", "v1", "Event", "events", True, "events", short_names=("ev",), has_spec=False),
    # The rest of the GA kinds of 1.32 (`kubectl api-resources` on a kubeadm cluster). has_spec says
    # whether the kind's strategy sets metadata.generation (PrepareForCreate: Generation = 1), as
    # upstream's pkg/registry/<group>/<kind>/strategy.go does.
    # POST …/namespaces/NS/bindings binds the pod the Binding names (the scheduler's older form of pods/binding).
    _rt("", "v1", "Binding", "bindings", True, "core", has_spec=False, verbs=("create",)),
    _rt("", "v1", "ReplicationController", "replicationcontrollers", True, "core", short_names=("rc",),
        categories=_ALL, subresources=("status", "scale")),
    _rt("", "v1", "PodTemplate", "podtemplates", True, "core"),
    _rt("", "v1", "LimitRange", "limitranges", True, "core", short_names=("limits",), has_spec=False),
    _rt("", "v1", "ResourceQuota", "resourcequotas", True, "core", short_names=("quota",),
        subresources=("status",), has_spec=False),
    _rt("", "v1", "ComponentStatus", "componentstatuses", False, "core", short_names=("cs",), has_spec=False,
        verbs=("get", "list")),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, "rbac", has_spec=False),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, "rbac",
        has_spec=False),
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", True, "rbac", has_spec=False),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, "rbac", has_spec=False),
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, "storage", short_names=("sc",),
        has_spec=False),
    _rt("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False, "storage", has_spec=False),
    _rt("storage.k8s.io", "v1", "CSINode", "csinodes", False, "storage", has_spec=False),
    _rt("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities", True, "storage", has_spec=False),
    _rt("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", False, "storage",
        subresources=("status",), has_spec=False),
    _rt("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, "policy", short_names=("pdb",),
        subresources=("status",)),
    _rt("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "autoscaling",
        short_names=("hpa",), categories=_ALL, subresources=("status",), has_spec=False),
    _rt("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "autoscaling",
        short_names=("hpa",), categories=_ALL, subresources=("status",), has_spec=False),
    _rt("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, "scheduling", short_names=("pc",),
        has_spec=False),
    _rt("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", False, "node", has_spec=False),
    _rt("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", False,
        "certificates", short_names=("csr",), subresources=("status", "approval"), has_spec=False),
    _rt("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
        False, "admissionregistration", categories=_API_EXTENSIONS),
    _rt("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
        False, "admissionregistration", categories=_API_EXTENSIONS),
    _rt("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
        False, "admissionregistration", categories=_API_EXTENSIONS, subresources=("status",)),
    _rt("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings", False, "admissionregistration", categories=_API_EXTENSIONS),
    ResourceType("apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", False,
                 "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService", categories=_API_EXTENSIONS,
                 subresources=("status",), has_spec=False),
    _rt("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas", False, "flowcontrol",
        subresources=("status",)),
    _rt("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", False,
        "flowcontrol", subresources=("status",)),
    _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, "networking", short_names=("netpol",)),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
                 "customresourcedefinition", False,
                 "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
                 short_names=("crd", "crds"), categories=_API_EXTENSIONS, subresources=("status",)),
    # Answers, not stored objects (api/auth/reviews.py): create only, as upstream serves them.
    *(_rt(group, "v1", kind, kind.lower() + "s", kind.startswith("Local"), group.split(".")[0], has_spec=False,
          verbs=("create",))
      for group, kind in (("authentication.k8s.io", "SelfSubjectReview"), ("authentication.k8s.io", "TokenReview"),
                          ("authorization.k8s.io", "LocalSubjectAccessReview"),
                          ("authorization.k8s.io", "SelfSubjectAccessReview"),
                          ("authorization.k8s.io", "SelfSubjectRulesReview"),
                          ("authorization.k8s.io", "SubjectAccessReview"))),
)

# Namespaces that exist in every cluster.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in the order discovery lists them; core first."""
    seen: list[tuple[str, str]] = []
    for rt in RESOURCES:
        if (rt.group, rt.version) not in seen:
            seen.append((rt.group, rt.version))
    return seen


def find(group: str, version: str, plural: str) -> ResourceType | None:
    for rt in RESOURCES:
        if rt.group == group and rt.version == version and rt.plural == plural:
            return rt
    return None


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    for rt in RESOURCES:
        if rt.api_version == api_version and rt.kind == kind:
            return rt
    return None
