"""The admission seam: plugins the resource layer runs on every create and update.

Upstream the apiserver runs its admission chain (k8s.io/apiserver/pkg/admission) in two phases
around the storage strategy: mutating plugins (`Admit`) on the decoded, defaulted object before
`PrepareForCreate`/validation, validating plugins (`Validate`) after validation, just before the
write. Here a plugin is an object with both methods; the resource layer calls `Admission.admit`
and `Admission.validate` at those two points and knows nothing of what the plugins do
(ServiceAccount, LimitRanger and ResourceQuota are in their own modules).

A plugin refuses with an `errors.ApiError`, usually `forbidden(attrs, reason)`:
`pods "p" is forbidden: <reason>` (admission.NewForbidden).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from boxk8s import errors
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.kinds import Kinds
from boxk8s.resources.registry import ResourceType
from boxk8s.store import Store

Obj = dict[str, Any]

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"  # admission.Operation


@dataclass
class Attributes:
    """admission.Attributes: what is being written. Mutating plugins change `obj` in place."""

    operation: str  # CREATE | UPDATE | DELETE
    rt: ResourceType
    namespace: str | None
    obj: Obj  # {} on DELETE (upstream's nil object)
    old: Obj | None = None  # the stored object, on UPDATE and DELETE
    subresource: str = ""
    dry_run: bool = False
    opts: WriteOptions | None = None  # the request's options (webhooks: fieldManager, warnings)
    # What a plugin's admit learnt, for its validate (upstream's look twice in their informers'
    # caches; a store read here decodes the object again).
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """extractResourceName: the name, or the generateName while no name is generated yet."""
        md = self.obj.get("metadata") or {}
        return md.get("name") or md.get("generateName") or ""


class ResourceAccess(Protocol):
    """What plugins may use of the resource layer: reads, and writes of other objects (quota status)."""

    store: Store
    kinds: Kinds  # the kinds served, custom resources' too

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj: ...

    async def list(self, rt: ResourceType, namespace: str | None) -> tuple[list[Obj], Obj]: ...

    async def update(self, rt: ResourceType, namespace: str | None, name: str, body: Any,
                     opts: WriteOptions | None = None, subresource: str = "") -> Obj: ...


class AdmissionPlugin(Protocol):
    name: str

    def handles(self, attrs: Attributes) -> bool:
        """admission.Handler.Handles plus the plugin's own cheap filter (kind, subresource)."""
        ...

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        """Mutating phase: may change attrs.obj, or refuse."""
        ...

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        """Validating phase: may only refuse (the quota plugin also charges the quota here)."""
        ...


class Admission:
    """The chain: plugins in order, each phase stopping at the first refusal."""

    def __init__(self, plugins: Sequence[AdmissionPlugin] = ()) -> None:
        self.plugins = tuple(plugins)

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        for plugin in self.plugins:
            if _handles(plugin, attrs):
                await plugin.admit(attrs, api)

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        for plugin in self.plugins:
            if _handles(plugin, attrs):
                await plugin.validate(attrs, api)

    async def aclose(self) -> None:
        """Let go of what plugins hold (the webhooks' HTTP connections)."""
        for plugin in self.plugins:
            close = getattr(plugin, "aclose", None)
            if close is not None:
                await close()


def _handles(plugin: AdmissionPlugin, attrs: Attributes) -> bool:
    """admission.Handler's operations (CREATE and UPDATE unless the plugin names others), then its own filter."""
    return attrs.operation in getattr(plugin, "operations", (CREATE, UPDATE)) and plugin.handles(attrs)


def forbidden(attrs: Attributes, reason: str) -> errors.Forbidden:
    """admission.NewForbidden → apierrors.NewForbidden: `<resource> "<name>" is forbidden: <reason>`."""
    name = attrs.name
    resource = attrs.rt.group_resource
    message = f'{resource} "{name}" is forbidden: {reason}' if name else f"{resource} is forbidden: {reason}"
    return errors.Forbidden(message, name=name, group=attrs.rt.group, kind=attrs.rt.plural)
