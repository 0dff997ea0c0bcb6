"""Converging the cluster to the manifests: decide (`plan_changes`, pure), then act (`apply_plan`).

One pass: what changed since the last good apply of each file is server-side applied (field
manager `boxk8s`, conflicts forced, as `kubectl apply --server-side --force-conflicts`), labelled
as a member of the project's ApplySet; what a file held at its last good apply and holds no more
is pruned. A file with any error — YAML, a document without a name, an unknown kind, an object
already written in an earlier document, or the API server refusing one of its objects in a dry
run — applies nothing and prunes nothing, and its last good state stays as it was, so the next
good save picks up from there.

The ApplySet parent is written before the members and after the prune, as kubectl does
(BeforeApply: the superset of the old and new group-kinds and namespaces; after Prune: the new
ones), so an interrupted pass leaks nothing. After a restart, the previous state is what the
cluster holds with the set's `part-of` label (`observe_state`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.devloop import applyset
from boxk8s.devloop.applyset import ApplySetParent
from boxk8s.devloop.manifests import Document, ManifestError, Manifests, ObjectKey, apply_order, kind_rank
from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

FIELD_MANAGER = "boxk8s"
PENDING = ""  # the digest of an entry whose last write failed: applied (or pruned) again next pass
UNOWNED = ""  # the "file" of members found in the cluster whose file is not known (after a restart)


# ---- state and plan (pure) ----------------------------------------------------------------------

@dataclass(frozen=True)
class AppliedState:
    """What the cluster holds from each file as of that file's last good apply: key → digest of
    the document applied. `unowned` are members found in the cluster after a restart: until a
    pass with no broken file, any of them might be a broken file's, so they are not pruned."""

    files: Mapping[str, Mapping[ObjectKey, str]] = field(default_factory=lambda: MappingProxyType({}))
    unowned: frozenset[ObjectKey] = frozenset()

    def members(self) -> set[ObjectKey]:
        return {k for entries in self.files.values() for k in entries} | set(self.unowned)


@dataclass(frozen=True)
class Prune:
    key: ObjectKey
    file: str  # whose last good state held it (UNOWNED for members found in the cluster)


@dataclass(frozen=True)
class ApplyPlan:
    apply: tuple[Document, ...]  # changed documents, in apply order
    prune: tuple[Prune, ...]  # in reverse apply order (namespaces last)
    broken: Mapping[str, tuple[ManifestError, ...]]  # files left as they were, and why
    state: AppliedState  # the state once every write of the plan succeeded

    def settle(self, failed_applies: Iterable[Document] = (), failed_prunes: Iterable[Prune] = ()) -> AppliedState:
        """The state after the writes, some of which failed: a failed write stays to be done."""
        files = {path: dict(entries) for path, entries in self.state.files.items()}
        unowned = set(self.state.unowned)
        for d in failed_applies:
            files.setdefault(d.file, {})[d.key] = PENDING
        for p in failed_prunes:
            if p.file == UNOWNED:
                unowned.add(p.key)
            else:
                files.setdefault(p.file, {})[p.key] = PENDING
        return AppliedState(_frozen(files), frozenset(unowned))


def plan_changes(previous: AppliedState, current: Manifests,
                 rejected: Mapping[str, Sequence[ManifestError]] | None = None) -> ApplyPlan:
    """Which documents to apply and which objects to prune, per file.

    `rejected` holds the files the API server refused in a dry run (see `apply_plan`): they count
    as broken. A key still written in some file, or held by a broken file's last good state, is
    never pruned; a document moved from one file to another is applied again, not pruned."""
    rejected = rejected or {}
    broken: dict[str, tuple[ManifestError, ...]] = {}
    first_seen: dict[ObjectKey, Document] = {}
    for f in current.files:
        problems = list(f.errors) or list(rejected.get(f.path, ()))
        for d in f.documents:
            if msg := applyset.label_error(d.obj):
                problems.append(ManifestError(f.path, d.line, msg, field="metadata.labels"))
            if (earlier := first_seen.setdefault(d.key, d)) is not d:
                # two documents for one object would overwrite each other on every pass
                problems.append(ManifestError(f.path, d.line, f"{d.key} is also at {earlier.file}:{earlier.line}"))
        if problems:
            broken[f.path] = tuple(problems)
    claimed = {d.key for f in current.files for d in f.documents}
    for path in broken:
        claimed.update(previous.files.get(path, {}))

    files: dict[str, dict[ObjectKey, str]] = {}
    to_apply: list[Document] = []
    prunes: dict[ObjectKey, Prune] = {}
    present = set()
    for f in current.files:
        present.add(f.path)
        before = previous.files.get(f.path, {})
        if f.path in broken:
            if f.path in previous.files:
                files[f.path] = dict(before)
            continue
        entries: dict[ObjectKey, str] = {}
        for d in f.documents:
            entries[d.key] = d.digest
            if before.get(d.key) != d.digest:
                to_apply.append(d)
        files[f.path] = entries
        for key in before:
            if key not in claimed:
                prunes.setdefault(key, Prune(key, f.path))
    for path, before in previous.files.items():
        if path not in present:  # the file is gone: so are its objects
            for key in before:
                if key not in claimed:
                    prunes.setdefault(key, Prune(key, path))
    if broken:
        unowned = frozenset(previous.unowned - claimed)  # kept until nothing is broken
    else:
        unowned = frozenset()
        for key in previous.unowned - claimed:
            prunes.setdefault(key, Prune(key, UNOWNED))
    # files in order, then removed files, then unowned members; namespaces last (stable sort)
    order = sorted(prunes.values(), key=lambda p: -kind_rank(p.key.kind, p.key.group))
    return ApplyPlan(tuple(apply_order(to_apply)), tuple(order), MappingProxyType(broken),
                     AppliedState(_frozen(files), unowned))


def _frozen(files: Mapping[str, Mapping[ObjectKey, str]]) -> Mapping[str, Mapping[ObjectKey, str]]:
    return MappingProxyType({path: MappingProxyType(dict(entries)) for path, entries in files.items()})


def group_kinds(keys: Iterable[ObjectKey]) -> set[str]:
    return {applyset.group_kind(k.kind, k.group) for k in keys}


def namespaces(keys: Iterable[ObjectKey]) -> set[str]:
    return {k.namespace for k in keys if k.namespace}


# ---- API errors → file:line field message (pure) ------------------------------------------------

_UNKNOWN_FIELD = re.compile(r'unknown field "([^"]+)"')
_GO_FIELD = re.compile(r"Go struct field [^.\s]+\.(\S+) of type")
_CANNOT_HANDLE = re.compile(r'^.*? cannot be handled as an? \w+: ')


def api_problems(doc: Document, e: errors.ApiError) -> list[ManifestError]:
    """An API error on a document, as errors pointing at the fields it names: the causes of an
    Invalid Status, the unknown fields of a strict decoding error, the field of a type error."""
    def at(field_path: str, message: str) -> ManifestError:
        return ManifestError(doc.file, doc.line_of(field_path) if field_path else doc.line, message, field=field_path)

    if e.causes:
        return [at(c.get("field") or "", c.get("message") or e.message) for c in e.causes]
    unknown = _UNKNOWN_FIELD.findall(e.message)
    if unknown:
        return [at(f, f'unknown field "{f}"') for f in unknown]
    message = _CANNOT_HANDLE.sub("", e.message)
    if m := _GO_FIELD.search(e.message):
        return [at(m.group(1), message)]
    if isinstance(e, errors.NotFound) and e.kind == "namespaces":
        return [at("metadata.namespace", message)]
    return [at("", message)]


# ---- reports ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileReport:
    file: str  # UNOWNED for objects no file holds any more, found in the cluster after a restart
    applied: int = 0
    pruned: int = 0
    errors: tuple[ManifestError, ...] = ()


@dataclass(frozen=True)
class ReloadReport:
    """What one pass did, per file; `lines()` is what to show the person editing the files."""

    paths: tuple[str, ...]
    files: tuple[FileReport, ...] = ()
    errors: tuple[str, ...] = ()  # not about one file (the ApplySet parent)
    found: int = 0  # manifest files read
    initial: bool = False  # the pass at start

    @property
    def ok(self) -> bool:
        return not self.errors and not any(f.errors for f in self.files)

    def lines(self) -> list[str]:
        out: list[str] = []
        if not self.found:
            where = ", ".join(self.paths)
            out.append(f"no manifests found in {where}: the cluster starts empty" if self.initial
                       else f"no manifests left in {where}")
        out.extend(f"error {e}" for e in self.errors)
        for f in self.files:
            if f.applied or f.pruned:
                name = f.file or "objects no file holds any more"
                out.append(f"{name}: applied {f.applied}, pruned {f.pruned}")
            out.extend(f"error {e}" for e in f.errors)
        return out


# ---- acting (I/O through the Client) ------------------------------------------------------------

@dataclass
class _Outcome:
    applied: dict[str, int] = field(default_factory=dict)
    pruned: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[ManifestError]] = field(default_factory=dict)
    failed_applies: list[Document] = field(default_factory=list)
    failed_prunes: list[Prune] = field(default_factory=list)

    def problem(self, file: str, *errs: ManifestError) -> None:
        self.problems.setdefault(file, []).extend(errs)


class ApplySetError(Exception):
    """The ApplySet parent exists and is not this project's (kubectl's fetchParent refusals)."""


class Applier:
    """Writes plans through a Client: members as `boxk8s`, the parent as `boxk8s-applyset`."""

    def __init__(self, client: Client, parent: ApplySetParent, parent_client: Client | None = None) -> None:
        self.client = client
        self.parent = parent
        self.parent_client = parent_client or Client(client.resources, applyset.FIELD_MANAGER)
        self.set_id = parent.id

    # -- the parent ---------------------------------------------------------------------------
    async def _live_parent(self) -> dict[str, Any] | None:
        rt = _resource(self.parent.group, self.parent.kind)
        try:
            live = await self.client.get(rt, self.parent.namespace, self.parent.name)
        except errors.NotFound:
            return None
        problem = self.parent.check(live)
        if problem:
            raise ApplySetError(problem)
        return live

    async def _write_parent(self, live: dict[str, Any] | None, kinds: set[str], spaces: set[str]) -> None:
        if live is not None and self.parent.is_current(live, kinds, spaces):
            return
        rt = _resource(self.parent.group, self.parent.kind)
        body = self.parent.patch(kinds, spaces)
        try:
            await self.parent_client.apply(rt, self.parent.namespace, self.parent.name, body)
        except errors.Conflict:
            # kubectl: "ApplySet field manager ... should own these fields. Retrying with conflicts forced."
            log.warning("ApplySet parent %s: conflict, retrying with conflicts forced", self.parent.name)
            await self.parent_client.apply(rt, self.parent.namespace, self.parent.name, body, force=True)

    # -- after a restart ----------------------------------------------------------------------
    async def observe_state(self) -> AppliedState:
        """The members in the cluster, as kubectl lists them for pruning: each group-kind the
        parent lists, in the parent's namespace and its additional namespaces, by `part-of`."""
        live = await self._live_parent()
        if live is None:
            return AppliedState()
        kinds, spaces = applyset.parent_contents(live)
        spaces.add(self.parent.namespace)
        found: set[ObjectKey] = set()
        for gk in sorted(kinds):
            group, kind = applyset.split_group_kind(gk)
            rt = self._find(group, kind)
            if rt is None:
                log.warning("ApplySet %s lists %s, which this cluster does not serve", self.parent.name, gk)
                continue
            for ns in sorted(spaces) if rt.namespaced else [None]:
                for obj in await self.client.list(rt, ns, label=self._member):
                    md = obj["metadata"]
                    found.add(ObjectKey(rt.group, rt.kind, md.get("namespace") or "", md["name"]))
        return AppliedState(unowned=frozenset(found))

    def _find(self, group: str, kind: str) -> ResourceType | None:
        """A kind the cluster serves, custom resources included."""
        return next((rt for rt in self.client.resources.kinds.all() if rt.group == group and rt.kind == kind), None)

    def _member(self, labels: dict[str, str]) -> bool:
        return labels.get(applyset.PART_OF) == self.set_id

    # -- one pass -----------------------------------------------------------------------------
    async def dry_run(self, plan: ApplyPlan) -> dict[str, list[ManifestError]]:
        """The API server's verdict on every document to apply, without writing: files with errors."""
        created_namespaces = {d.key.name for d in plan.apply if d.key.kind == "Namespace" and not d.key.group}
        rejected: dict[str, list[ManifestError]] = {}
        for d in plan.apply:
            try:
                await self._apply(d, dry_run=True)
            except errors.NotFound as e:
                if e.kind == "namespaces" and e.name in created_namespaces:
                    continue  # its namespace is created by this very pass: checked when applied
                rejected.setdefault(d.file, []).extend(api_problems(d, e))
            except errors.ApiError as e:
                rejected.setdefault(d.file, []).extend(api_problems(d, e))
            except Exception as e:  # noqa: BLE001 - a person's file must not stop the cluster
                rejected.setdefault(d.file, []).append(_internal(d, e))
        return rejected

    async def _apply(self, d: Document, *, dry_run: bool = False) -> None:
        body = applyset.with_member_label(d.obj, self.set_id)
        await self.client.apply(d.resource, d.key.namespace or None, d.key.name, body, force=True, dry_run=dry_run)

    async def _prune(self, p: Prune) -> bool:
        """Delete a member, in the background (its dependents go through the garbage collector).
        False when there was nothing of ours to delete (gone already, or no longer in the set)."""
        rt = self._find(p.key.group, p.key.kind)
        if rt is None:
            return False
        ns = p.key.namespace or None
        try:
            live = await self.client.get(rt, ns, p.key.name)
            if not self._member(live["metadata"].get("labels") or {}):
                log.info("not pruning %s: it no longer belongs to ApplySet %s", p.key, self.parent.name)
                return False
            await self.client.delete(rt, ns, p.key.name, {"propagationPolicy": "Background"})
        except errors.NotFound:
            return False
        return True

    async def apply_plan(self, plan: ApplyPlan, previous: AppliedState) -> tuple[AppliedState, _Outcome]:
        """Parent (superset), members in order, prunes, parent (latest); the state after it."""
        out = _Outcome()
        if not plan.apply and not plan.prune:
            if plan.state.members() != previous.members():  # e.g. unowned members now owned
                live = await self._live_parent()
                members = plan.state.members()
                await self._write_parent(live, group_kinds(members), namespaces(members))
            return plan.state, out
        live = await self._live_parent()
        before = previous.members() | plan.state.members()
        kinds, spaces = group_kinds(before), namespaces(before)
        if live is not None:
            live_kinds, live_spaces = applyset.parent_contents(live)
            kinds |= live_kinds
            spaces |= live_spaces
        await self._write_parent(live, kinds, spaces)
        for d in plan.apply:
            try:
                await self._apply(d)
                out.applied[d.file] = out.applied.get(d.file, 0) + 1
            except errors.ApiError as e:
                out.failed_applies.append(d)
                out.problem(d.file, *api_problems(d, e))
            except Exception as e:  # noqa: BLE001 - as in dry_run
                out.failed_applies.append(d)
                out.problem(d.file, _internal(d, e))
        for p in plan.prune:
            try:
                if await self._prune(p):
                    out.pruned[p.file] = out.pruned.get(p.file, 0) + 1
            except errors.ApiError as e:
                out.failed_prunes.append(p)
                out.problem(p.file, ManifestError(p.file, 0, f"pruning {p.key}: {e.message}"))
        state = plan.settle(out.failed_applies, out.failed_prunes)
        members = state.members()
        # after a failed prune the set still holds what could not be pruned (updateToSuperset)
        await self._write_parent(await self._live_parent(), group_kinds(members), namespaces(members))
        return state, out

    async def reconcile(self, previous: AppliedState, manifests: Manifests, *,
                        initial: bool = False) -> tuple[AppliedState, ReloadReport]:
        """One pass: plan, dry run, plan again without the refused files, apply, report."""
        plan = plan_changes(previous, manifests)
        try:
            rejected = await self.dry_run(plan)
            if rejected:
                plan = plan_changes(previous, manifests, rejected)
            state, out = await self.apply_plan(plan, previous)
        except ApplySetError as e:
            return previous, ReloadReport(manifests.paths, errors=(str(e),), found=len(manifests.files),
                                          initial=initial)
        return state, _report(manifests, plan, out, initial)


def _internal(d: Document, e: Exception) -> ManifestError:
    """An error the resource layer should have turned into a Status: logged with its traceback,
    reported on the document rather than stopping the dev loop (and `boxk8s up` with it)."""
    log.error("applying %s from %s:%d failed", d.key, d.file, d.line, exc_info=e)
    return ManifestError(d.file, d.line, f"internal error: {type(e).__name__}: {e}")


def _report(manifests: Manifests, plan: ApplyPlan, out: _Outcome, initial: bool) -> ReloadReport:
    order = [f.path for f in manifests.files]
    order += sorted({p.file for p in plan.prune} - set(order))
    files = []
    for path in order:
        problems = tuple(plan.broken.get(path, ())) + tuple(out.problems.get(path, ()))
        applied, pruned = out.applied.get(path, 0), out.pruned.get(path, 0)
        if applied or pruned or problems:
            files.append(FileReport(path, applied, pruned, problems))
    return ReloadReport(manifests.paths, tuple(files), found=len(manifests.files), initial=initial)


def _resource(group: str, kind: str) -> ResourceType:
    """A built-in kind (the ApplySet parent's)."""
    rt = next((rt for rt in registry.RESOURCES if rt.group == group and rt.kind == kind), None)
    assert rt is not None, (group, kind)
    return rt
