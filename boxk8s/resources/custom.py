"""The served versions of custom resources, found by their synthetic definition names.

Built-in kinds find their schema by OpenAPI definition name (definitions.py); a custom resource's
ResourceType carries a definition name of its own, `customresource:<crd name>/<version>@<crd uid>`,
which resolves here to what the CRD says about that version: its structural schema (compiled),
subresources, printer columns and storage version. The uid in the name keeps two clusters in one
process (tests) apart, and a CRD deleted and created again apart from its old self. The resource
layer's steps (decode, defaults, validation, strategy, tables, patches, conversion) ask
`lookup(rt.definition)` and take the custom path when it answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources.crd_structural import SNode
from boxk8s.resources.registry import ResourceType

PREFIX = "customresource:"


@dataclass(frozen=True)
class ScaleSpec:
    """spec.versions[].subresources.scale: JSON paths such as `.spec.replicas`."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str | None = None


@dataclass(frozen=True)
class PrinterColumn:
    """spec.versions[].additionalPrinterColumns[]."""

    name: str
    type: str
    json_path: str
    format: str = ""
    description: str = ""
    priority: int = 0


@dataclass(eq=False)
class CustomVersion:
    """One version of a custom resource as served: the CRD's word on it, compiled once."""

    crd_name: str
    crd_uid: str
    group: str
    version: str
    kind: str
    list_kind: str
    plural: str
    singular: str
    namespaced: bool
    schema: dict[str, Any]  # spec.versions[].schema.openAPIV3Schema, as the CRD has it
    root: SNode  # the same, compiled (crd_structural.compile_schema)
    storage_version: str
    status: bool = False
    scale: ScaleSpec | None = None
    columns: tuple[PrinterColumn, ...] = ()
    deprecated: bool = False
    deprecation_warning: str | None = None
    rt: ResourceType | None = field(default=None, repr=False)
    storage_rt: ResourceType | None = field(default=None, repr=False)
    terminating: bool = False  # the CRD is being deleted: creates are refused
    has_embedded: bool = False  # some x-kubernetes-embedded-resource below the root
    patch_schema: dict[str, Any] = field(default_factory=dict, repr=False)  # JSON-schema form for apply

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


_VERSIONS: dict[str, CustomVersion] = {}


def definition_name(crd_name: str, version: str, uid: str) -> str:
    return f"{PREFIX}{crd_name}/{version}@{uid}"


def lookup(definition: str) -> CustomVersion | None:
    """The custom version a (synthetic) definition name stands for; None for built-in kinds."""
    return _VERSIONS.get(definition) if definition.startswith(PREFIX) else None


def is_custom(rt: ResourceType) -> bool:
    return rt.definition.startswith(PREFIX)


def install(versions: list[CustomVersion]) -> None:
    """Make these versions resolvable, replacing what the same CRD (uid) had before."""
    uids = {v.crd_uid for v in versions}
    for uid in uids:
        remove(uid, keep={definition_name(v.crd_name, v.version, v.crd_uid) for v in versions})
    for v in versions:
        assert v.rt is not None
        _VERSIONS[v.rt.definition] = v


def remove(uid: str, keep: set[str] | None = None) -> None:
    for name in [n for n in _VERSIONS if n.endswith("@" + uid) and n not in (keep or set())]:
        del _VERSIONS[name]


def versions_of(uid: str) -> list[CustomVersion]:
    return [v for n, v in _VERSIONS.items() if n.endswith("@" + uid)]
