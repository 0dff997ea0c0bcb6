"""The authorizer chain and its refusal, as kube-apiserver assembles them for `--authorization-mode=RBAC`:
the privileged-group authorizer first (`system:masters` may do anything: authorizerfactory.
NewPrivilegedGroups), then RBAC (rbac.py); a request no authorizer allows gets the apiserver's 403
(endpoints/handlers/responsewriters/errors.go `forbiddenMessage` inside apierrors.NewForbidden).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from boxk8s import errors
from boxk8s.api.auth import rbac
from boxk8s.api.auth.rbac import Attributes, Decision, Policy
from boxk8s.api.auth.requestinfo import RequestInfo
from boxk8s.api.auth.user import SYSTEM_MASTERS, UserInfo


def attributes_of(user: UserInfo, info: RequestInfo) -> Attributes:
    """WithAuthorization's GetAuthorizerAttributes."""
    if not info.is_resource_request:
        return Attributes(user, info.verb, False, path=info.path)
    return Attributes(user, info.verb, True, info.namespace, info.api_group, info.api_version, info.resource,
                      info.subresource, info.name, info.path)


class Authorizer:
    """Privileged groups, then RBAC over the current policy (`policy()` is the informer-fed snapshot)."""

    def __init__(self, policy: Callable[[], Policy]) -> None:
        self.policy = policy

    def authorize(self, attrs: Attributes) -> Decision:
        if SYSTEM_MASTERS in attrs.user.groups:
            return Decision(True)
        return rbac.authorize(self.policy(), attrs)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[rbac.Rule], list[str]]:
        """The RBAC rules that apply (the privileged group is not a rule resolver upstream either)."""
        return rbac.rules_for(self.policy(), user, namespace)


def admission_check(authorize: Callable[[Attributes], Decision]) -> Callable[
        [Mapping[str, Any], Mapping[str, str]], tuple[bool, str]]:
    """The authorizer as admission policies call it (resources/requester.AUTHORIZER): a user and
    an attributes record as plain data."""
    def check(user: Mapping[str, Any], spec: Mapping[str, str]) -> tuple[bool, str]:
        who = UserInfo(str(user.get("username") or ""), str(user.get("uid") or ""), tuple(user.get("groups") or ()))
        g = spec.get
        attrs = Attributes(who, g("verb", ""), not g("path"), g("namespace", ""), g("apiGroup", ""),
                           g("apiVersion", "*"), g("resource", ""), g("subresource", ""), g("name", ""), g("path", ""))
        decision = authorize(attrs)
        return decision.allowed, decision.reason
    return check


def forbidden_message(attrs: Attributes) -> str:
    """forbiddenMessage."""
    if not attrs.resource_request:
        return f'User "{attrs.user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'User "{attrs.user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" {scope}'


def forbidden(attrs: Attributes, reason: str) -> errors.Forbidden:
    """responsewriters.Forbidden → apierrors.NewForbidden(GroupResource, name, message[: reason])."""
    message = forbidden_message(attrs)
    if reason:
        message = f"{message}: {reason}"
    resource = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if not attrs.resource and not attrs.api_group:
        whole = f"forbidden: {message}"
    elif attrs.name:
        whole = f'{resource} "{attrs.name}" is forbidden: {message}'
    else:
        whole = f"{resource} is forbidden: {message}"
    return errors.Forbidden(whole, name=attrs.name, group=attrs.api_group, kind=attrs.resource)


def review_attributes(user: UserInfo, spec: Mapping[str, Any]) -> Attributes:
    """authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom of an access review's spec."""
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(user, resource.get("verb") or "", True, resource.get("namespace") or "",
                          resource.get("group") or "", resource.get("version") or "", resource.get("resource") or "",
                          resource.get("subresource") or "", resource.get("name") or "")
    non_resource = spec.get("nonResourceAttributes") or {}
    return Attributes(user, non_resource.get("verb") or "", False, path=non_resource.get("path") or "")
