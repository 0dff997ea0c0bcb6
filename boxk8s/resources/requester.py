"""Who is asking, for the strategies that record it (upstream reads genericapirequest.UserFrom(ctx)):
the auth filter sets it for the length of a request; in-process components write as nobody in
particular (None)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

# authentication.k8s.io/v1 UserInfo: username, uid, groups, extra
REQUESTER: ContextVar[dict[str, Any] | None] = ContextVar("boxk8s_requester", default=None)

# The API's authorizer, for admission policies' `authorizer` variable: (user as above,
# authorizer.AttributesRecord's fields: verb, apiGroup, apiVersion, resource, subresource, namespace,
# name, path) -> (allowed, reason). Set by the auth filter with REQUESTER; None (in-process
# components, an API without RBAC): everything is allowed.
Check = Callable[[Mapping[str, Any], Mapping[str, str]], tuple[bool, str]]
AUTHORIZER: ContextVar[Check | None] = ContextVar("boxk8s_authorizer", default=None)


def current() -> dict[str, Any] | None:
    return REQUESTER.get()
