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
        return self.kind + "List"

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

RESOURCES: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", False, "core", short_names=("ns",), subresources=("status", "finalize")),
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
    _rt("", "v1", "ServiceAccount", "serviceaccounts", True, "core", short_names=("sa",), has_spec=False),
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
