"""The MutatingAdmissionWebhook and ValidatingAdmissionWebhook admission plugins, as one plugin
of the chain (apiserver_admission.py): `admit` calls the mutating webhooks in order and applies
their JSON patches, `validate` calls the matching validating webhooks concurrently.

Upstream: k8s.io/apiserver/pkg/admission/plugin/webhook — generic/webhook.go (Dispatch,
ShouldCallHook), mutating/dispatcher.go, validating/dispatcher.go. The decisions are in
admission_webhook_match.py (pure); the HTTP in admission_webhook_call.py; matchConditions in
admission_webhook_cel.py. Configurations, Namespaces, Services and EndpointSlices are read
through the resource layer, as the other plugins read theirs.

Not done as upstream: the in-tree mutating plugins are not run again when a webhook changed the
object (reinvocation asks again only of the IfNeeded webhooks), and requests are never sent as
admission.k8s.io/v1beta1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from boxk8s import errors
from boxk8s.resources import conversion, custom, defaults, patch, registry, requester
from boxk8s.resources.admission import WriteOptions, decode
from boxk8s.resources.admission_plugins import Attributes, ResourceAccess
from boxk8s.resources.admission_reads import CachedReads
from boxk8s.resources.admission_webhook_call import CallFailed, Poster, resolve
from boxk8s.resources.admission_webhook_cel import ConditionError, conditions_match
from boxk8s.resources.admission_webhook_match import (
    GROUP,
    Hook,
    InvalidResponse,
    Invocation,
    Request,
    Result,
    calling_failed,
    denied,
    exempt,
    hooks_of,
    needs_namespace_labels,
    own_namespace_labels,
    patch_modifies_nothing_here,
    plan_invocation,
    plan_reinvocation,
    review_request,
    verify_response,
)
from boxk8s.resources.meta import new_uid
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

Obj = dict[str, Any]

MUTATING = registry.find(GROUP, "v1", "mutatingwebhookconfigurations")
VALIDATING = registry.find(GROUP, "v1", "validatingwebhookconfigurations")
NAMESPACES = registry.find("", "v1", "namespaces")
assert MUTATING is not None and VALIDATING is not None and NAMESPACES is not None

# Who in-process components (controllers, kubelets) write as, for userInfo: they have no request.
IN_PROCESS_USER = {"username": "system:apiserver", "groups": ["system:authenticated", "system:masters"]}


class Webhooks:
    """MutatingAdmissionWebhook (admit) and ValidatingAdmissionWebhook (validate)."""

    name = "Webhooks"
    operations = ("CREATE", "UPDATE", "DELETE")  # CONNECT (exec, attach, port-forward) is not admitted here

    def __init__(self) -> None:
        # mutating? -> ((name, resourceVersion) of each configuration, their webhooks)
        self._hooks: dict[bool, tuple[tuple[tuple[str, str], ...], list[Hook]]] = {}
        self.reads = CachedReads()  # the configurations, read again only when one changed
        self.poster = Poster()

    async def aclose(self) -> None:
        await self.poster.aclose()

    def handles(self, attrs: Attributes) -> bool:
        return not exempt(attrs.rt.group, attrs.rt.kind)  # IsExemptAdmissionConfigurationResource

    async def webhooks(self, api: ResourceAccess, mutating: bool) -> list[Hook]:
        """The webhooks of the stored configurations, compiled again only when one changed."""
        rt = MUTATING if mutating else VALIDATING
        assert rt is not None
        items = await self.reads.list(api, rt, None)
        key = tuple((str(i["metadata"].get("name")), str(i["metadata"].get("resourceVersion"))) for i in items)
        cached = self._hooks.get(mutating)
        if cached is None or cached[0] != key:
            cached = self._hooks[mutating] = (key, hooks_of(items, mutating))
        return cached[1]

    # ---- mutating ---------------------------------------------------------------------------------
    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        hooks = await self.webhooks(api, mutating=True)
        if not hooks:
            return
        namespace_labels = await _namespace_labels(hooks, request_of(attrs), api)
        invoked: list[tuple[str, bool, bool]] = []
        await self._mutating_round(hooks, attrs, api, namespace_labels, None, invoked)
        again = plan_reinvocation(invoked)
        if again:  # reinvocationPolicy IfNeeded: once more, for those called before a later change
            await self._mutating_round(hooks, attrs, api, namespace_labels, again, [])

    async def _mutating_round(self, hooks: list[Hook], attrs: Attributes, api: ResourceAccess,
                              namespace_labels: Mapping[str, str] | None, only: set[str] | None,
                              invoked: list[tuple[str, bool, bool]]) -> None:
        for hook in hooks:
            req = request_of(attrs)  # again for each: an earlier webhook may have changed the object
            inv = _should_call(hook, req, attrs, namespace_labels)
            if inv is None or (only is not None and hook.uid not in only):
                continue
            try:
                result = await _call(self.poster, inv, req, attrs, api)
            except CallFailed as e:
                if hook.ignores_failures:
                    log.warning("failed calling webhook, failing open %s: %s", hook.name, e)
                    continue
                raise _with_warnings(calling_failed(hook.name, str(e)), attrs) from e
            if not result.allowed:
                raise _with_warnings(denied(hook.name, result.status), attrs)
            changed = bool(result.patch) and _apply_patch(hook, inv, attrs, result.patch or [])
            invoked.append((hook.uid, changed, hook.reinvocation == "IfNeeded"))

    # ---- validating -------------------------------------------------------------------------------
    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        hooks = await self.webhooks(api, mutating=False)
        if not hooks:
            return
        req = request_of(attrs)
        namespace_labels = await _namespace_labels(hooks, req, api)
        invocations = [inv for h in hooks if (inv := _should_call(h, req, attrs, namespace_labels)) is not None]
        if not invocations:
            return
        outcomes = await asyncio.gather(*(_validate_one(self.poster, inv, req, attrs, api) for inv in invocations))
        for outcome in outcomes:  # upstream returns the first to arrive; here the first in order
            if outcome is not None:
                raise _with_warnings(outcome, attrs)


async def _validate_one(poster: Poster, inv: Invocation, req: Request, attrs: Attributes,
                        api: ResourceAccess) -> errors.ApiError | None:
    hook = inv.hook
    try:
        result = await _call(poster, inv, req, attrs, api)
    except CallFailed as e:
        if hook.ignores_failures:
            log.warning("failed calling webhook, failing open %s: %s", hook.name, e)
            return None
        return calling_failed(hook.name, str(e))
    except errors.ApiError as e:
        return e
    return None if result.allowed else denied(hook.name, result.status)


def _should_call(hook: Hook, req: Request, attrs: Attributes,
                 namespace_labels: Mapping[str, str] | None) -> Invocation | None:
    inv = plan_invocation(hook, req, namespace_labels, _equivalents(attrs.rt))
    if inv is None or not hook.match_conditions:
        return inv
    try:
        if conditions_match(hook.match_conditions, _versioned(attrs.rt, req.obj, inv),
                            _versioned(attrs.rt, req.old, inv), _review_fields(inv, req, attrs)):
            return inv
        return None
    except ConditionError as e:
        if hook.ignores_failures:
            return None
        # ShouldCallHook: apierrors.NewForbidden(resource, name, err)
        resource = f"{req.resource}.{req.group}" if req.group else req.resource
        raise errors.Forbidden(f'{resource} "{req.name}" is forbidden: {e}', name=req.name, group=req.group,
                               kind=req.resource) from e


async def _call(poster: Poster, inv: Invocation, req: Request, attrs: Attributes, api: ResourceAccess) -> Result:
    """Call one webhook: CallFailed when it cannot be (failurePolicy decides), BadRequest when a dry
    run must not reach it."""
    hook = inv.hook
    if attrs.dry_run:
        if hook.side_effects is None:
            raise CallFailed("Webhook SideEffects is nil")
        if hook.side_effects not in ("None", "NoneOnDryRun"):
            raise errors.BadRequest(f'admission webhook "{hook.name}" does not support dry run')
    if "v1" not in hook.review_versions:
        raise CallFailed("could not create admission objects: webhook does not accept known AdmissionReview versions "
                         f"{list(hook.review_versions)} (boxk8s sends v1)")
    uid = new_uid()
    review = review_request(uid, inv, req, user=requester.current() or IN_PROCESS_USER, dry_run=attrs.dry_run,
                            options=_options(attrs), obj=_versioned(attrs.rt, req.obj, inv),
                            old=_versioned(attrs.rt, req.old, inv))
    target = await resolve(hook.client_config, api, hook.timeout)
    answer = await poster.post(target, review, hook.timeout)
    try:
        result = verify_response(uid, hook.mutating, answer)
    except InvalidResponse as e:
        raise CallFailed(f"received invalid webhook response: {e}") from e
    opts = attrs.opts
    if opts is not None:
        opts.warnings.extend(result.warnings)
    return result


def _apply_patch(hook: Hook, inv: Invocation, attrs: Attributes, ops: list[Any]) -> bool:
    """mutatingDispatcher.callAttrMutatingHook: the patch applied to the object as the webhook
    saw it, decoded again (unknown fields dropped) and defaulted; whether it changed."""
    if attrs.operation not in ("CREATE", "UPDATE"):
        raise patch_modifies_nothing_here(hook.name)
    try:
        patched = patch.json_patch(_versioned(attrs.rt, attrs.obj, inv) or {}, ops)
        patched = _unversioned(attrs.rt, patched, inv)
        new = decode(attrs.rt, patched, WriteOptions(field_validation="Ignore"))
    except (patch.PatchError, errors.ApiError) as e:
        message = e.message if isinstance(e, errors.ApiError) else str(e)
        raise errors.InternalError(f"Internal error occurred: {message}", causes=[{"message": message}]) from e
    defaults.apply_defaults(new, attrs.rt.definition)
    if new == attrs.obj:
        return False
    _replace_in_place(attrs.obj, new)
    return True


def _replace_in_place(obj: Obj, new: Obj) -> None:
    """The resource layer holds on to the object and its metadata dict: change both in place."""
    md, new_md = obj.get("metadata"), new.get("metadata")
    obj.clear()
    obj.update(new)
    if isinstance(md, dict) and isinstance(new_md, dict):
        md.clear()
        md.update(new_md)
        obj["metadata"] = md


def _with_warnings(err: errors.ApiError, attrs: Attributes) -> errors.ApiError:
    """The webhooks' warnings go out with a refusal too (the apiserver's warning recorder)."""
    opts = attrs.opts
    if opts is not None:
        err.warnings = list(opts.warnings)
    return err


# ---- what a request is --------------------------------------------------------------------------

def request_of(attrs: Attributes) -> Request:
    rt = attrs.rt
    obj = attrs.obj if attrs.operation in ("CREATE", "UPDATE") else None  # DELETE: no object, only the old one
    md = (obj or {}).get("metadata") or {}
    name = str(md.get("name") or "")
    if not name and attrs.old is not None:
        name = str((attrs.old.get("metadata") or {}).get("name") or "")
    namespace = attrs.namespace or "" if rt.namespaced else ""
    if rt.group == "" and rt.plural == "namespaces":
        namespace = name  # attr.GetNamespace() of a Namespace is its own name
    return Request(attrs.operation, rt.group, rt.version, rt.plural, attrs.subresource, rt.kind, namespace, name,
                   obj, attrs.old)


async def _namespace_labels(hooks: list[Hook], req: Request, api: ResourceAccess) -> Mapping[str, str] | None:
    if not needs_namespace_labels(hooks, req):
        return None
    own = own_namespace_labels(req)
    if own is not None:
        return own
    assert NAMESPACES is not None
    ns = await api.get(NAMESPACES, None, req.namespace)
    return (ns.get("metadata") or {}).get("labels") or {}


def _served_versions(rt: ResourceType) -> dict[str, ResourceType]:
    """version -> ResourceType of every served version of rt's resource (matchPolicy Equivalent)."""
    cv = custom.lookup(rt.definition)
    if cv is not None:
        return {v.version: v.rt for v in custom.versions_of(cv.crd_uid) if v.rt is not None}
    return {r.version: r for r in registry.RESOURCES if r.group == rt.group and r.plural == rt.plural}


def _equivalents(rt: ResourceType) -> Any:
    def equivalents(group: str, resource: str) -> list[tuple[str, str]]:
        return [(version, r.kind) for version, r in _served_versions(rt).items()]
    return equivalents


def _versioned(rt: ResourceType, obj: Obj | None, inv: Invocation) -> Obj | None:
    """The object as the invocation's version shows it (its own when the same)."""
    if obj is None or inv.version == rt.version:
        return obj
    target = _served_versions(rt).get(inv.version)
    if target is None:
        return obj
    return conversion.from_storage(target, conversion.to_storage(rt, obj))


def _unversioned(rt: ResourceType, obj: Obj, inv: Invocation) -> Obj:
    if inv.version == rt.version:
        return obj
    target = _served_versions(rt).get(inv.version)
    if target is None:
        return obj
    return conversion.from_storage(rt, conversion.to_storage(target, obj))


def _options(attrs: Attributes) -> Obj | None:
    """request.options: the CreateOptions or UpdateOptions of the request."""
    kind = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}.get(attrs.operation)
    if kind is None:
        return None
    options: Obj = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
    if attrs.dry_run:
        options["dryRun"] = ["All"]
    opts = attrs.opts
    if opts is not None and opts.field_manager:
        options["fieldManager"] = opts.field_manager
    return options


def _review_fields(inv: Invocation, req: Request, attrs: Attributes) -> Obj:
    """`request` as matchConditions see it (the AdmissionRequest's fields)."""
    user = requester.current() or IN_PROCESS_USER
    return review_request("", inv, req, user=user, dry_run=attrs.dry_run, options=_options(attrs),
                          obj=None, old=None)["request"]
