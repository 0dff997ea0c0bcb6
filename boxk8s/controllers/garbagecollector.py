"""The garbage collector: ownerReferences, cascading deletion, orphaning.

Like upstream's, it keeps a graph (here: an index owner uid → dependents built from shared
informers of every kind) and works two queues' worth of keys through one:

- a dependent whose owners are all gone (absent, or present under another uid) is deleted, with
  the propagation policy its own finalizers ask for (Background by default); owners that are gone
  next to ones that remain are just dropped from its ownerReferences;
- an owner deleted with `propagationPolicy: Foreground` carries the `foregroundDeletion`
  finalizer: its dependents are deleted (foreground too), and the finalizer is removed once no
  dependent with `blockOwnerDeletion: true` remains;
- an owner deleted with `propagationPolicy: Orphan` carries the `orphan` finalizer: the
  ownerReferences pointing at it are removed from its dependents, then the finalizer.

Background deletion needs nothing else: the owner goes at once and its dependents become dangling.
Before deleting for an absent owner the owner is looked up live, not in a cache that may lag.

Custom resources take part as owners and dependents: as upstream's GraphBuilder.syncMonitors
starts a monitor for each deletable resource discovery lists, an informer of the collector's own
runs for each kind a CRD serves, started when the kind is served and stopped when it is no longer
(custom_kinds.py). A kind that was served stays known, so that dependents of its objects find
their owners absent once the CRD and its objects are gone.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import Informer
from boxk8s.controllers.base import Controller
from boxk8s.events import EventRecorder
from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.status import FOREGROUND_FINALIZER, ORPHAN_FINALIZER

log = logging.getLogger(__name__)

Obj = dict[str, Any]
OwnerState = Literal["solid", "absent", "waiting"]  # waiting: being deleted in the foreground
SKIPPED = {("", "events"), ("events.k8s.io", "events")}
FOREGROUND_RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Keep:
    pass


@dataclass(frozen=True)
class RemoveRefs:
    uids: frozenset[str]


@dataclass(frozen=True)
class Delete:
    policy: str


DependentAction = Keep | RemoveRefs | Delete


def plan_dependent(refs: list[Obj], states: dict[str, OwnerState], finalizers: list[str]) -> DependentAction:
    """What to do with an object given the state of each of its owners (by uid).

    Upstream's attemptToDeleteItem: any solid owner keeps it (dangling and waiting owners are
    dropped from its references); otherwise it goes — in the foreground when an owner waits for
    it, else with the policy its own finalizers name.
    """
    solid = [r["uid"] for r in refs if states.get(r["uid"], "solid") == "solid"]
    dangling = [r["uid"] for r in refs if states.get(r["uid"]) == "absent"]
    waiting = [r["uid"] for r in refs if states.get(r["uid"]) == "waiting"]
    if not dangling and not waiting:
        return Keep()
    if solid:
        return RemoveRefs(frozenset(dangling + waiting))
    if waiting:
        return Delete("Foreground")
    if ORPHAN_FINALIZER in finalizers:
        return Delete("Orphan")
    if FOREGROUND_FINALIZER in finalizers:
        return Delete("Foreground")
    return Delete("Background")


@dataclass(frozen=True)
class DependentView:
    key: str
    blocking: bool  # its reference to the owner has blockOwnerDeletion: true
    deleting: bool


@dataclass(frozen=True)
class OwnerPlan:
    delete: tuple[str, ...] = ()  # dependents to delete (foreground)
    unlink: tuple[str, ...] = ()  # dependents to drop the owner reference from
    remove_finalizer: str | None = None


def plan_deleting_owner(finalizers: list[str], dependents: list[DependentView]) -> OwnerPlan:
    """An owner under deletion with a GC finalizer: orphan its dependents, or delete them first."""
    if ORPHAN_FINALIZER in finalizers:
        return OwnerPlan(unlink=tuple(d.key for d in dependents), remove_finalizer=ORPHAN_FINALIZER)
    if FOREGROUND_FINALIZER in finalizers:
        delete = tuple(d.key for d in sorted(dependents, key=lambda d: not d.blocking) if not d.deleting)
        blocking = [d for d in dependents if d.blocking]
        return OwnerPlan(delete=delete, remove_finalizer=None if blocking else FOREGROUND_FINALIZER)
    return OwnerPlan()


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


class GarbageCollector(Controller):
    name = "garbage-collector-controller"
    workers = 4

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        self.types: dict[str, ResourceType] = {}  # "group/plural" → type
        self.by_kind: dict[tuple[str, str], ResourceType] = {}  # (group, kind) → type
        self.dependents: dict[str, set[str]] = {}  # owner uid → dependent keys
        self.uids: dict[str, str] = {}  # uid → key
        for rt in registry.RESOURCES:
            if (rt.group, rt.plural) in SKIPPED or "watch" not in rt.verbs:
                continue
            self.types[f"{rt.group}/{rt.plural}"] = rt
            self.by_kind[(rt.group, rt.kind)] = rt
            factory.informer(rt).add_handler(self._handler(rt))
        self.builtin = frozenset(self.types)
        self.kinds = client.resources.kinds
        self.custom = factory.custom_kinds().subscribe(self._watching, self._unwatched)

    def _watching(self, key: str, rt: ResourceType, informer: Informer) -> None:
        informer.add_handler(self._handler(rt))
        self.types[key], self.by_kind[(rt.group, rt.kind)] = rt, rt

    def _unwatched(self, key: str, informer: Informer) -> None:
        for obj in informer.list():  # what is left of it: its dependents look again
            self._unindex(informer.rt, obj)
            for dep in list(self.dependents.get(obj["metadata"].get("uid", ""), ())):
                self.queue.add(dep)

    def _informer(self, rt: ResourceType) -> Informer | None:
        """The cache of a kind: the shared informer of a built-in one, ours of a custom one (None
        once no longer served)."""
        key = f"{rt.group}/{rt.plural}"
        if key in self.custom.informers:
            return self.custom.informers[key]
        return self.factory.informer(rt) if key in self.builtin else None

    # ---- keys and the index ------------------------------------------------------------------
    @staticmethod
    def key_of(rt: ResourceType, obj: Obj) -> str:
        md = obj["metadata"]
        return f"{rt.group}/{rt.plural}|{md.get('namespace') or ''}|{md['name']}"

    def _parse(self, key: str) -> tuple[ResourceType, str | None, str]:
        gp, ns, name = key.split("|", 2)
        return self.types[gp], (ns or None), name

    def _cached(self, key: str) -> Obj | None:
        rt, ns, name = self._parse(key)
        informer = self._informer(rt)
        return informer.get(f"{ns}/{name}" if ns else name) if informer is not None else None

    def _handler(self, rt: ResourceType):  # type: ignore[no-untyped-def]
        def on_event(kind: str, old: Obj | None, new: Obj | None) -> None:
            if old is not None:
                self._unindex(rt, old)
            if new is not None and kind != "DELETED":
                self._index(rt, new)
            old_uid = (old or {}).get("metadata", {}).get("uid")
            new_uid = (new or {}).get("metadata", {}).get("uid") if kind != "DELETED" else None
            if old_uid and old_uid != new_uid:  # gone (or replaced): its dependents may be orphans now
                for dep in list(self.dependents.get(old_uid, ())):
                    self.queue.add(dep)
            if new is not None and kind != "DELETED":
                md = new["metadata"]
                if md.get("ownerReferences"):
                    self.queue.add(self.key_of(rt, new))
                if md.get("deletionTimestamp") and {ORPHAN_FINALIZER, FOREGROUND_FINALIZER} & set(
                        md.get("finalizers") or []):
                    self.queue.add(self.key_of(rt, new))
            # An owner waiting for its dependents learns when one of them goes.
            for obj in (old, new):
                for ref in (obj or {}).get("metadata", {}).get("ownerReferences") or []:
                    owner = self.uids.get(ref.get("uid", ""))
                    if owner is not None:
                        self.queue.add(owner)
        return on_event

    def _index(self, rt: ResourceType, obj: Obj) -> None:
        key = self.key_of(rt, obj)
        self.uids[obj["metadata"]["uid"]] = key
        for ref in obj["metadata"].get("ownerReferences") or []:
            self.dependents.setdefault(ref.get("uid", ""), set()).add(key)

    def _unindex(self, rt: ResourceType, obj: Obj) -> None:
        key = self.key_of(rt, obj)
        uid = obj["metadata"].get("uid", "")
        if self.uids.get(uid) == key:
            del self.uids[uid]
        for ref in obj["metadata"].get("ownerReferences") or []:
            deps = self.dependents.get(ref.get("uid", ""))
            if deps is not None:
                deps.discard(key)
                if not deps:
                    del self.dependents[ref.get("uid", "")]

    # ---- reconcile ---------------------------------------------------------------------------
    async def reconcile(self, key: str) -> float | None:
        obj = self._cached(key)
        if obj is None:
            return None
        md = obj["metadata"]
        finalizers = list(md.get("finalizers") or [])
        if md.get("deletionTimestamp"):
            if ORPHAN_FINALIZER in finalizers or FOREGROUND_FINALIZER in finalizers:
                return await self._process_deleting_owner(key, obj)
            return None  # already going
        if md.get("ownerReferences"):
            await self._process_dependent(key, obj)
        return None

    async def _owner_state(self, dependent: Obj, ref: Obj) -> OwnerState:
        rt = self.by_kind.get((api_group(ref.get("apiVersion", "")), ref.get("kind", "")))
        if rt is None:
            return "solid"  # a kind we do not know (yet): never delete for it
        ns = dependent["metadata"].get("namespace")
        if rt.namespaced and not ns:
            return "absent"  # a cluster-scoped object cannot be owned by a namespaced one
        ns = ns if rt.namespaced else None
        informer = self._informer(rt)
        owner = informer.get(f"{ns}/{ref['name']}" if ns else ref["name"]) if informer is not None else None
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            try:  # the cache may lag behind the dependent's: ask the store before deleting anything
                owner = await self.client.get(rt, ns, ref["name"])
            except errors.NotFound:
                return "absent"
            if owner["metadata"].get("uid") != ref.get("uid"):
                return "absent"
        omd = owner["metadata"]
        if omd.get("deletionTimestamp") and FOREGROUND_FINALIZER in (omd.get("finalizers") or []):
            return "waiting"
        return "solid"

    async def _process_dependent(self, key: str, obj: Obj) -> None:
        refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid")]
        states = {r["uid"]: await self._owner_state(obj, r) for r in refs}
        action = plan_dependent(refs, states, list(obj["metadata"].get("finalizers") or []))
        if isinstance(action, RemoveRefs):
            await self._unlink(key, action.uids)
        elif isinstance(action, Delete):
            await self._delete(key, obj, action.policy)

    async def _process_deleting_owner(self, key: str, owner: Obj) -> float | None:
        uid = owner["metadata"]["uid"]
        views = []
        for dep_key in sorted(self.dependents.get(uid, ())):
            dep = self._cached(dep_key)
            if dep is None:
                continue
            ref = next((r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") == uid), None)
            if ref is None:
                continue
            views.append(DependentView(dep_key, bool(ref.get("blockOwnerDeletion")),
                                       bool(dep["metadata"].get("deletionTimestamp"))))
        plan = plan_deleting_owner(list(owner["metadata"].get("finalizers") or []), views)
        for dep_key in plan.unlink:
            await self._unlink(dep_key, frozenset([uid]))
        for dep_key in plan.delete:
            dep = self._cached(dep_key)
            if dep is not None:
                await self._delete(dep_key, dep, "Foreground")
        if plan.remove_finalizer:
            await self._remove_finalizer(key, uid, plan.remove_finalizer)
            return None
        return FOREGROUND_RECHECK_SECONDS  # the informers wake us; this is a safety net

    # ---- actions -----------------------------------------------------------------------------
    async def _delete(self, key: str, obj: Obj, policy: str) -> None:
        rt, ns, name = self._parse(key)
        log.info("gc: deleting %s %s/%s (%s)", rt.kind, ns or "", name, policy)
        try:
            await self.client.delete(rt, ns, name, {"propagationPolicy": policy,
                                                    "preconditions": {"uid": obj["metadata"]["uid"]}})
        except (errors.NotFound, errors.Conflict):
            pass  # gone already, or replaced by a new object of that name

    async def _unlink(self, key: str, uids: frozenset[str]) -> None:
        def change(obj: Obj) -> Obj | None:
            refs = obj["metadata"].get("ownerReferences") or []
            kept = [r for r in refs if r.get("uid") not in uids]
            if len(kept) == len(refs):
                return None
            new = copy.deepcopy(obj)
            if kept:
                new["metadata"]["ownerReferences"] = kept
            else:
                new["metadata"].pop("ownerReferences", None)
            return new
        await self._update_fresh(key, change)

    async def _remove_finalizer(self, key: str, uid: str, finalizer: str) -> None:
        def change(obj: Obj) -> Obj | None:
            finalizers = list(obj["metadata"].get("finalizers") or [])
            if obj["metadata"].get("uid") != uid or finalizer not in finalizers:
                return None
            new = copy.deepcopy(obj)
            new["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
            return new
        await self._update_fresh(key, change)

    async def _update_fresh(self, key: str, change: Callable[[Obj], Obj | None]) -> None:
        """Update the object from a fresh read with `change` (None: nothing to do), read again
        after a conflict; a gone object needs nothing."""
        rt, ns, name = self._parse(key)
        for _attempt in range(5):
            try:
                new = change(await self.client.get(rt, ns, name))
                if new is None:
                    return
                await self.client.update(rt, new)
                return
            except errors.Conflict:
                continue
            except errors.NotFound:
                return
        raise errors.conflict(rt.group, rt.plural, name)
