"""The create-only endpoints that are answers, not stored objects: TokenReview and SelfSubjectReview
(authentication.k8s.io), the access reviews (authorization.k8s.io: SelfSubjectAccessReview,
SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview), and TokenRequest
(`serviceaccounts/NAME/token`). Each follows its upstream REST (pkg/registry/authentication/...,
pkg/registry/authorization/..., pkg/registry/core/serviceaccount/storage/token.go) and the
validation of pkg/apis/authorization/validation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from boxk8s import errors
from boxk8s.api import request as rq
from boxk8s.api.auth.authn import Authenticator
from boxk8s.api.auth.authorizer import review_attributes
from boxk8s.api.auth.rbac import Attributes, Decision, Rule, aggregate
from boxk8s.api.auth.user import ADMIN, REQUEST_USER, UserInfo
from boxk8s.api.respond import json_response
from boxk8s.resources import field_errors
from boxk8s.resources.admission import decode
from boxk8s.resources.layer import Resources
from boxk8s.resources.token_request import request_token

Obj = dict[str, Any]
Create = Callable[[web.Request, rq.Target], Awaitable[web.StreamResponse]]
AUTHN, AUTHZ = "authentication.k8s.io", "authorization.k8s.io"


def request_user(request: web.Request) -> UserInfo:
    """The user the auth filter found (the admin when the API runs without authentication)."""
    return request.get(REQUEST_USER, ADMIN)


def _extra(spec: Obj) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v or []) for k, v in (spec.get("extra") or {}).items()}


def _check_spec(kind: str, spec: Obj, *, needs_subject: bool) -> list[field_errors.FieldError]:
    """ValidateSubjectAccessReviewSpec (and the self-review's, which needs no user)."""
    problems = []
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        problems.append(field_errors.invalid("spec.nonResourceAttributes", non_resource,
                                             "cannot be specified in combination with resourceAttributes"))
    if resource is None and non_resource is None:
        problems.append(field_errors.invalid("spec.resourceAttributes", "null",
                                             "exactly one of nonResourceAttributes or resourceAttributes must be "
                                             "specified"))
    if needs_subject and not spec.get("user") and not spec.get("groups"):
        problems.append(field_errors.invalid("spec.user", spec.get("user") or "",
                                             "at least one of user or group must be specified"))
    return problems


def _empty_metadata(obj: Obj, *, keep: tuple[str, ...] = ()) -> bool:
    md = obj.get("metadata") or {}
    return all(k in keep or k == "managedFields" or (k == "creationTimestamp" and v is None) for k, v in md.items())


def _status(decision: Decision) -> Obj:
    status: Obj = {"allowed": decision.allowed}
    if decision.denied:
        status["denied"] = True
    if decision.reason:
        status["reason"] = decision.reason
    return status


class Reviews:
    def __init__(self, resources: Resources, authenticator: Authenticator,
                 authorize: Callable[[Attributes], Decision],
                 rules_for: Callable[[UserInfo, str], tuple[list[Rule], list[str]]]) -> None:
        self.resources = resources
        self.authenticator = authenticator
        self.authorize = authorize
        self.rules_for = rules_for

    def creators(self) -> dict[str, Create]:
        """The handlers by `resource.group` (and `/subresource`), for the resource handler."""
        return {
            f"tokenreviews.{AUTHN}": self.token_review,
            f"selfsubjectreviews.{AUTHN}": self.self_subject_review,
            f"selfsubjectaccessreviews.{AUTHZ}": self.self_subject_access_review,
            f"subjectaccessreviews.{AUTHZ}": self.subject_access_review,
            f"localsubjectaccessreviews.{AUTHZ}": self.local_subject_access_review,
            f"selfsubjectrulesreviews.{AUTHZ}": self.self_subject_rules_review,
            "serviceaccounts/token": self.token_request,
        }

    async def _body(self, request: web.Request, t: rq.Target) -> Obj:
        opts = rq.write_options(request)
        obj = decode(t.rt, await rq.read_body(request), opts)
        if not isinstance(obj.get("spec"), dict):
            obj["spec"] = {}
        return obj

    def _invalid(self, t: rq.Target, obj: Obj, problems: list[field_errors.FieldError]) -> errors.Invalid:
        name = (obj.get("metadata") or {}).get("name") or ""
        return errors.invalid(t.rt.group, t.rt.kind, name, [p.cause() for p in problems])

    @staticmethod
    def _answer(obj: Obj, status: Obj) -> web.Response:
        md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
        md["creationTimestamp"] = None
        return json_response({**obj, "metadata": md, "status": status}, status=201)

    # ---- authentication.k8s.io ----------------------------------------------------------------
    async def token_review(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """tokenreview REST: authenticate the token as a request would be, for the audiences asked."""
        obj = await self._body(request, t)
        spec = obj["spec"]
        token = spec.get("token") or ""
        if not token:
            raise errors.BadRequest("token is required for TokenReview in authentication.k8s.io")
        outcome = await self.authenticator.token(token, spec.get("audiences") or None)
        status: Obj = {"authenticated": outcome.user is not None, "user": {}}
        if outcome.user is not None:
            status["user"] = outcome.user.as_dict()
            status["audiences"] = list(outcome.audiences)
        if outcome.error:
            status["error"] = outcome.error
        return self._answer(obj, status)

    async def self_subject_review(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """`kubectl auth whoami`: the requester's user info."""
        obj = await self._body(request, t)
        obj.pop("spec", None)
        return self._answer(obj, {"userInfo": request_user(request).as_dict()})

    # ---- authorization.k8s.io -----------------------------------------------------------------
    async def _access_review(self, request: web.Request, t: rq.Target, *, self_review: bool) -> web.StreamResponse:
        obj = await self._body(request, t)
        spec = obj["spec"]
        problems = _check_spec(t.rt.kind, spec, needs_subject=not self_review)
        if not _empty_metadata(obj):
            problems.insert(0, field_errors.invalid("metadata", obj.get("metadata"), "must be empty"))
        if problems:
            raise self._invalid(t, obj, problems)
        user = request_user(request) if self_review else self._subject(spec)
        return self._answer(obj, _status(self.authorize(review_attributes(user, spec))))

    async def self_subject_access_review(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """`kubectl auth can-i`: may the requester (after impersonation) do this?"""
        return await self._access_review(request, t, self_review=True)

    def _subject(self, spec: Obj) -> UserInfo:
        return UserInfo(spec.get("user") or "", spec.get("uid") or "", tuple(spec.get("groups") or ()), _extra(spec))

    async def subject_access_review(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """May the user the spec names do this?"""
        return await self._access_review(request, t, self_review=False)

    async def local_subject_access_review(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """A SubjectAccessReview limited to the URL's namespace."""
        obj = await self._body(request, t)
        namespace = t.namespace or ""
        md = obj.setdefault("metadata", {})
        if not md.get("namespace"):
            md["namespace"] = namespace
        if md["namespace"] != namespace:
            raise errors.BadRequest(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
        spec = obj["spec"]
        problems = _check_spec(t.rt.kind, spec, needs_subject=True)
        if not _empty_metadata(obj, keep=("namespace",)):
            problems.insert(0, field_errors.invalid("metadata", md, "must be empty except for namespace"))
        resource = spec.get("resourceAttributes")
        if isinstance(resource, dict) and (resource.get("namespace") or "") != namespace:
            problems.append(field_errors.invalid("spec.resourceAttributes.namespace", resource.get("namespace") or "",
                                                 "must match metadata.namespace"))
        if spec.get("nonResourceAttributes") is not None:
            problems.append(field_errors.invalid("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                                                 "disallowed on this kind of request"))
        if problems:
            raise self._invalid(t, obj, problems)
        decision = self.authorize(review_attributes(self._subject(spec), spec))
        return self._answer(obj, _status(decision))

    async def self_subject_rules_review(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """`kubectl auth can-i --list`: every rule that applies to the requester in a namespace."""
        obj = await self._body(request, t)
        namespace = obj["spec"].get("namespace") or ""
        if not namespace:
            raise errors.BadRequest("no namespace on request")
        rules, problems = self.rules_for(request_user(request), namespace)
        resource_rules, non_resource_rules = [], []
        for rule in rules:
            source = rule.source
            if source.get("resources"):
                entry: Obj = {"verbs": list(source.get("verbs") or [])}
                for key in ("apiGroups", "resources", "resourceNames"):
                    if source.get(key):
                        entry[key] = list(source[key])
                resource_rules.append(entry)
            if source.get("nonResourceURLs"):
                non_resource_rules.append({"verbs": list(source.get("verbs") or []),
                                           "nonResourceURLs": list(source["nonResourceURLs"])})
        status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
        if problems:
            status["evaluationError"] = aggregate(problems)
        obj.pop("spec", None)
        return self._answer({**obj, "spec": {}}, status)

    # ---- core/v1 serviceaccounts/token ----------------------------------------------------------
    async def token_request(self, request: web.Request, t: rq.Target) -> web.StreamResponse:
        """`kubectl create token SA`."""
        assert t.namespace is not None and t.name is not None
        body = await rq.read_body(request)
        answer = await request_token(self.resources, self.resources.token_issuer, t.namespace, t.name, body)
        return json_response(answer, status=201)
