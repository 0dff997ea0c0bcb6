"""Who a request speaks for: k8s.io/apiserver/pkg/authentication/user.Info and its well-known names."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

SYSTEM_MASTERS = "system:masters"  # user.SystemPrivilegedGroup: always allowed
ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
ADMIN_NAME = "kubernetes-admin"  # the kubeconfig's user, as kubeadm's admin.conf names it


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, object]:
        """authentication.k8s.io/v1 UserInfo (TokenReview, SelfSubjectReview)."""
        out: dict[str, object] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ADMIN = UserInfo(ADMIN_NAME, groups=(SYSTEM_MASTERS, ALL_AUTHENTICATED))
ANONYMOUS_USER = UserInfo(ANONYMOUS, groups=(ALL_UNAUTHENTICATED,))

REQUEST_USER = web.RequestKey("user", UserInfo)  # where the auth filter leaves the request's user
