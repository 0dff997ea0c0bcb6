"""Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>/<version>.

They list what the cluster serves (its `Kinds`: the built-in kinds and its custom resources), built
once per change of what it serves.
"""

from __future__ import annotations

import hashlib
from typing import Any

from boxk8s.api import metrics
from boxk8s.resources.kinds import Kinds
from boxk8s.resources.registry import ResourceType

_BUILTIN = Kinds()  # the built-in kinds alone, for callers that name no cluster

# Subresources that are not the object itself: (kind, group, version, verbs).
_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "scale": ("Scale", "autoscaling", "v1", ("get", "patch", "update")),
    "log": ("Pod", "", "", ("get",)),
    "exec": ("PodExecOptions", "", "", ("create", "get")),
    "attach": ("PodAttachOptions", "", "", ("create", "get")),
    "portforward": ("PodPortForwardOptions", "", "", ("create", "get")),
    "binding": ("Binding", "", "", ("create",)),
    "eviction": ("Eviction", "policy", "v1", ("create",)),
    "token": ("TokenRequest", "authentication.k8s.io", "v1", ("create",)),  # serviceaccounts/token
    "proxy": ("", "", "", ("create", "delete", "get", "patch", "update")),
    "finalize": ("", "", "", ("update",)),
    "approval": ("", "", "", ("get", "patch", "update")),  # certificatesigningrequests/approval
}


def _storage_hash(rt: ResourceType) -> str:
    return hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()[:8].hex()


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
        "storageVersionHash": _storage_hash(rt),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    out = [main]
    for sub in rt.subresources:
        entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
        if sub == "status":
            entry.update(kind=rt.kind, verbs=["get", "patch", "update"])
        else:
            kind, group, version, verbs = _SUBRESOURCE_KINDS[sub]
            if sub == "proxy":
                kind = f"{rt.kind}ProxyOptions"
            if sub in ("finalize", "approval"):
                kind = rt.kind
            entry.update(kind=kind, verbs=list(verbs))
            if group:
                entry.update(group=group, version=version)
        out.append(entry)
    return out


def api_resource_list(group: str, version: str, kinds: Kinds | None = None) -> dict[str, Any] | None:
    if f"{group}/{version}" == metrics.RESOURCE_LIST["groupVersion"]:
        return metrics.RESOURCE_LIST  # served by boxk8s, not stored (api/metrics.py)
    kinds = kinds or _BUILTIN
    return kinds.memo(("discovery", group, version), lambda: _resource_list(kinds, group, version))


def _resource_list(kinds: Kinds, group: str, version: str) -> dict[str, Any] | None:
    rts = [rt for rt in kinds.all() if rt.group == group and rt.version == version]
    if not rts:
        return None
    resources: list[dict[str, Any]] = []
    for rt in rts:
        resources.extend(_resource_entries(rt))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list(kinds: Kinds | None = None) -> dict[str, Any]:
    """Each group once, its versions in the registry's order, the first preferred (autoscaling:
    v2, then v1, as the apiserver lists it); custom resources' groups after the built-in ones, their
    versions by kube-aware priority."""
    kinds = kinds or _BUILTIN
    return kinds.memo(("discovery-groups",), lambda: _group_list(kinds))


def _group_list(kinds: Kinds) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for group, version in kinds.group_versions():
        if not group:
            continue
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        entry = groups.setdefault(group, {"name": group, "versions": [], "preferredVersion": gv})
        entry["versions"].append(gv)
    # Then the aggregated groups, as the apiserver lists them after its own: metrics.k8s.io.
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [*groups.values(), metrics.GROUP_ENTRY]}


def api_group(group: str, kinds: Kinds | None = None) -> dict[str, Any] | None:
    for g in api_group_list(kinds)["groups"]:
        if g["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **g}
    return None
