"""Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): k8s.io/apiserver/pkg/endpoints/filters/
impersonation.go. Each thing asked for (the user or service account, every group, the uid, every
extra value) must be allowed to the requester with the `impersonate` verb; the request then runs as
the impersonated user, whose groups are the ones asked for (a service account's own two when none
are), plus `system:authenticated` (or `system:unauthenticated` for `system:anonymous`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from multidict import MultiMapping

from boxk8s import errors
from boxk8s.api.auth.authorizer import forbidden
from boxk8s.api.auth.rbac import Attributes, Decision
from boxk8s.api.auth.user import ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS, UserInfo
from boxk8s.resources.serviceaccount_token import make_group_names, make_username, split_username

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "Impersonate-Extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"


@dataclass(frozen=True)
class Wanted:
    """One impersonation request (an ObjectReference upstream): kind ServiceAccount, User, Group,
    UserExtra (`key` is the extra's key) or UID."""

    kind: str
    name: str
    namespace: str = ""
    key: str = ""

    def __str__(self) -> str:
        return f"{{{self.kind} {self.namespace} {self.name} {self.key}}}"


def wanted(headers: MultiMapping[str]) -> list[Wanted]:
    """buildImpersonationRequests: what the headers ask to act as, in upstream's order."""
    out: list[Wanted] = []
    user = headers.get(USER_HEADER, "")
    if user:
        sa = split_username(user)
        out.append(Wanted("ServiceAccount", sa[1], sa[0]) if sa else Wanted("User", user))
    groups = headers.getall(GROUP_HEADER, [])
    out.extend(Wanted("Group", g) for g in groups)
    extras = False
    for header in {h for h in headers if h.lower().startswith(EXTRA_PREFIX.lower())}:
        extras = True
        key = unquote(header[len(EXTRA_PREFIX):]).lower()
        out.extend(Wanted("UserExtra", value, key=key) for value in headers.getall(header, []))
    uid = headers.get(UID_HEADER, "")
    if uid:
        out.append(Wanted("UID", uid))
    if (groups or extras or uid) and not user:
        listed = " ".join(str(w) for w in out)
        raise errors.InternalError(f"requested [{listed}] without impersonating a user")
    return out


def _attributes(requester: UserInfo, w: Wanted) -> Attributes:
    resource, group, sub = {
        "ServiceAccount": ("serviceaccounts", "", ""), "User": ("users", "", ""), "Group": ("groups", "", ""),
        "UserExtra": ("userextras", AUTHENTICATION_GROUP, w.key), "UID": ("uids", AUTHENTICATION_GROUP, ""),
    }[w.kind]
    return Attributes(requester, "impersonate", True, w.namespace, group, "", resource, sub, w.name)


def impersonate(requester: UserInfo, headers: MultiMapping[str],
                authorize: Callable[[Attributes], Decision]) -> UserInfo:
    """WithImpersonation: the user the request runs as (the requester when nothing is asked);
    403 with the apiserver's message for the first thing the requester may not impersonate."""
    asked = wanted(headers)
    if not asked:
        return requester
    groups_given = bool(headers.getall(GROUP_HEADER, []))
    name, uid = "", ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for w in asked:
        attrs = _attributes(requester, w)
        if w.kind == "ServiceAccount":
            name = make_username(w.namespace, w.name)
            if not groups_given:
                groups = make_group_names(w.namespace)
        elif w.kind == "User":
            name = w.name
        elif w.kind == "Group":
            groups.append(w.name)
        elif w.kind == "UserExtra":
            extra.setdefault(w.key, []).append(w.name)
        else:
            uid = w.name
        decision = authorize(attrs)
        if not decision.allowed:
            raise forbidden(attrs, decision.reason)
    if name != ANONYMOUS:
        if not any(g in (ALL_AUTHENTICATED, ALL_UNAUTHENTICATED) for g in groups):
            groups.append(ALL_AUTHENTICATED)
    elif ALL_UNAUTHENTICATED not in groups:
        groups.append(ALL_UNAUTHENTICATED)
    return UserInfo(name, uid, tuple(groups), {k: tuple(v) for k, v in extra.items()})
