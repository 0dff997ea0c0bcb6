"""The resource endpoints: CRUD, watch, and the status, scale, finalize, binding and eviction subresources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from boxk8s import errors
from boxk8s.api import request as rq
from boxk8s.api.componentstatus import serve_component_statuses
from boxk8s.api.respond import (
    add_warning,
    json_response,
    render_json_list,
    render_list,
    render_object,
    success_status,
)
from boxk8s.api.streams import serve_attach, serve_exec, serve_log, serve_portforward
from boxk8s.api.watch import serve_watch
from boxk8s.client.podstreams import PodStreams
from boxk8s.resources import crd_scale, deprecation, eviction, selectors
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.layer import PATCH_TYPES, Resources

Create = Callable[[web.Request, rq.Target], Awaitable[web.StreamResponse]]
MAX_LIMIT = 2**62  # a larger limit lists the same (everything); the store asks SQLite for limit + 1 (int64)
STREAMS = {"log": serve_log, "exec": serve_exec, "attach": serve_attach, "portforward": serve_portforward}  # pods/… served as streams


def _not_found() -> errors.NotFound:
    return errors.NotFound("the server could not find the requested resource")


def _method_not_allowed(method: str) -> errors.MethodNotAllowed:
    return errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")


def _include_object(request: web.Request) -> str:
    value = request.query.get("includeObject", "Metadata") or "Metadata"
    if value not in ("None", "Metadata", "Object"):
        raise errors.BadRequest(f"includeObject: unsupported value {value!r}: must be None, Metadata or Object")
    return value


class ResourceHandler:
    def __init__(self, resources: Resources, streams: PodStreams | None = None,
                 creators: Mapping[str, Create] | None = None) -> None:
        self.resources = resources
        self.streams = streams
        # POSTs answered without storing anything (the reviews, serviceaccounts/token), by
        # `resource.group` or `resource/subresource`
        self.creators = dict(creators or {})

    async def handle(self, request: web.Request, group: str, version: str, parts: list[str]) -> web.StreamResponse:
        target = rq.parse_target(group, version, parts, self.resources.kinds)
        if target is None:
            raise _not_found()
        response = await self._dispatch(request, target)
        message = deprecation.warning(target.rt)
        if message and not response.prepared:  # a watch's headers are gone already
            add_warning(response, message)
        return response

    async def _dispatch(self, request: web.Request, target: rq.Target) -> web.StreamResponse:
        if target.rt.group_resource == "componentstatuses":
            return await serve_component_statuses(request, target)
        if target.rt.kind == "Pod" and target.subresource in STREAMS and target.name and target.namespace:
            serve = STREAMS[target.subresource]
            return await serve(request, self.resources, self.streams, target.namespace, target.name)
        if request.method == "POST" and self.creators:
            key = target.rt.group_resource + (f"/{target.subresource}" if target.subresource else "")
            create = self.creators.get(key)
            if create is not None and (target.name is None) != bool(target.subresource):
                return await create(request, target)
        if target.subresource == "binding" and request.method == "POST" and target.rt.kind == "Pod":
            return await self.bind(request, target)
        if target.subresource == "eviction" and target.rt.kind == "Pod" and target.name and target.namespace:
            return await self.evict(request, target)
        if target.subresource and target.subresource not in ("status", "scale", "finalize", "approval"):
            raise errors.NotFound(f"the {target.subresource} subresource is not served yet by boxk8s")
        method = request.method
        if not target.subresource and _verb(method, target) not in target.rt.verbs:
            raise _method_not_allowed(method)
        if target.name is None and method != "GET" and (
                target.legacy_watch or (target.rt.namespaced and target.namespace is None)):
            # installer.go registers only LIST and WATCHLIST at a namespaced kind's path across all
            # namespaces (and none for a kind that cannot be listed) and at the /watch/ paths: no create
            # there, no deletecollection of every namespace
            raise _method_not_allowed(method) if "list" in target.rt.verbs else _not_found()
        if target.rt.kind == "Binding":
            return await self.bind(request, target)
        if target.name is None:
            if method == "GET":
                return await self.list_or_watch(request, target)
            if method == "POST":
                return await self.create(request, target)
            if method == "DELETE":
                return await self.delete_collection(request, target)
            raise _method_not_allowed(method)
        if target.legacy_watch:
            raise _not_found()
        if method == "GET":
            return await self.get(request, target)
        if method == "PUT":
            return await self.update(request, target)
        if method == "PATCH":
            return await self.patch(request, target)
        if method == "DELETE" and not target.subresource:
            return await self.delete(request, target)
        raise _method_not_allowed(method)

    # ---- collection ----
    async def list_or_watch(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        q = request.query
        accept = rq.negotiate(request)
        label = selectors.parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
        field = selectors.parse_field_selector(q["fieldSelector"], t.rt.kind) if q.get("fieldSelector") else None
        if t.legacy_watch or rq.query_bool(q, "watch"):
            return await serve_watch(
                request, self.resources, t.rt, t.namespace,
                label=label, field=field, accept=accept, include_object=_include_object(request),
            )
        limit = rq.query_int(q, "limit") or 0
        if limit < 0:
            raise errors.BadRequest("limit must not be negative")
        limit = min(limit, MAX_LIMIT)
        if (not accept.table and not accept.partial_metadata and label is None and field is None
                and not q.get("continue") and q.get("resourceVersionMatch", "") != "Exact"):
            # The common plain list (clients polling, informers' re-lists): items as stored, encoded once.
            rendered, list_meta = await self.resources.list_rendered(t.rt, t.namespace, limit=limit)
            return render_json_list(t.rt, rendered, list_meta)
        items, list_meta = await self.resources.list(
            t.rt, t.namespace, label=label, field=field, limit=limit,
            continue_token=q.get("continue", ""), resource_version=q.get("resourceVersion", ""),
            resource_version_match=q.get("resourceVersionMatch", ""),
        )
        return render_list(t.rt, items, list_meta, accept, _include_object(request))

    async def create(self, request: web.Request, t: rq.Target) -> web.Response:
        accept = rq.negotiate(request)
        opts = rq.write_options(request)
        body = await rq.read_body(request)
        obj = await self.resources.create(t.rt, t.namespace, body, opts)
        return render_object(t.rt, obj, accept, status=201, warnings=opts.warnings)

    async def delete_collection(self, request: web.Request, t: rq.Target) -> web.Response:
        q = request.query
        label = selectors.parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
        field = selectors.parse_field_selector(q["fieldSelector"], t.rt.kind) if q.get("fieldSelector") else None
        options = await self._delete_options(request)
        dry = rq.dry_run(q)
        items, list_meta = await self.resources.list(t.rt, t.namespace, label=label, field=field)
        deleted = []
        for item in items:
            try:
                obj, _gone = await self.resources.delete(
                    t.rt, item["metadata"].get("namespace"), item["metadata"]["name"], options, dry
                )
                deleted.append(obj)
            except errors.NotFound:
                continue
        return render_list(t.rt, deleted, list_meta, rq.Accept())

    async def bind(self, request: web.Request, t: rq.Target) -> web.Response:
        """pods/NAME/binding, or the bindings resource with the pod named in the Binding's metadata."""
        body = await rq.read_body(request)
        node = ((body.get("target") or {}) if isinstance(body, dict) else {}).get("name", "")
        pod = t.name if t.rt.kind == "Pod" else ((body.get("metadata") or {}) if isinstance(body, dict) else {}).get("name")
        if not pod:
            raise errors.invalid("", "Binding", "", [{"reason": "FieldValueRequired", "field": "metadata.name",
                                                      "message": "Required value: name or generateName is required"}])
        assert t.namespace is not None
        await self.resources.bind(t.namespace, pod, node, rq.dry_run(request.query))
        return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                             status=201)

    async def evict(self, request: web.Request, t: rq.Target) -> web.Response:
        """pods/eviction: a create only (discovery lists the verb create)."""
        if request.method != "POST":
            raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource "
                                          f"({request.method})")
        opts = rq.write_options(request)
        body = await rq.read_body(request)
        assert t.name is not None and t.namespace is not None
        status = await eviction.evict(self.resources, t.namespace, t.name, body, opts.dry_run, opts)
        return json_response(status, status=201, warnings=opts.warnings)

    # ---- one object ----
    async def get(self, request: web.Request, t: rq.Target) -> web.Response:
        accept = rq.negotiate(request)
        assert t.name is not None
        obj = await self.resources.get(t.rt, t.namespace, t.name)
        if t.subresource == "scale":
            return json_response(crd_scale.scale_of_resource(t.rt, obj))
        return render_object(t.rt, obj, accept, _include_object(request))

    async def update(self, request: web.Request, t: rq.Target) -> web.Response:
        accept = rq.negotiate(request)
        opts = rq.write_options(request)
        body = await rq.read_body(request)
        assert t.name is not None
        if t.subresource == "scale":
            return await self._write_scale(t, body, opts)
        obj = await self.resources.update(t.rt, t.namespace, t.name, body, opts, t.subresource)
        return render_object(t.rt, obj, accept, warnings=opts.warnings)

    async def patch(self, request: web.Request, t: rq.Target) -> web.Response:
        accept = rq.negotiate(request)
        patch_type = PATCH_TYPES.get(request.content_type)
        if patch_type is None:
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(PATCH_TYPES)}"
            )
        opts = rq.write_options(request)
        if patch_type == "apply" and not request.query.get("fieldManager"):
            raise errors.Invalid('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                 "is required for apply patch")
        if opts.force and patch_type != "apply":
            raise errors.BadRequest("force: Forbidden: may not be specified for non-apply patch")
        body = await rq.read_body(request, any_json=patch_type == "json")
        assert t.name is not None
        if t.subresource == "scale":
            return await self._patch_scale(t, patch_type, body, opts)
        obj = await self.resources.patch(t.rt, t.namespace, t.name, patch_type, body, opts, t.subresource)
        return render_object(t.rt, obj, accept, warnings=opts.warnings)

    async def delete(self, request: web.Request, t: rq.Target) -> web.Response:
        options = await self._delete_options(request)
        assert t.name is not None
        dry = rq.dry_run(request.query)
        obj, gone = await self.resources.delete(t.rt, t.namespace, t.name, options, dry)
        if gone and not t.rt.has_spec:
            return json_response(success_status(t.rt, obj))
        return json_response(obj)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body and (request.content_length or 0) > 0:
            body = await rq.read_body(request)
            if isinstance(body, dict):
                rq.check_delete_options(body)
                options = body
        grace = rq.query_int(request.query, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        policy = request.query.get("propagationPolicy")
        if policy:
            options["propagationPolicy"] = policy
        if options.get("propagationPolicy") not in (None, "Orphan", "Background", "Foreground"):
            raise errors.BadRequest(
                f'propagationPolicy: Unsupported value: "{options["propagationPolicy"]}": '
                'supported values: "Foreground", "Background", "Orphan"'
            )
        return options

    async def _patch_scale(self, t: rq.Target, patch_type: str, body: Any, opts: WriteOptions) -> web.Response:
        """The patch applied to the current Scale, written with that Scale's resourceVersion; on a
        conflict (the object changed meanwhile: a controller's status write) applied again to the
        new one, unless the patch itself set a resourceVersion. As the apiserver: patchResource's
        GuaranteedUpdate re-applies the patch to what it reads on each attempt (apiserver
        endpoints/handlers/patch.go; the Scale through scaleUpdatedObjectInfo in
        registry/apps/deployment/storage), so a patch without a precondition never gets 409."""
        assert t.name is not None
        for _attempt in range(8):
            current_scale = crd_scale.scale_of_resource(t.rt, await self.resources.get(t.rt, t.namespace, t.name))
            patched = self.resources.patch_document(current_scale, patch_type, body)
            pinned = (isinstance(patched, dict) and (patched.get("metadata") or {}).get("resourceVersion")
                      != current_scale["metadata"].get("resourceVersion"))
            try:
                return await self._write_scale(t, patched, opts)
            except errors.Conflict:
                if pinned:
                    raise
        raise errors.conflict(t.rt.group, t.rt.plural, t.name)

    async def _write_scale(self, t: rq.Target, body_scale: Any, opts: WriteOptions) -> web.Response:
        if not isinstance(body_scale, dict):
            raise errors.BadRequest("the body must be a Scale object")
        replicas = (body_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid("autoscaling", "Scale", t.name or "", [{
                "reason": "FieldValueInvalid", "field": "spec.replicas",
                "message": f"Invalid value: {replicas!r}: must be greater than or equal to 0",
            }])
        assert t.name is not None
        rv = (body_scale.get("metadata") or {}).get("resourceVersion") or ""
        body = crd_scale.replicas_patch_of_resource(t.rt, replicas, rv)
        obj = await self.resources.patch(t.rt, t.namespace, t.name, "merge", body, opts)
        return json_response(crd_scale.scale_of_resource(t.rt, obj))


def _verb(method: str, t: rq.Target) -> str:
    """The API verb of a request on a resource (apiserver's RequestInfoFactory)."""
    if method == "GET":
        if t.legacy_watch or t.name is None:
            return "list"  # list and watch go together in every registry entry
        return "get"
    if method == "POST":
        return "create"
    if method == "DELETE":
        return "delete" if t.name else "deletecollection"
    return {"PUT": "update", "PATCH": "patch"}.get(method, method.lower())



