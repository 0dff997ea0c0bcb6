"""Admission webhooks, the pure part: which webhooks a request calls, what they are sent, what
their answers mean (k8s.io/apiserver/pkg/admission/plugin/webhook).

- `hooks_of`: the webhooks of the configurations, in upstream's order (configurations by name,
  then their webhooks in order: the configuration managers' merge*WebhookConfigurations).
- `plan_invocation`: `Webhook.ShouldCallHook` — namespaceSelector (predicates/namespace), objectSelector
  (predicates/object), then the rules (predicates/rules), exact first and with matchPolicy
  Equivalent the other served versions of the resource. matchConditions are the plugin's
  (CEL, admission_webhook_cel.py).
- `review_request`: the AdmissionReview v1 sent (request.CreateAdmissionReview).
- `verify_response`: request.VerifyAdmissionResponse.
- The errors, in the apiserver's words: `denied` (webhook/errors.ToStatusErr as of 1.32),
  `calling_failed` (util/webhook.ErrCallingWebhook wrapped by apierrors.NewInternalError), and
  `dry_run_unsupported`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s import errors
from boxk8s.resources.selectors import label_selector_matches

Obj = dict[str, Any]

GROUP = "admissionregistration.k8s.io"
# rules.IsExemptAdmissionConfigurationResource: never sent to webhooks, so that a broken webhook
# can always be removed.
EXEMPT_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                          "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                          "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"})
REVIEW_API_VERSION = "admission.k8s.io/v1"
MAX_TIMEOUT = 30


@dataclass(frozen=True)
class Hook:
    """One webhook of a configuration, with the defaults of SetDefaults_*Webhook applied."""

    name: str
    configuration: str
    uid: str  # configuration/name#index: what reinvocation remembers
    mutating: bool
    rules: tuple[Obj, ...]
    failure_policy: str  # Fail | Ignore
    match_policy: str  # Equivalent | Exact
    namespace_selector: Obj
    object_selector: Obj
    side_effects: str | None
    timeout: int  # seconds
    review_versions: tuple[str, ...]
    client_config: Obj
    reinvocation: str  # Never | IfNeeded
    match_conditions: tuple[Obj, ...]

    @property
    def ignores_failures(self) -> bool:
        return self.failure_policy == "Ignore"


def hooks_of(configurations: Iterable[Mapping[str, Any]], mutating: bool) -> list[Hook]:
    hooks: list[Hook] = []
    for config in sorted(configurations, key=lambda c: str((c.get("metadata") or {}).get("name") or "")):
        config_name = str((config.get("metadata") or {}).get("name") or "")
        for i, h in enumerate(config.get("webhooks") or []):
            if not isinstance(h, dict):
                continue
            timeout = h.get("timeoutSeconds")
            hooks.append(Hook(
                name=str(h.get("name") or ""),
                configuration=config_name,
                uid=f"{config_name}/{h.get('name')}#{i}",
                mutating=mutating,
                rules=tuple(r for r in h.get("rules") or [] if isinstance(r, dict)),
                failure_policy=str(h.get("failurePolicy") or "Fail"),
                match_policy=str(h.get("matchPolicy") or "Equivalent"),
                namespace_selector=h.get("namespaceSelector") or {},
                object_selector=h.get("objectSelector") or {},
                side_effects=h.get("sideEffects"),
                timeout=min(int(timeout), MAX_TIMEOUT) if isinstance(timeout, int) and timeout > 0 else 10,
                review_versions=tuple(h.get("admissionReviewVersions") or ()),
                client_config=h.get("clientConfig") or {},
                reinvocation=str(h.get("reinvocationPolicy") or "Never"),
                match_conditions=tuple(c for c in h.get("matchConditions") or [] if isinstance(c, dict)),
            ))
    return hooks


@dataclass(frozen=True)
class Request:
    """admission.Attributes as the matchers read them."""

    operation: str  # CREATE | UPDATE | DELETE | CONNECT
    group: str
    version: str
    resource: str
    subresource: str
    kind: str
    namespace: str  # "" for cluster-scoped objects; a Namespace's own name for a Namespace
    name: str
    obj: Obj | None
    old: Obj | None


@dataclass(frozen=True)
class Invocation:
    """generic.WebhookInvocation: the webhook and the resource version it is sent (an equivalent
    one under matchPolicy Equivalent)."""

    hook: Hook
    group: str
    version: str
    resource: str
    subresource: str
    kind: str


def exempt(group: str, kind: str) -> bool:
    return group == GROUP and kind in EXEMPT_KINDS


def _exact_or_wildcard(items: Iterable[Any], requested: str) -> bool:
    return any(item in ("*", requested) for item in items)


def rule_matches(rule: Mapping[str, Any], req: Request, version: str | None = None) -> bool:
    """rules.Matcher.Matches: scope, operation, group, version, resource with subresource."""
    is_namespace = req.group == "" and req.resource == "namespaces"
    scope = rule.get("scope") or "*"
    if scope == "Namespaced" and (is_namespace or not req.namespace):
        return False
    if scope == "Cluster" and not (is_namespace or not req.namespace):
        return False
    if scope not in ("*", "Namespaced", "Cluster"):
        return False
    if not _exact_or_wildcard(rule.get("operations") or [], req.operation):
        return False
    if not _exact_or_wildcard(rule.get("apiGroups") or [], req.group):
        return False
    if not _exact_or_wildcard(rule.get("apiVersions") or [], version or req.version):
        return False
    for item in rule.get("resources") or []:
        res, _, sub = str(item).partition("/")
        if res in ("*", req.resource) and sub in ("*", req.subresource):
            return True
    return False


def namespace_selected(hook: Hook, req: Request, namespace_labels: Mapping[str, str] | None) -> bool:
    """MatchNamespaceSelector: cluster-scoped objects (but Namespaces) are never exempted; a
    Namespace being created or updated is judged by its own labels (namespace_labels_of)."""
    if not req.namespace and req.resource != "namespaces":
        return True
    if not hook.namespace_selector:
        return True
    return label_selector_matches(hook.namespace_selector, namespace_labels or {})


def needs_namespace_labels(hooks: Iterable[Hook], req: Request) -> bool:
    """Whether any webhook's namespaceSelector must look at the namespace's labels."""
    if not req.namespace and req.resource != "namespaces":
        return False
    return any(h.namespace_selector for h in hooks)


def own_namespace_labels(req: Request) -> Mapping[str, str] | None:
    """A Namespace being created or updated is matched by the labels it is given (the stored ones
    may not exist yet); None when the labels must be read from the stored namespace."""
    if req.group == "" and req.resource == "namespaces" and not req.subresource and req.operation in ("CREATE", "UPDATE"):
        return ((req.obj or {}).get("metadata") or {}).get("labels") or {}
    return None


def object_selected(hook: Hook, req: Request) -> bool:
    """MatchObjectSelector: the new or the old object's labels."""
    if not hook.object_selector:
        return True
    return any(o is not None and label_selector_matches(hook.object_selector, (o.get("metadata") or {}).get("labels") or {})
               for o in (req.obj, req.old))


# the other served versions of a resource: (group, resource) -> [(version, kind)]
Equivalents = Callable[[str, str], list[tuple[str, str]]]


def plan_invocation(hook: Hook, req: Request, namespace_labels: Mapping[str, str] | None,
                    equivalents: Equivalents | None = None) -> Invocation | None:
    """ShouldCallHook without matchConditions: None when the webhook is not called."""
    if not namespace_selected(hook, req, namespace_labels) or not object_selected(hook, req):
        return None
    for rule in hook.rules:
        if rule_matches(rule, req):
            return Invocation(hook, req.group, req.version, req.resource, req.subresource, req.kind)
    if hook.match_policy != "Equivalent" or equivalents is None:
        return None
    for rule in hook.rules:  # earlier rules first
        for version, kind in equivalents(req.group, req.resource):
            if version != req.version and rule_matches(rule, req, version):
                return Invocation(hook, req.group, version, req.resource, req.subresource, kind)
    return None


def dry_run_refusal(hook: Hook) -> errors.ApiError | None:
    """A dry-run request only goes to webhooks without side effects (or none on dry run)."""
    if hook.side_effects in ("None", "NoneOnDryRun"):
        return None
    if hook.side_effects is None:
        return calling_failed(hook.name, "Webhook SideEffects is nil")
    return errors.BadRequest(f'admission webhook "{hook.name}" does not support dry run')


# ---- the review -------------------------------------------------------------------------------

def review_request(uid: str, inv: Invocation, req: Request, *, user: Mapping[str, Any], dry_run: bool,
                   options: Obj | None, obj: Obj | None, old: Obj | None) -> Obj:
    """An AdmissionReview v1 (admission/v1 AdmissionRequest): `obj`/`old` as the invocation's version shows them."""
    request: Obj = {
        "uid": uid,
        "kind": {"group": inv.group, "version": inv.version, "kind": inv.kind},
        "resource": {"group": inv.group, "version": inv.version, "resource": inv.resource},
    }
    if inv.subresource:
        request["subResource"] = inv.subresource
    request["requestKind"] = {"group": req.group, "version": req.version, "kind": req.kind}
    request["requestResource"] = {"group": req.group, "version": req.version, "resource": req.resource}
    if req.subresource:
        request["requestSubResource"] = req.subresource
    if req.name:
        request["name"] = req.name
    if req.namespace:
        request["namespace"] = req.namespace
    request["operation"] = req.operation
    request["userInfo"] = {k: user[k] for k in ("username", "uid", "groups", "extra") if user.get(k)}
    request["object"] = obj
    request["oldObject"] = old
    request["dryRun"] = dry_run
    if options is not None:
        request["options"] = options
    return {"kind": "AdmissionReview", "apiVersion": REVIEW_API_VERSION, "request": request}


@dataclass(frozen=True)
class Result:
    allowed: bool
    status: Obj | None  # response.status (metav1.Status) when refused
    patch: list[Any] | None  # decoded JSONPatch operations
    warnings: tuple[str, ...]


class InvalidResponse(Exception):
    """The webhook's answer breaks the protocol: a failure to call it (failurePolicy decides)."""


def verify_response(uid: str, mutating: bool, body: Any) -> Result:
    """VerifyAdmissionResponse for admission.k8s.io/v1 (the only version boxk8s sends)."""
    if not isinstance(body, dict):
        raise InvalidResponse("webhook response was absent")
    gvk = f"{body.get('apiVersion') or ''}, Kind={body.get('kind') or ''}"
    response = body.get("response")
    if not isinstance(response, dict):
        raise InvalidResponse("webhook response was absent")
    if response.get("uid") != uid:
        raise InvalidResponse(f'expected response.uid="{uid}", got "{response.get("uid") or ""}"')
    if gvk != f"{REVIEW_API_VERSION}, Kind=AdmissionReview":
        raise InvalidResponse(f"expected webhook response of {REVIEW_API_VERSION}, Kind=AdmissionReview, got {gvk}")
    patch_type = str(response.get("patchType") or "")
    raw_patch = response.get("patch") or ""
    if raw_patch and not patch_type:
        raise InvalidResponse("webhook returned response.patch but not response.patchType")
    if patch_type and not raw_patch:
        raise InvalidResponse("webhook returned response.patchType but not response.patch")
    if not mutating and raw_patch:
        raise InvalidResponse("validating webhook may not return response.patch")
    if not mutating and patch_type:
        raise InvalidResponse("validating webhook may not return response.patchType")
    if patch_type and patch_type != "JSONPatch":
        raise InvalidResponse(f'webhook returned invalid response.patchType of "{patch_type}"')
    patch = None
    if raw_patch:
        try:
            patch = json.loads(base64.b64decode(str(raw_patch), validate=True))
        except (binascii.Error, ValueError) as e:
            raise InvalidResponse(f"received undecodable patch in webhook response: {e}") from e
        if not isinstance(patch, list):
            raise InvalidResponse("received undecodable patch in webhook response: "
                                  "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    status = response.get("status") if isinstance(response.get("status"), dict) else None
    warnings = tuple(str(w) for w in response.get("warnings") or [] if w)
    return Result(bool(response.get("allowed")), status, patch, warnings)


# ---- errors -------------------------------------------------------------------------------------

class WebhookDenied(errors.ApiError):
    """The Status a refusing webhook gave, sanitised (ToStatusErr): kept as it is, reason included
    (left out when the webhook gave none, as metav1.Status's omitempty does)."""

    def __init__(self, message: str, code: int, reason: str, details: Obj | None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def denied(hook_name: str, status: Obj | None) -> WebhookDenied:
    """webhookerrors.ToStatusErr (1.32): `admission webhook "NAME" denied the request: MESSAGE`, a
    code below 400 raised to 400."""
    status = status or {}
    denied_by = f'admission webhook "{hook_name}" denied the request'
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    if message:
        text = f"{denied_by}: {message}"
    elif reason:
        text = f"{denied_by}: {reason}"
    else:
        text = f"{denied_by} without explanation"
    code = status.get("code") if isinstance(status.get("code"), int) else 0
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    return WebhookDenied(text, max(code, 400), reason, details)


def calling_failed(hook_name: str, reason: str) -> errors.InternalError:
    """apierrors.NewInternalError(&ErrCallingWebhook{…}): what a Fail webhook that cannot be called gives."""
    text = f'failed calling webhook "{hook_name}": {reason}'
    return errors.InternalError(f"Internal error occurred: {text}", causes=[{"message": text}])


def patch_modifies_nothing_here(hook_name: str) -> errors.InternalError:
    """A patch for an operation without an object (DELETE)."""
    text = f'admission webhook "{hook_name}" attempted to modify the object, which is not supported for this operation'
    return errors.InternalError(f"Internal error occurred: {text}", causes=[{"message": text}])


def plan_reinvocation(invoked: list[tuple[str, bool, bool]]) -> set[str]:
    """webhookReinvokeContext over one round: `invoked` is (uid, changed the object, IfNeeded) per
    webhook called, in order; the uids to call again. A change asks again of every IfNeeded webhook
    called before it (RequireReinvokingPreviouslyInvokedPlugins), not of the one that made it."""
    again: set[str] = set()
    previously: list[str] = []
    for uid, changed, if_needed in invoked:
        if changed:
            again.update(previously)
            previously = []
        if if_needed:
            previously.append(uid)
    return again
