"""The kinds one cluster serves: the built-in ones (registry.RESOURCES) and those added at runtime.

Custom resources come and go with their CustomResourceDefinitions (controllers/crd.py registers
them), so routing, discovery and OpenAPI ask a cluster's `Kinds` rather than the static tuple. Each
change bumps `generation`; `memo` keeps what is computed from the served kinds (discovery
documents, OpenAPI documents) until the next change. Built-in kinds are looked up as before, and a
group-version the built-ins serve is never taken over by an added kind (as upstream, where the
built-in handler answers for its group-version before the CRD handler is asked).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from boxk8s.resources.registry import RESOURCES, ResourceType

T = TypeVar("T")

_BUILTIN_GROUP_VERSIONS = frozenset((rt.group, rt.version) for rt in RESOURCES)
_BUILTIN_BY_PATH = {(rt.group, rt.version, rt.plural): rt for rt in RESOURCES}
_BUILTIN_BY_KIND = {(rt.api_version, rt.kind): rt for rt in reversed(RESOURCES)}


def builtin_group_version(group: str, version: str) -> bool:
    return (group, version) in _BUILTIN_GROUP_VERSIONS


class Kinds:
    """Built-in kinds plus kinds registered at runtime, each set under an owner (a CRD's name)."""

    def __init__(self) -> None:
        self._added: dict[str, tuple[ResourceType, ...]] = {}
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self.generation = 0
        self._memo: dict[Any, Any] = {}
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after each change of the served kinds (it should only note or enqueue)."""
        self._listeners.append(listener)

    # ---- changes --------------------------------------------------------------------------------
    def register(self, owner: str, types: Iterable[ResourceType]) -> None:
        """Serve `types` for `owner`, replacing what it served before (group-versions the built-ins
        serve are skipped)."""
        served = tuple(rt for rt in types if not builtin_group_version(rt.group, rt.version))
        if self._added.get(owner) == served:
            return
        if served:
            self._added[owner] = served
        else:
            self._added.pop(owner, None)
        self._changed()

    def unregister(self, owner: str) -> None:
        if self._added.pop(owner, None) is not None:
            self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self._memo = {}
        self._by_path = {}
        self._by_kind = {}
        for types in self._added.values():
            for rt in types:
                self._by_path.setdefault((rt.group, rt.version, rt.plural), rt)
                self._by_kind.setdefault((rt.api_version, rt.kind), rt)
        for listener in self._listeners:
            listener()

    # ---- reads ----------------------------------------------------------------------------------
    def owners(self) -> list[str]:
        return list(self._added)

    def added(self) -> tuple[ResourceType, ...]:
        """The kinds served beside the built-ins, by owner name then in their owner's order."""
        return tuple(rt for owner in sorted(self._added) for rt in self._added[owner])

    def all(self) -> tuple[ResourceType, ...]:
        return RESOURCES + self.added() if self._added else RESOURCES

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        key = (group, version, plural)
        return _BUILTIN_BY_PATH.get(key) or self._by_path.get(key)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        key = (api_version, kind)
        return _BUILTIN_BY_KIND.get(key) or self._by_kind.get(key)

    def group_versions(self) -> list[tuple[str, str]]:
        """(group, version) pairs in the order discovery lists them: the built-ins', then the added
        groups by name, each group's versions by kube-aware priority (v2 before v1 before v1beta1)."""
        return self.memo(("group-versions",), self._group_versions)

    def _group_versions(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for rt in RESOURCES:
            if (rt.group, rt.version) not in seen:
                seen.append((rt.group, rt.version))
        added = {(rt.group, rt.version) for rt in self.added()} - set(seen)
        for group in sorted({g for g, _ in added}):
            versions = sorted((v for g, v in added if g == group), key=version_priority)
            seen.extend((group, v) for v in versions)
        return seen

    def memo(self, key: Any, build: Callable[[], T]) -> T:
        """`build()`, computed once per generation of the served kinds."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]  # type: ignore[no-any-return]


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of apimachinery's CompareKubeAwareVersionStrings, highest priority first: GA
    before beta before alpha, higher numbers first, then versions that do not look like one by name."""

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, "")
