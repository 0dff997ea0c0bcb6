"""The default RBAC policy a fresh cluster has: the user-facing ClusterRoles and their bindings.

Data transcribed from Kubernetes 1.32's bootstrap policy (plugin/pkg/auth/authorizer/rbac/
bootstrappolicy/policy.go: ClusterRoles, ClusterRoleBindings; the same rules in the order its
golden file testdata/cluster-roles.yaml lists them, read at commit 025f2834, unchanged for these
roles from 1.28 to 1.32). Only the roles a person uses are here, not the ones for the control
plane's own components (system:node, system:kube-scheduler, …): boxk8s's components are not API
clients with identities. The aggregated roles (admin, edit, view) start without rules; the
ClusterRole aggregation controller (controllers/clusterroleaggregation.py) fills them.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

API_VERSION = "rbac.authorization.k8s.io/v1"
# addDefaultMetadata (bootstrappolicy/policy.go): every default object carries both.
LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}

AGGREGATE_TO_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin"
AGGREGATE_TO_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit"
AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
READ_WRITE = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _rule(groups: tuple[str, ...], resources: tuple[str, ...], verbs: tuple[str, ...]) -> Obj:
    return {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}


def _urls(urls: tuple[str, ...], verbs: tuple[str, ...]) -> Obj:
    return {"nonResourceURLs": list(urls), "verbs": list(verbs)}


# name -> (extra labels, aggregated from (label), rules)
_ROLES: tuple[tuple[str, dict[str, str], str | None, list[Obj]], ...] = (
    # a "root" role which can do absolutely anything
    ("cluster-admin", {}, None, [
        _rule(("*",), ("*",), ("*",)),
        _urls(("*",), ("*",)),
    ]),
    # a role for a namespace level admin: edit plus the power to grant permissions to other users
    ("admin", {}, AGGREGATE_TO_ADMIN, []),
    # a role for a namespace level editor: all user level actions in a namespace
    ("edit", {AGGREGATE_TO_ADMIN: "true"}, AGGREGATE_TO_EDIT, []),
    # a role for namespace level viewing: read-only access to non-escalating resources
    ("view", {AGGREGATE_TO_EDIT: "true"}, AGGREGATE_TO_VIEW, []),
    ("system:aggregate-to-admin", {AGGREGATE_TO_ADMIN: "true"}, None, [
        _rule(("authorization.k8s.io",), ("localsubjectaccessreviews",), ("create",)),
        _rule(("rbac.authorization.k8s.io",), ("rolebindings", "roles"), READ_WRITE),
    ]),
    ("system:aggregate-to-edit", {AGGREGATE_TO_EDIT: "true"}, None, [
        _rule(("",), ("pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
              READ),
        _rule(("",), ("serviceaccounts",), ("impersonate",)),
        _rule(("",), ("pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"), WRITE),
        _rule(("",), ("pods/eviction",), ("create",)),
        _rule(("",), ("configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                      "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"),
              WRITE),
        _rule(("",), ("serviceaccounts/token",), ("create",)),
        _rule(("apps",), ("daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                          "replicasets/scale", "statefulsets", "statefulsets/scale"), WRITE),
        _rule(("autoscaling",), ("horizontalpodautoscalers",), WRITE),
        _rule(("batch",), ("cronjobs", "jobs"), WRITE),
        _rule(("extensions",), ("daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                                "ingresses", "networkpolicies", "replicasets", "replicasets/scale",
                                "replicationcontrollers/scale"), WRITE),
        _rule(("policy",), ("poddisruptionbudgets",), WRITE),
        _rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), WRITE),
        _rule(("coordination.k8s.io",), ("leases",), READ_WRITE),
    ]),
    ("system:aggregate-to-view", {AGGREGATE_TO_VIEW: "true"}, None, [
        _rule(("",), ("configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                      "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                      "services/status"), READ),
        _rule(("",), ("bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                      "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"), READ),
        # read access to namespaces at the namespace scope means you can read *this* namespace
        _rule(("",), ("namespaces",), READ),
        _rule(("discovery.k8s.io",), ("endpointslices",), READ),
        _rule(("apps",), ("controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                          "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
                          "statefulsets", "statefulsets/scale", "statefulsets/status"), READ),
        _rule(("autoscaling",), ("horizontalpodautoscalers", "horizontalpodautoscalers/status"), READ),
        _rule(("batch",), ("cronjobs", "cronjobs/status", "jobs", "jobs/status"), READ),
        _rule(("extensions",), ("daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                "deployments/status", "ingresses", "ingresses/status", "networkpolicies",
                                "replicasets", "replicasets/scale", "replicasets/status",
                                "replicationcontrollers/scale"), READ),
        _rule(("policy",), ("poddisruptionbudgets", "poddisruptionbudgets/status"), READ),
        _rule(("networking.k8s.io",), ("ingresses", "ingresses/status", "networkpolicies"), READ),
    ]),
    # just enough power to discover API versions for negotiation
    ("system:discovery", {}, None, [
        _urls(("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
               "/version", "/version/"), ("get",)),
    ]),
    # minimal resource access for a "normal" user to learn about themselves
    ("system:basic-user", {}, None, [
        _rule(("authorization.k8s.io",), ("selfsubjectaccessreviews", "selfsubjectrulesreviews"), ("create",)),
        _rule(("authentication.k8s.io",), ("selfsubjectreviews",), ("create",)),
    ]),
    # a role for the monitoring agents: the metrics and every health check
    ("system:monitoring", {}, None, [
        _urls(("/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"),
              ("get",)),
    ]),
    # what anyone, even unauthenticated, may read about the cluster
    ("system:public-info-viewer", {}, None, [
        _urls(("/healthz", "/livez", "/readyz", "/version", "/version/"), ("get",)),
    ]),
)

# binding name (= the role it binds) -> groups (user.SystemPrivilegedGroup, AllAuthenticated, AllUnauthenticated)
_BINDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cluster-admin", ("system:masters",)),
    ("system:discovery", ("system:authenticated",)),
    ("system:basic-user", ("system:authenticated",)),
    ("system:monitoring", ("system:monitoring",)),
    ("system:public-info-viewer", ("system:authenticated", "system:unauthenticated")),
)


def _metadata(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {"name": name, "labels": {**LABELS, **(labels or {})}, "annotations": dict(ANNOTATIONS)}


def cluster_roles() -> list[Obj]:
    """The default ClusterRoles, fresh dicts each call (callers may change them)."""
    out = []
    for name, labels, aggregate_label, rules in _ROLES:
        role: Obj = {"apiVersion": API_VERSION, "kind": "ClusterRole", "metadata": _metadata(name, labels)}
        if aggregate_label:
            role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {aggregate_label: "true"}}]}
        else:
            role["rules"] = [{k: list(v) for k, v in r.items()} for r in rules]
        out.append(role)
    return out


def cluster_role_bindings() -> list[Obj]:
    return [{
        "apiVersion": API_VERSION, "kind": "ClusterRoleBinding", "metadata": _metadata(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups],
    } for name, groups in _BINDINGS]
