"""The resource layer (`Resources`): CRUD on Kubernetes objects with the apiserver's bookkeeping.

Every writer — the HTTP API, controllers, the kubelet, the dev loop — goes through here, so
validation, defaults, resourceVersions and watch events are the same for all of them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from boxk8s import errors, jsontext
from boxk8s.resources import allocate, conversion, custom, defaults, meta, patch, registry, status
from boxk8s.resources.admission import WriteOptions, decode, validate_object, validate_update
from boxk8s.resources.admission_plugins import CREATE, DELETE, UPDATE, Admission, Attributes
from boxk8s.resources.apiserver_admission import apiserver_admission
from boxk8s.resources.deletion import finalized, plan_delete
from boxk8s.resources.kinds import Kinds
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.serviceaccount_token import TokenIssuer
from boxk8s.resources.store_errors import api_errors
from boxk8s.resources.strategy import strategy_for
from boxk8s.store import Store, Watch

log = logging.getLogger(__name__)

Predicate = Callable[[dict[str, Any]], bool]

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}

# What the apiserver answers a strategic merge patch to a custom resource with (415).
CUSTOM_PATCH_MESSAGE = ("the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")


def _rv(obj: dict[str, Any]) -> int | None:
    md = obj.get("metadata")
    value = md.get("resourceVersion") if isinstance(md, dict) else None
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise errors.BadRequest(f"invalid resourceVersion {value!r}") from e


class Resources:
    def __init__(self, store: Store, *, service_cidr: str = allocate.DEFAULT_SERVICE_CIDR,
                 admission: Admission | None = None) -> None:
        self.store = store
        self.kinds = Kinds()  # what this cluster serves: the built-in kinds and its custom resources
        # The admission plugins run on every create and update (admission_plugins.py): by default
        # the apiserver's but ServiceAccount, which needs its controller beside it (an assembled
        # cluster runs both: cluster/components.py).
        self.admission = admission if admission is not None else apiserver_admission(service_accounts=False)
        self.service_cidr = service_cidr  # where ClusterIPs come from (the apiserver's --service-cluster-ip-range)
        self._allocation_lock = asyncio.Lock()  # Service IPs and ports: list-then-write must not interleave
        # namespace -> revision of its object when last found accepting writes (every namespaced
        # create checks it; a new revision of the namespace means a new look)
        self._open_namespaces: dict[str, int] = {}
        self.token_issuer: TokenIssuer | None = None  # signs ServiceAccount tokens (token_request.py)

    # ---- reads ----------------------------------------------------------------------------
    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        with api_errors(rt, name):
            return conversion.from_storage(rt, await self.store.get(rt.key(namespace, name)))

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label: Predicate | None = None,
        field: Predicate | None = None,
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        resource_version_match: str = "",
        skip_unreadable: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Items and the list's metadata (resourceVersion, continue). An object the store cannot
        decrypt fails the list (500, as the apiserver's), or with `skip_unreadable` is left out."""
        if conversion.converts(rt):
            items, list_meta = await self.list(
                conversion.storage_type(rt), namespace, label=label, field=field, limit=limit,
                continue_token=continue_token, resource_version=resource_version,
                resource_version_match=resource_version_match, skip_unreadable=skip_unreadable)
            return [conversion.from_storage(rt, i) for i in items], list_meta
        start_after = ""
        revision: int | None = None
        if continue_token:
            revision, start_after = _decode_continue(continue_token)
        elif resource_version_match == "Exact" and resource_version not in ("", "0"):
            try:
                revision = int(resource_version)
            except ValueError as e:
                raise errors.BadRequest(f"invalid resourceVersion {resource_version!r}") from e
        prefix = rt.key_prefix(namespace)
        # Page through the store in chunks, so that a limited list decodes about one page.
        chunk = max(limit + 1, 500) if limit else 0
        out: list[dict[str, Any]] = []
        list_meta: dict[str, Any] = {}
        cursor = start_after
        while True:
            with api_errors(rt, revision=revision, continuing=bool(continue_token)):
                items, list_rev = await self.store.list(prefix, revision, start_after=cursor, limit=chunk,
                                                        skip_unreadable=skip_unreadable)
            revision = list_rev
            list_meta["resourceVersion"] = str(list_rev)
            for item in items:
                if label and not label(item["metadata"].get("labels") or {}):
                    continue
                if field and not field(item):
                    continue
                if limit and len(out) == limit:
                    last = out[-1]["metadata"]
                    list_meta["continue"] = _encode_continue(list_rev, rt.key(last.get("namespace"), last["name"]))
                    return out, list_meta
                out.append(item)
            if not chunk or len(items) < chunk:
                return out, list_meta
            last_md = items[-1]["metadata"]
            cursor = rt.key(last_md.get("namespace"), last_md["name"])

    async def list_rendered(
        self, rt: ResourceType, namespace: str | None, *, limit: int = 0
    ) -> tuple[list[bytes], dict[str, Any]]:
        """A list at the current revision with no selector, its items as JSON (see
        Store.list_rendered), and the list's metadata: what `list` gives, already encoded."""
        if conversion.converts(rt):
            items, meta_ = await self.list(rt, namespace, limit=limit)
            return [_encode(i) for i in items], meta_
        with api_errors(rt):
            rows, revision = await self.store.list_rendered(rt.key_prefix(namespace), limit=limit + 1 if limit else 0)
        list_meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if limit and len(rows) > limit:
            rows = rows[:limit]
            list_meta["continue"] = _encode_continue(revision, rows[-1][0])
        return [item for _, item in rows], list_meta

    # ---- writes ---------------------------------------------------------------------------
    async def create(
        self, rt: ResourceType, namespace: str | None, body: Any, opts: WriteOptions | None = None,
        *, operation: str = "Update",
    ) -> dict[str, Any]:
        opts = opts or WriteOptions()
        obj = decode(rt, body, opts)
        if conversion.converts(rt):
            stored = conversion.storage_type(rt)
            created = await self.create(stored, namespace, conversion.to_storage(rt, obj), opts, operation=operation)
            return conversion.from_storage(rt, created)
        md = meta.metadata(obj)
        self._check_namespace(rt, namespace, md)
        if rt.namespaced:
            await self._namespace_accepts_writes(namespace or "default")
        # The apiserver's order: defaults (decoding), mutating admission, then the strategy
        # (PrepareForCreate, a generated name, Validate), validating admission, storage.
        defaults.apply_defaults(obj, rt.definition)
        attrs = Attributes(CREATE, rt, md.get("namespace"), obj, dry_run=opts.dry_run, opts=opts)
        await self.admission.admit(attrs, self)
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = meta.generate_name(md["generateName"])
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            md.pop(k, None)
        md["uid"] = meta.new_uid()
        md["creationTimestamp"] = meta.now_rfc3339()
        if rt.has_spec:
            md["generation"] = 1
        status.prepare_for_create(rt, obj)
        defaults.apply_status_defaults(obj, rt.definition)
        validate_object(rt, obj)
        await self.admission.validate(attrs, self)
        self._record_manager(rt, obj, obj, opts, operation)
        key = rt.key(namespace, md["name"])
        async with self._allocating(rt):
            if strategy_for(rt).allocates_addresses:
                if self.store.head_revision(key) is not None:  # allocate nothing for a name taken
                    raise errors.already_exists(rt.group, rt.plural, md["name"])
                allocate.assign(obj.setdefault("spec", {}), await self._services(), md["name"], self.service_cidr)
            if opts.dry_run:
                return obj
            with api_errors(rt, md["name"]):
                return await self.store.create(key, obj)

    async def update(
        self, rt: ResourceType, namespace: str | None, name: str, body: Any, opts: WriteOptions | None = None,
        subresource: str = "",
    ) -> dict[str, Any]:
        opts = opts or WriteOptions()
        obj = decode(rt, body, opts)
        if conversion.converts(rt):
            stored = conversion.storage_type(rt)
            updated = await self.update(stored, namespace, name, conversion.to_storage(rt, obj), opts, subresource)
            return conversion.from_storage(rt, updated)
        md = meta.metadata(obj)
        self._check_namespace(rt, namespace, md)
        if md.get("name") and md["name"] != name:
            raise errors.BadRequest(f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
        md["name"] = name
        current = await self.get(rt, namespace, name)
        expected = _rv(obj)
        return await self._replace(rt, namespace, current, obj, opts, subresource, expected, "Update")

    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        body: Any,
        opts: WriteOptions | None = None,
        subresource: str = "",
    ) -> dict[str, Any]:
        opts = opts or WriteOptions()
        if conversion.converts(rt):
            return await self._patch_converted(rt, namespace, name, patch_type, body, opts, subresource)
        for _attempt in range(8):
            current = await self._get_for_patch(rt, namespace, name, patch_type)
            if current is None:
                return await self._create_by_apply(rt, namespace, name, body, opts)
            patched = self._apply_patch(rt, current, patch_type, body, opts)
            new_name = patched.get("metadata", {}).get("name") if isinstance(patched.get("metadata"), dict) else name
            if new_name != name:
                raise errors.BadRequest(
                    f"the name of the object ({new_name}) does not match the name on the URL ({name})")
            expected = _rv(patched) if patch_type != "apply" else None
            if expected is None or expected == int(current["metadata"]["resourceVersion"]):
                expected = int(current["metadata"]["resourceVersion"])
                bump_on_conflict = True
            else:
                bump_on_conflict = False  # the patch itself pinned a resourceVersion
            try:
                return await self._replace(
                    rt, namespace, current, patched, opts, subresource, expected,
                    "Apply" if patch_type == "apply" else "Update", already_decoded=False,
                )
            except errors.Conflict:
                if not bump_on_conflict:
                    raise
        raise errors.conflict(rt.group, rt.plural, name)

    async def _create_by_apply(self, rt: ResourceType, namespace: str | None, name: str, body: Any,
                               opts: WriteOptions) -> dict[str, Any]:
        """Server-side apply creates what does not exist."""
        created = patch.apply_patch({}, body, rt.definition, opts.field_manager or "unknown", opts.force)
        created.setdefault("metadata", {})["name"] = name
        return await self.create(rt, namespace, created, opts, operation="Apply")

    async def _get_for_patch(self, rt: ResourceType, namespace: str | None, name: str,
                             patch_type: str) -> dict[str, Any] | None:
        """The object to patch; None when an apply patch is to create it."""
        try:
            return await self.get(rt, namespace, name)
        except errors.NotFound:
            if patch_type != "apply":
                raise
            return None

    async def _patch_converted(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str, body: Any,
                               opts: WriteOptions, subresource: str) -> dict[str, Any]:
        """A patch to a version that is not stored: patched in the version the client speaks (its
        merge keys, its fields), then written as an update at the revision read."""
        for _attempt in range(8):
            current = await self._get_for_patch(rt, namespace, name, patch_type)
            if current is None:
                return await self._create_by_apply(rt, namespace, name, body, opts)
            patched = self._apply_patch(rt, current, patch_type, body, opts)
            pinned = _rv(patched) if patch_type != "apply" else None
            if pinned is None:
                patched.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                return await self.update(rt, namespace, name, patched, opts, subresource)
            except errors.Conflict:
                if pinned is not None:
                    raise
        raise errors.conflict(rt.group, rt.plural, name)

    def patch_document(self, doc: dict[str, Any], patch_type: str, body: Any) -> dict[str, Any]:
        """Patch a plain document without list merge keys (e.g. a Scale)."""
        _check_patch_body(patch_type, body)
        try:
            return patch.json_patch(doc, body) if patch_type == "json" else patch.json_merge_patch(doc, body)
        except patch.PatchError as e:
            raise _patch_failure(e, patch_type) from e

    def _apply_patch(
        self, rt: ResourceType, current: dict[str, Any], patch_type: str, body: Any, opts: WriteOptions
    ) -> dict[str, Any]:
        _check_patch_body(patch_type, body)
        try:
            if patch_type == "json":
                return patch.json_patch(current, body)
            if patch_type == "merge":
                return patch.json_merge_patch(current, body)
            if patch_type == "strategic":
                if custom.is_custom(rt):  # the CR handler's supportedTypes lack it
                    raise errors.UnsupportedMediaType(CUSTOM_PATCH_MESSAGE)
                return patch.strategic_merge_patch(current, body, rt.definition)
            if patch_type == "apply":
                if not opts.field_manager:
                    raise errors.BadRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set")
                return patch.apply_patch(current, body, rt.definition, opts.field_manager, opts.force)
        except patch.ApplyConflict as e:
            # errors.NewApplyConflict: the conflicts as causes, and no name, group or kind.
            raise errors.Conflict(str(e), causes=e.causes()) from e
        except patch.PatchError as e:
            raise _patch_failure(e, patch_type) from e
        raise errors.UnsupportedMediaType(f"unsupported patch type {patch_type}")

    async def _replace(
        self,
        rt: ResourceType,
        namespace: str | None,
        current: dict[str, Any],
        obj: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        expected: int | None,
        operation: str,
        *,
        already_decoded: bool = True,
    ) -> dict[str, Any]:
        if not already_decoded:
            obj = decode(rt, obj, opts)
        new = status.merge_for_subresource(rt, current, obj, subresource)
        strategy_for(rt).prepare_for_update(current, obj, new, subresource)
        allocates = strategy_for(rt).allocates_addresses and not subresource
        if allocates:
            allocate.keep_allocated(new.setdefault("spec", {}), current.get("spec") or {})
        md = meta.metadata(new)
        cur_md = current["metadata"]
        # Fields the client cannot change.
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "name"):
            if k in cur_md:
                md[k] = cur_md[k]
            else:
                md.pop(k, None)
        attrs = Attributes(UPDATE, rt, namespace, new, current, subresource, opts.dry_run, opts=opts)
        if subresource == "status":
            # As the apiserver's status strategies: the rest of the object is the stored one,
            # already validated and defaulted; only the status' own defaults apply.
            defaults.apply_status_defaults(new, rt.definition)
            await self.admission.admit(attrs, self)
            validate_update(rt, new, current, subresource)
        else:
            defaults.apply_defaults(new, rt.definition)
            await self.admission.admit(attrs, self)
            validate_object(rt, new, current, subresource)
        await self.admission.validate(attrs, self)
        if rt.has_spec:
            # The strategies' PrepareForUpdate (e.g. statefulSetStrategy's) bump generation when
            # the spec differs from the stored one, and they see the object already defaulted (the
            # apiserver defaults while decoding): a patch that only drops defaulted fields is no change.
            gen = int(cur_md.get("generation") or 1)
            md["generation"] = gen + 1 if meta.spec_part(new) != meta.spec_part(current) else gen
        # The manager owns fields of the object as decoded and defaulted (as on create, and as the
        # apiserver's fieldmanager sees it): not of write-only input such as a Secret's stringData.
        self._record_manager(rt, new, obj if subresource else new, opts, operation, current)
        md["resourceVersion"] = cur_md["resourceVersion"]
        key = rt.key(namespace, md["name"])
        # A no-op write is not written (no new resourceVersion, no event), unless the stored row is
        # stale: read with an older encryption provider, it is rewritten with the current one
        # (etcd3/store.go GuaranteedUpdate: `!origState.stale && bytes.Equal(data, origState.data)`).
        if new == current and not self.store.is_stale(key):
            return current
        if opts.dry_run:
            return new
        if finalized(rt, new, current):
            return await self._remove(rt, key, new, expected)
        async with self._allocating(rt):
            if allocates:
                others = [s for s in await self._services() if s["metadata"]["uid"] != md["uid"]]
                allocate.assign_missing_node_ports(new.setdefault("spec", {}), others, md["name"])
            with api_errors(rt, md["name"]):
                return await self.store.update(key, new, expected)

    async def bind(self, namespace: str, name: str, node: str, dry_run: bool = False) -> dict[str, Any]:
        """The pods/binding subresource: assign a node, once; PodScheduled becomes True."""
        rt = registry.find("", "v1", "pods")
        assert rt is not None
        if not node:
            raise errors.invalid("", "Binding", name, [{
                "reason": "FieldValueRequired", "field": "target.name", "message": "Required value"}])
        for _attempt in range(8):
            pod = await self.get(rt, namespace, name)
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.Conflict(f"pod {name} is being deleted, cannot be assigned to a host",
                                      name=name, kind="pods")
            current = (pod.get("spec") or {}).get("nodeName")
            if current:
                raise errors.Conflict(f"pod {name} is already assigned to node \"{current}\"", name=name, kind="pods")
            new = pod  # a fresh decode of the stored pod: ours to change
            new["spec"]["nodeName"] = node
            status_ = new.setdefault("status", {})
            conditions = [c for c in status_.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": meta.now_rfc3339()})
            status_["conditions"] = conditions
            if dry_run:
                return new
            try:
                with api_errors(rt, name):
                    revision = await self.store.put(rt.key(namespace, name), new, int(pod["metadata"]["resourceVersion"]))
            except errors.Conflict:
                continue  # a write raced ours: look again
            # `new` is this call's own decode of the stored pod: what reading the write back gives
            new["metadata"]["resourceVersion"] = str(revision)
            return new
        raise errors.conflict("", "pods", name)

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Delete, or start a graceful deletion. Returns (object, gone).

        Like the apiserver's GuaranteedUpdate, a write that raced ours (a controller updating
        status) is not the caller's conflict: try again on the fresh object, unless the caller
        pinned a resourceVersion (a UID precondition is checked again on each attempt).
        """
        options = options or {}
        if conversion.converts(rt):
            obj, gone = await self.delete(conversion.storage_type(rt), namespace, name, options, dry_run)
            return conversion.from_storage(rt, obj), gone
        pinned = bool((options.get("preconditions") or {}).get("resourceVersion"))
        # Admission of the request (the plugins that handle DELETE: the webhooks), once, as the
        # apiserver's delete handler runs it before its retries.
        attrs = Attributes(DELETE, rt, namespace, {}, await self.get(rt, namespace, name), dry_run=dry_run)
        await self.admission.admit(attrs, self)
        await self.admission.validate(attrs, self)
        for _attempt in range(8):
            try:
                return await self._delete_once(rt, namespace, name, options, dry_run)
            except errors.Conflict:
                if pinned:
                    raise
        return await self._delete_once(rt, namespace, name, options, dry_run)

    async def _delete_once(self, rt: ResourceType, namespace: str | None, name: str, options: dict[str, Any],
                           dry_run: bool) -> tuple[dict[str, Any], bool]:
        """Read, decide (`plan_delete`), write at the revision read."""
        current = await self.get(rt, namespace, name)
        plan = plan_delete(rt, current, options, dry_run=dry_run, now=datetime.now(UTC))
        key = rt.key(namespace, name)
        expected = int(current["metadata"]["resourceVersion"])
        if plan.action == "remove":
            return await self._remove(rt, key, plan.obj, expected), plan.gone
        if plan.action == "update":
            with api_errors(rt, name):
                return await self.store.update(key, plan.obj, expected), plan.gone
        return plan.obj, plan.gone

    async def _remove(self, rt: ResourceType, key: str, obj: dict[str, Any], expected: int | None) -> dict[str, Any]:
        with api_errors(rt, obj["metadata"]["name"]):
            return await self.store.delete(key, expected)

    # ---- watch ----------------------------------------------------------------------------
    async def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str = "",
        label: Predicate | None = None,
        field: Predicate | None = None,
        send_initial: bool | None = None,
        on_overflow: Callable[[], None] | None = None,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Open a watch: errors (410 Expired, bad resourceVersion) are raised here, before any event.

        The iterator yields (type, object); ("BOOKMARK", {...}) marks the end of initial events
        when `send_initial` was asked for. It ends if its consumer falls too far behind (the
        store's bounded buffer, store/watch.py); `on_overflow` is then called at once.
        """
        if conversion.converts(rt):
            events = await self.watch(conversion.storage_type(rt), namespace, resource_version=resource_version,
                                      label=label, field=field, send_initial=send_initial, on_overflow=on_overflow)
            return _converted_events(rt, events)
        prefix = rt.key_prefix(namespace)

        def matches(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            if label and not label(obj["metadata"].get("labels") or {}):
                return False
            return not (field and not field(obj))

        initial: list[tuple[str, dict[str, Any]]] = []
        if _wants_initial(send_initial, resource_version):
            with api_errors(rt):
                items, since = await self.store.list(prefix)
            initial = [("ADDED", item) for item in items if matches(item)]
            if send_initial:
                initial.append(("BOOKMARK", _initial_events_end(since)))
        else:
            since = _watch_revision(resource_version)
        # The previous value only matters for telling selector entries and exits apart.
        live = await self._open_watch(rt, prefix, since, with_prev=bool(label or field), on_overflow=on_overflow)
        return _watch_events(rt, initial, live, matches if (label or field) else None)

    async def watch_rendered(
        self, rt: ResourceType, namespace: str | None, *, resource_version: str = "", send_initial: bool | None = None,
        on_overflow: Callable[[], None] | None = None,
    ) -> AsyncIterator[tuple[str, bytes | dict[str, Any], str]]:
        """`watch` without selectors, for clients that want JSON: (type, the object as the JSON
        bytes `list_rendered` gives, its resourceVersion). Each change is rendered once for all
        such watchers and never decoded for them; the end-of-initial-events BOOKMARK is a dict."""
        if conversion.converts(rt):
            events = await self.watch(rt, namespace, resource_version=resource_version, send_initial=send_initial,
                                      on_overflow=on_overflow)
            return _encoded_events(events)
        prefix = rt.key_prefix(namespace)
        initial: list[tuple[str, bytes | dict[str, Any], str]] = []
        if _wants_initial(send_initial, resource_version):
            with api_errors(rt):
                rows, since = await self.store.list_rendered(prefix)
            initial = [("ADDED", item, str(since)) for _, item in rows]
            if send_initial:
                initial.append(("BOOKMARK", _initial_events_end(since), str(since)))
        else:
            since = _watch_revision(resource_version)
        live = await self._open_watch(rt, prefix, since, with_prev=False, on_overflow=on_overflow)
        return _rendered_events(rt, initial, live)

    async def _open_watch(self, rt: ResourceType, prefix: str, since: int, *, with_prev: bool,
                          on_overflow: Callable[[], None] | None = None) -> Watch:
        with api_errors(rt, revision=since):
            live = self.store.watch(prefix, since, with_prev=with_prev, on_overflow=on_overflow)
            await live.__aenter__()
        return live

    def _allocating(self, rt: ResourceType) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._allocation_lock if strategy_for(rt).allocates_addresses else contextlib.nullcontext()

    async def _services(self) -> list[dict[str, Any]]:
        svc = registry.find("", "v1", "services")
        assert svc is not None
        items, _ = await self.store.list(svc.key_prefix())
        return items

    # ---- helpers --------------------------------------------------------------------------
    def _check_namespace(self, rt: ResourceType, namespace: str | None, md: dict[str, Any]) -> None:
        if not rt.namespaced:
            md.pop("namespace", None)
            return
        body_ns = md.get("namespace")
        if body_ns and namespace and body_ns != namespace:
            raise errors.BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        md["namespace"] = namespace or body_ns or "default"

    async def _namespace_accepts_writes(self, namespace: str) -> None:
        ns_rt = registry.find("", "v1", "namespaces")
        assert ns_rt is not None
        key = ns_rt.key(None, namespace)
        revision = self.store.head_revision(key)
        if revision is not None and self._open_namespaces.get(namespace) == revision:
            return
        with api_errors(ns_rt, namespace):
            ns = await self.store.get(key)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.Forbidden(
                f"unable to create new content in namespace {namespace} because it is being terminated",
                name=namespace, kind="namespaces",
            )
        if len(self._open_namespaces) > 4096:
            self._open_namespaces.clear()
        self._open_namespaces[namespace] = int(ns["metadata"]["resourceVersion"])

    def _record_manager(
        self,
        rt: ResourceType,
        new: dict[str, Any],
        sent: dict[str, Any],
        opts: WriteOptions,
        operation: str,
        current: dict[str, Any] | None = None,
    ) -> None:
        """Keep metadata.managedFields: one Update entry per manager (Apply entries come from apply_patch).

        Events carry none: they are written constantly and never applied or edited by hand."""
        if operation == "Apply" or not opts.record_managed_fields or not strategy_for(rt).records_managed_fields:
            return
        manager = opts.field_manager or "unknown"
        md = new["metadata"]
        previous = md.get("managedFields") or (current or {}).get("metadata", {}).get("managedFields") or []
        fields = patch.fields_v1(meta.spec_part(sent) | {"metadata": _owned_metadata(sent)}, rt.definition)
        entries: list[dict[str, Any]] = []
        kept = False
        for e in previous:
            if e.get("manager") == manager and e.get("operation") == "Update":
                if e.get("fieldsV1") == fields and e.get("apiVersion") == rt.api_version:
                    entries.append(e)  # unchanged ownership keeps its time: a no-op stays a no-op
                    kept = True
                continue
            entries.append(e)
        if fields and not kept:
            entries.append({
                "manager": manager,
                "operation": "Update",
                "apiVersion": rt.api_version,
                "time": meta.now_rfc3339(),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            })
        if entries:
            md["managedFields"] = entries
        else:
            md.pop("managedFields", None)


def _check_patch_body(patch_type: str, body: Any) -> None:
    """Every patch but a json patch (decoded by patch.json_patch, as upstream) is a JSON object."""
    if patch_type != "json" and not isinstance(body, dict):
        raise errors.BadRequest(f"the body of the {patch_type} patch must be a JSON object")


def _patch_failure(e: patch.PatchError, patch_type: str) -> errors.ApiError:
    """The Status of a patch that cannot be applied, as the apiserver's patch handler makes it."""
    if isinstance(e, patch.JsonPatchFailed):
        # jsonPatcher.applyJSPatch: NewGenericServerResponse(422, …) — the library's words stay here.
        # Not its words: a failed `test` op quotes the object's values, which may be a Secret's.
        log.debug("json patch failed: %s", type(e.__cause__ or e).__name__)
        return errors.unprocessable()
    if isinstance(e, patch.JsonPatchTooLarge):
        return errors.RequestEntityTooLarge(f"Request entity too large: {e}")
    return errors.Invalid(str(e)) if patch_type == "apply" else errors.BadRequest(str(e))


async def _watch_events(
    rt: ResourceType, initial: list[tuple[str, dict[str, Any]]], live: Any, matches: Predicate | None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Initial events, then live ones; a change that moves an object in or out of the selection
    is reported as ADDED or DELETED, as the apiserver's watch cache does. A store error while
    replaying history (compacted, undecryptable) ends it as the API error."""
    try:
        for item in initial:
            yield item
        with api_errors(rt):
            async for ev in live:
                if matches is None:  # no selection: every event as the store saw it
                    yield ev.type, ev.value
                    continue
                if ev.type == "DELETED":
                    if matches(ev.value):
                        yield "DELETED", ev.value
                    continue
                now_ok, before_ok = matches(ev.value), matches(ev.prev_value)
                if now_ok and before_ok:
                    yield "MODIFIED", ev.value
                elif now_ok:
                    yield "ADDED", ev.value
                elif before_ok:
                    yield "DELETED", ev.value
    finally:
        await live.__aexit__(None, None, None)


async def _rendered_events(
    rt: ResourceType, initial: list[tuple[str, bytes | dict[str, Any], str]], live: Watch
) -> AsyncIterator[tuple[str, bytes | dict[str, Any], str]]:
    try:
        for item in initial:
            yield item
        while True:
            try:
                with api_errors(rt):
                    change = await live.next_change()
            except StopAsyncIteration:
                return
            yield change.type, change.rendered_json(), str(change.revision)
    finally:
        await live.__aexit__(None, None, None)


def _encode(obj: dict[str, Any]) -> bytes:
    return jsontext.dumps_bytes(obj)


async def _converted_events(rt: ResourceType, events: AsyncIterator[tuple[str, dict[str, Any]]]
                            ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A watch of the storage version, each object shown in the version `rt` watches."""
    try:
        async for ev_type, obj in events:
            yield ev_type, obj if ev_type == "BOOKMARK" else conversion.from_storage(rt, obj)
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def _encoded_events(events: AsyncIterator[tuple[str, dict[str, Any]]]
                          ) -> AsyncIterator[tuple[str, bytes | dict[str, Any], str]]:
    """watch_rendered's shape for a converted watch: objects encoded here, per watcher."""
    try:
        async for ev_type, obj in events:
            rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
            yield (ev_type, obj, rv) if ev_type == "BOOKMARK" else (ev_type, _encode(obj), rv)
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def _wants_initial(send_initial: bool | None, resource_version: str) -> bool:
    """Whether a watch starts with the current objects as ADDED events: as asked, or by default
    when it names no resourceVersion (or "0")."""
    return send_initial if send_initial is not None else resource_version in ("", "0")


def _initial_events_end(revision: int) -> dict[str, Any]:
    """The BOOKMARK that ends the initial events of a watch with sendInitialEvents."""
    return {"metadata": {"resourceVersion": str(revision), "annotations": {"k8s.io/initial-events-end": "true"}}}


def _watch_revision(resource_version: str) -> int:
    try:
        return int(resource_version)
    except ValueError as e:
        raise errors.BadRequest(f"invalid resourceVersion {resource_version!r}") from e


def _owned_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    return {k: md[k] for k in ("labels", "annotations", "finalizers", "ownerReferences") if md.get(k)}


def _encode_continue(revision: int, key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as e:
        raise errors.BadRequest(f"continue key is not valid: {e}") from e
