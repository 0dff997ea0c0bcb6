"""Who is asking, for the strategies that record it (upstream reads genericapirequest.UserFrom(ctx)):
the auth filter sets it for the length of a request; in-process components write as nobody in
particular (None)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

# authentication.k8s.io/v1 UserInfo: username, uid, groups, extra
REQUESTER: ContextVar[dict[str, Any] | None] = ContextVar("boxk8s_requester", default=None)


def current() -> dict[str, Any] | None:
    return REQUESTER.get()
