"""The ValidatingAdmissionPolicy admission plugin (k8s.io/apiserver/pkg/admission/plugin/policy/validating).

Validating only, after the built-in plugins. Policies and bindings are read through `CachedReads`:
decoded once per version and re-read only when the store's heads say one changed (upstream's
plugin reads informers' caches), so a write with no policy costs two in-memory counts. What a
request calls for is decided by admission_policy_plan.py; this module reads what that needs (the
namespace, the params of paramRef) and turns the first refusal into the apiserver's error:
`deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding
'max-replicas' denied request: failed expression: object.spec.replicas <= 5`, code 422 Invalid or
the validation's reason (Forbidden 403, Unauthorized 401, RequestEntityTooLarge 413).

Limits: CONNECT never reaches the admission seam; a request matched through `matchPolicy:
Equivalent` shows its object as it was sent, not converted to the version the rule named.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from boxk8s import errors
from boxk8s.resources import registry, requester
from boxk8s.resources.admission_match import GVR, Equivalent, is_namespace
from boxk8s.resources.admission_plugins import Attributes, ResourceAccess
from boxk8s.resources.admission_policy_authz import authorizer_value
from boxk8s.resources.admission_policy_cel import to_cel
from boxk8s.resources.admission_policy_plan import (
    Denial,
    Hook,
    Invocation,
    Outcome,
    activation_for,
    apply_actions,
    config_error,
    denial_message,
    hooks_of,
    plan_invocations,
    validate,
)
from boxk8s.resources.admission_reads import CachedReads
from boxk8s.resources.admission_webhook import request_of
from boxk8s.resources.admission_webhook_match import Request, exempt
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.selectors import selector_from_label_selector

log = logging.getLogger(__name__)

Obj = dict[str, Any]

POLICIES = registry.find("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")
BINDINGS = registry.find("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings")
NAMESPACE_TYPE = registry.find("", "v1", "namespaces")

ERRORS_BY_REASON: dict[str, type[errors.ApiError]] = {
    "Forbidden": errors.Forbidden,
    "Invalid": errors.Invalid,
    "RequestEntityTooLarge": errors.RequestEntityTooLarge,
    "Unauthorized": errors.Unauthorized,
}


class ParamError(Exception):
    """A binding's params cannot be collected: a configuration error (CollectParams' errors)."""


def equivalents(api: ResourceAccess, rt: ResourceType) -> list[Equivalent]:
    """EquivalentResourcesFor: the same group and resource at the other versions served."""
    def build() -> list[Equivalent]:
        return [Equivalent(GVR(t.group, t.version, t.plural), t.kind) for t in api.kinds.all()
                if t.group == rt.group and t.plural == rt.plural]
    return api.kinds.memo(("admission-equivalents", rt.group, rt.plural), build)


def _user_info() -> Obj:
    user = requester.current() or {}
    return {k: user[k] for k in ("username", "uid", "groups", "extra") if user.get(k)}


def request_variable(attrs: Attributes, req: Request, match_resource: GVR | None, match_kind: str) -> Obj:
    """The `request` variable (cel.CreateAdmissionRequest): kind and resource as the policy's rule
    named them, requestKind and requestResource as sent."""
    gvr = match_resource or GVR(req.group, req.version, req.resource)
    options: Obj = {"kind": f"{attrs.operation.capitalize()}Options", "apiVersion": "meta.k8s.io/v1"}
    if attrs.dry_run:
        options["dryRun"] = ["All"]
    if attrs.opts is not None and attrs.opts.field_manager:
        options["fieldManager"] = attrs.opts.field_manager
    return {
        "kind": {"group": gvr.group, "version": gvr.version, "kind": match_kind or req.kind},
        "resource": {"group": gvr.group, "version": gvr.version, "resource": gvr.resource},
        "subResource": req.subresource,
        "requestKind": {"group": req.group, "version": req.version, "kind": req.kind},
        "requestResource": {"group": req.group, "version": req.version, "resource": req.resource},
        "requestSubResource": req.subresource,
        "name": req.name,
        "namespace": attrs.namespace or "",
        "operation": req.operation,
        "userInfo": _user_info(),
        "dryRun": attrs.dry_run,
        "options": options,
    }


def namespace_variable(namespace: Obj | None) -> Obj | None:
    """cel.CreateNamespaceObject: the namespace's metadata (its identity, labels, annotations,
    finalizers), spec and status; no type meta, no managed fields or owners."""
    if namespace is None:
        return None
    md = namespace.get("metadata") or {}
    kept = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
            "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "finalizers")
    return {"metadata": {k: md[k] for k in kept if k in md},
            "spec": namespace.get("spec") or {}, "status": namespace.get("status") or {}}


class ValidatingAdmissionPolicyPlugin:
    name = "ValidatingAdmissionPolicy"

    def __init__(self) -> None:
        self.reads = CachedReads()
        self._params: dict[tuple[Any, Any], Any] = {}
        self._hooks: tuple[list[Obj], list[Obj], list[Hook]] = ([], [], [])

    operations = ("CREATE", "UPDATE", "DELETE")  # CONNECT (exec, attach, port-forward) is not admitted here

    def handles(self, attrs: Attributes) -> bool:
        # IsExemptAdmissionConfigurationResource: policies never judge the admission configuration;
        # any other write may be matched (validate returns at once without policies)
        return not exempt(attrs.rt.group, attrs.rt.kind)

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        return None  # validating only

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        assert POLICIES is not None and BINDINGS is not None and NAMESPACE_TYPE is not None
        if not await api.store.count(BINDINGS.key_prefix(None)) or not await api.store.count(POLICIES.key_prefix(None)):
            return
        policies = await self.reads.list(api, POLICIES, None)
        bindings = await self.reads.list(api, BINDINGS, None)
        if self._hooks[0] is not policies or self._hooks[1] is not bindings:  # the cached lists are renewed
            self._hooks = (policies, bindings, hooks_of(policies, bindings))
        req = request_of(attrs)
        namespace: Obj | None = None
        if req.namespace and not is_namespace(req):
            namespace = await self.reads.get(api, NAMESPACE_TYPE, None, req.namespace)
        labels = ((namespace or {}).get("metadata") or {}).get("labels") or {} if namespace is not None else None
        invocations, denials = plan_invocations(self._hooks[2], req, labels, equivalents(api, attrs.rt))
        if not invocations and not denials:
            return
        outcome = Outcome(denials=list(denials))
        await self._run(invocations, attrs, req, api, None if is_namespace(req) else namespace, outcome)
        for line in outcome.audits:
            log.info("%s %s/%s/%s: audit %s", attrs.operation, attrs.rt.group_resource, attrs.namespace or "",
                     req.name, line)
        opts = attrs.opts
        if opts is not None:
            opts.warnings.extend(outcome.warnings)
        if outcome.denials:
            err = refusal(req, outcome.denials[0])
            err.warnings = list(opts.warnings) if opts is not None else []  # the other bindings' warnings too
            raise err

    async def _run(self, invocations: list[Invocation], attrs: Attributes, req: Request, api: ResourceAccess,
                   namespace: Obj | None, outcome: Outcome) -> None:
        if not invocations:
            return
        request_resource = {"apiGroup": req.group, "apiVersion": req.version, "resource": req.resource,
                            "subresource": req.subresource, "namespace": attrs.namespace or "", "name": req.name}
        base = {"object": to_cel(req.obj), "oldObject": to_cel(req.old),
                "namespaceObject": to_cel(namespace_variable(namespace)),
                "authorizer": authorizer_value(requester.current() or {}, requester.AUTHORIZER.get(), request_resource)}
        requests: dict[tuple[GVR | None, str], Any] = {}
        for inv in invocations:
            try:
                params = await self.collect_params(api, inv.policy, inv.binding, attrs.namespace or "")
            except ParamError as e:
                outcome.denials += config_error(inv.policy, inv.binding, str(e))
                continue
            key = (inv.match.resource, inv.match.kind)
            if key not in requests:
                requests[key] = to_cel(request_variable(attrs, req, inv.match.resource, inv.match.kind))
            for param in params:
                activation = activation_for({**base, "request": requests[key]}, inv.policy, self._param_cel(param))
                apply_actions(inv.policy, inv.binding, validate(inv.policy, activation), outcome)

    def _param_cel(self, param: Obj | None) -> Any:
        """A param as CEL sees it, converted once per version of it (params change seldom)."""
        if param is None:
            return None
        md = param.get("metadata") or {}
        key = (md.get("uid"), md.get("resourceVersion"))
        if key not in self._params:
            if len(self._params) > 1024:
                self._params.clear()
            self._params[key] = to_cel(param)
        return self._params[key]

    async def collect_params(self, api: ResourceAccess, policy: Obj, binding: Obj, namespace: str) -> list[Obj | None]:
        """generic.CollectParams: [None] without paramKind or paramRef; else the param named or
        selected (none found: an error under `parameterNotFoundAction: Deny`)."""
        kind = (policy.get("spec") or {}).get("paramKind")
        ref = (binding.get("spec") or {}).get("paramRef")
        if not isinstance(kind, Mapping) or not isinstance(ref, Mapping):
            return [None]
        rt = api.kinds.by_kind(str(kind.get("apiVersion") or ""), str(kind.get("kind") or ""))
        if rt is None:
            raise ParamError(f"paramKind kind `&ParamKind{{APIVersion:{kind.get('apiVersion') or ''},"
                             f"Kind:{kind.get('kind') or ''},}}` not known")
        where: str | None = None
        if rt.namespaced:
            where = ref.get("namespace") or namespace
            if not where:
                raise ParamError("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources")
        elif ref.get("namespace"):
            raise ParamError("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
        params: list[Obj | None]
        if ref.get("name"):
            if ref.get("selector") is not None:
                raise ParamError("paramRef.name and paramRef.selector are mutually exclusive")
            found = await self.reads.get(api, rt, where, str(ref["name"]))
            params = [found] if found is not None else []
        elif ref.get("selector") is not None:
            try:
                selector = selector_from_label_selector(ref["selector"])
            except errors.BadRequest as e:
                raise ParamError(e.message) from None
            params = [p for p in await self.reads.list(api, rt, where)
                      if selector((p.get("metadata") or {}).get("labels") or {})]
        else:
            raise ParamError("one of name or selector must be provided")
        if not params and ref.get("parameterNotFoundAction") == "Deny":
            raise ParamError("no params found for policy binding with `Deny` parameterNotFoundAction")
        return params


def refusal(req: Request, first: Denial) -> errors.ApiError:
    """dispatcher.go: admission.NewForbidden's message and details for the first refusal
    (`deployments.apps "web" is forbidden: …`), its reason and code, its message the one cause."""
    message = denial_message(first)
    resource = f"{req.resource}.{req.group}" if req.group else req.resource
    text = f'{resource} "{req.name}" is forbidden: {message}' if req.name else f"{resource} is forbidden: {message}"
    cls = ERRORS_BY_REASON.get(first.reason, errors.Invalid)
    return cls(text, name=req.name, group=req.group, kind=req.resource, causes=[{"message": message}])
