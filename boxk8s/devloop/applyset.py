"""ApplySet (KEP-3659) as `kubectl apply --prune --applyset=NAME` writes it (pure).

The set of objects boxk8s applied from a project is recorded in the cluster, so that pruning
works after a restart and other tools can see whose objects these are:
- a parent object (a Secret, kubectl's default parent type) labelled `applyset.kubernetes.io/id`
  and annotated with the tooling, the group-kinds of its members and the namespaces they span;
- every member labelled `applyset.kubernetes.io/part-of: <id>`.

Sources: kubernetes/kubernetes staging/src/k8s.io/kubectl/pkg/cmd/apply/applyset.go (ID,
buildParentPatch, generateKindsAnnotation, generateNamespacesAnnotation, fetchParent, AddLabels,
FieldManager) and the KEP's "ApplySet specification"
(kubernetes/enhancements keps/sig-cli/3659-kubectl-apply-prune).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s import __version__

TOOLING = "applyset.kubernetes.io/tooling"
CONTAINS_GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
ADDITIONAL_NAMESPACES = "applyset.kubernetes.io/additional-namespaces"
DEPRECATED_CONTAINS_GROUP_RESOURCES = "applyset.kubernetes.io/contains-group-resources"
ID_LABEL = "applyset.kubernetes.io/id"
PART_OF = "applyset.kubernetes.io/part-of"

TOOL_NAME = "boxk8s"
# kubectl writes `kubectl/<GitVersion>`, e.g. `kubectl/v1.32.0`: the same form here.
TOOLING_ID = f"{TOOL_NAME}/v{__version__}"
# kubectl writes the parent as `<tool>-applyset` (ApplySet.FieldManager), apart from its members.
FIELD_MANAGER = f"{TOOL_NAME}-applyset"
PARENT_NAMESPACE = "default"


def applyset_id(name: str, namespace: str, kind: str, group: str) -> str:
    """kubectl's ApplySet.ID(): `applyset-<base64url-no-padding(sha256(name.namespace.kind.group))>-v1`."""
    digest = hashlib.sha256(".".join((name, namespace, kind, group)).encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


def parent_name(project: str) -> str:
    """`boxk8s-<project>`, made a valid Secret name (a DNS subdomain: lower case, digits, `-`, `.`)."""
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", project.lower()).strip("-.")
    return f"{TOOL_NAME}-{cleaned or 'project'}"[:253].rstrip("-.")


def group_kind(kind: str, group: str) -> str:
    """schema.GroupKind.String(): `Kind.group`, or `Kind` for the core group."""
    return f"{kind}.{group}" if group else kind


def kinds_annotation(group_kinds: Iterable[str]) -> str:
    """generateKindsAnnotation: the group-kinds, sorted, comma-separated."""
    return ",".join(sorted(set(group_kinds)))


def namespaces_annotation(namespaces: Iterable[str], parent_namespace: str) -> str:
    """generateNamespacesAnnotation: the members' namespaces but the parent's own, sorted."""
    return ",".join(sorted(set(namespaces) - {parent_namespace, ""}))


@dataclass(frozen=True)
class ApplySetParent:
    """The parent object's identity: a Secret in the default namespace, named after the project."""

    name: str
    namespace: str = PARENT_NAMESPACE
    kind: str = "Secret"
    group: str = ""
    version: str = "v1"

    @classmethod
    def for_project(cls, project: str) -> ApplySetParent:
        return cls(parent_name(project))

    @property
    def id(self) -> str:
        return applyset_id(self.name, self.namespace, self.kind, self.group)

    def patch(self, group_kinds: Iterable[str], namespaces: Iterable[str]) -> dict[str, Any]:
        """The server-side apply body for the parent (kubectl's buildParentPatch): only what the
        ApplySet owns, so that applying it drops what it no longer lists (the deprecated
        contains-group-resources annotation included). kubectl writes additional-namespaces
        even when it is empty."""
        return {
            "apiVersion": f"{self.group}/{self.version}" if self.group else self.version,
            "kind": self.kind,
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "annotations": {
                    TOOLING: TOOLING_ID,
                    CONTAINS_GROUP_KINDS: kinds_annotation(group_kinds),
                    ADDITIONAL_NAMESPACES: namespaces_annotation(namespaces, self.namespace),
                },
                "labels": {ID_LABEL: self.id},
            },
        }

    def check(self, live: Mapping[str, Any]) -> str | None:
        """Why an existing parent is not ours to update (kubectl's fetchParent), or None."""
        md = live.get("metadata") or {}
        annotations, labels = md.get("annotations") or {}, md.get("labels") or {}
        ref = f"{self.kind.lower()}s.{self.group}/{self.name}"  # ApplySetParentRef.String()
        tooling = annotations.get(TOOLING)
        if tooling is None:
            return f'ApplySet parent object "{ref}" already exists and is missing required annotation "{TOOLING}"'
        if (managed_by := tooling_base_name(tooling)) != TOOL_NAME:
            return (f'ApplySet parent object "{ref}" already exists and is managed by tooling "{managed_by}" '
                    f'instead of "{TOOL_NAME}"')
        if ID_LABEL not in labels:
            return f'ApplySet parent object "{ref}" exists and does not have required label {ID_LABEL}'
        if labels[ID_LABEL] != self.id:
            return (f'ApplySet parent object "{ref}" exists and has incorrect value for label "{ID_LABEL}" '
                    f"(got: {labels[ID_LABEL]}, want: {self.id})")
        return None

    def is_current(self, live: Mapping[str, Any], group_kinds: Iterable[str], namespaces: Iterable[str]) -> bool:
        """Whether the live parent already says what `patch` would write (no write needed)."""
        want = self.patch(group_kinds, namespaces)["metadata"]
        md = live.get("metadata") or {}
        annotations, labels = md.get("annotations") or {}, md.get("labels") or {}
        return (all(annotations.get(k) == v for k, v in want["annotations"].items())
                and DEPRECATED_CONTAINS_GROUP_RESOURCES not in annotations
                and all(labels.get(k) == v for k, v in want["labels"].items()))


def tooling_base_name(tooling: str) -> str:
    """toolingBaseName: `kubectl/v1.27` → `kubectl` (everything before the last `/`)."""
    head, sep, _ = tooling.rpartition("/")
    return head if sep else tooling


def parent_contents(live: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """The group-kinds and additional namespaces a live parent lists (parseKindAnnotation,
    parseNamespacesAnnotation); the parent's own namespace is added by the caller as kubectl does."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    kinds = {gk for gk in (annotations.get(CONTAINS_GROUP_KINDS) or "").split(",") if gk}
    namespaces = {ns for ns in (annotations.get(ADDITIONAL_NAMESPACES) or "").split(",") if ns}
    return kinds, namespaces


def split_group_kind(gk: str) -> tuple[str, str]:
    """schema.ParseGroupKind: `Deployment.apps` → ("apps", "Deployment"); `ConfigMap` → ("", "ConfigMap")."""
    kind, _, group = gk.partition(".")
    return group, kind


def label_error(obj: Mapping[str, Any]) -> str | None:
    """kubectl's AddLabels refuses input that already carries the membership label."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if isinstance(labels, dict) and PART_OF in labels:
        return f'ApplySet label "{PART_OF}" already set in input data'
    return None


def with_member_label(obj: Mapping[str, Any], set_id: str) -> dict[str, Any]:
    """A copy of `obj` labelled `applyset.kubernetes.io/part-of: <id>` (the document is not changed)."""
    md = dict(obj.get("metadata") or {})
    labels = md.get("labels") or {}
    if isinstance(labels, dict):  # anything else is sent as written, for the API server to refuse
        md["labels"] = {**labels, PART_OF: set_id}
    return {**obj, "metadata": md}
