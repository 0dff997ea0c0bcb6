"""Authentication: who a request speaks for, as the apiserver's authenticator chain answers.

- The kubeconfig's bearer token: the cluster admin (`kubernetes-admin`, in `system:masters`), as a
  static token would be.
- A ServiceAccount token (a JWT from our issuer): `system:serviceaccount:NS:NAME`, in
  `system:serviceaccounts` and `system:serviceaccounts:NS`, refused once expired or when its
  account or bound object is gone (serviceaccount_token.validate).
- No credentials: `system:anonymous` in `system:unauthenticated`, which RBAC then judges, only on the
  paths of `anonymous_paths` (the AuthenticationConfiguration's `anonymous.conditions`, KEP-4633,
  anonymous.NewAuthenticator(conditions)); elsewhere a request without credentials is a 401, as with
  --anonymous-auth=false. A credential that does not authenticate is a 401, never anonymous
  (union.NewFailOnError in kubeapiserver/authenticator/config.go).
Every authenticated user is also in `system:authenticated` (group.AuthenticatedGroupAdder).

Verified signatures are cached by token (the apiserver caches token authentication too); what can
change (expiry, the account and bound objects) is checked on every request, from informer caches.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from boxk8s import errors
from boxk8s.api.auth.caches import BoundObjects
from boxk8s.api.auth.user import ADMIN, ALL_AUTHENTICATED, ANONYMOUS_USER, UserInfo
from boxk8s.resources import jwt
from boxk8s.resources.serviceaccount_token import InvalidToken, ServiceAccountInfo, TokenIssuer, validate

CACHE_SIZE = 4096  # verified tokens kept; the cache is emptied when full


@dataclass(frozen=True)
class Outcome:
    """What authenticating one token gave (TokenReview's status)."""

    user: UserInfo | None
    audiences: tuple[str, ...] = ()
    error: str = ""


def bearer_token(header: str | None) -> str | None:
    """bearertoken.Authenticator: the token of `Authorization: Bearer <token>`; None when the request
    carries no bearer credential at all."""
    if not header:
        return None
    parts = header.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


def service_account_user(info: ServiceAccountInfo) -> UserInfo:
    """ServiceAccountInfo.UserInfo, with system:authenticated added."""
    return UserInfo(info.username, info.uid, (*info.groups, ALL_AUTHENTICATED),
                    {k: tuple(v) for k, v in info.extra().items()})


@dataclass
class Authenticator:
    admin_token: str
    issuer: TokenIssuer | None = None
    objects: BoundObjects | None = None
    anonymous: bool = True  # off: a request without the admin token is refused (no RBAC to judge it)
    anonymous_paths: tuple[str, ...] | None = None  # where anonymous requests are allowed (None: everywhere)
    _verified: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _claims(self, token: str) -> dict[str, Any]:
        found = self._verified.get(token)
        if found is None:
            assert self.issuer is not None
            try:
                found = jwt.verify(token, self.issuer.public_key)
            except jwt.TokenError as e:
                raise InvalidToken(str(e)) from e
            if len(self._verified) >= CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = found
        return found

    async def token(self, token: str, audiences: Sequence[str] | None = None) -> Outcome:
        """Authenticate one bearer token (the request's, or a TokenReview's)."""
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            api_auds = self.issuer.audiences if self.issuer else ()
            if audiences and api_auds and not set(audiences) & set(api_auds):
                return Outcome(None, error=f"token audiences {_go_list(api_auds)} is invalid for the target "
                                           f"audiences {_go_list(audiences)}")
            return Outcome(ADMIN, tuple(audiences or api_auds))
        if self.issuer is None or self.objects is None:
            return Outcome(None, error="invalid bearer token")
        if token not in self._verified and (not jwt.looks_like_jwt(token) or not self.issuer.issued_by_us(token)):
            return Outcome(None, error="invalid bearer token")
        wanted = tuple(audiences) if audiences else self.issuer.audiences
        try:
            claim_set = self._claims(token)
            await self.objects.wait_synced()
            info = validate(claim_set, issuer=self.issuer.issuer, audiences=wanted, now=self.issuer.clock(),
                            lookup=self.objects)
        except InvalidToken as e:
            return Outcome(None, error=f"[invalid bearer token, {e}]")
        token_auds = claim_set.get("aud")
        token_auds = [token_auds] if isinstance(token_auds, str) else list(token_auds or [])
        return Outcome(service_account_user(info), tuple(a for a in wanted if a in token_auds))

    async def authenticate(self, authorization: str | None, path: str = "") -> UserInfo:
        """The request's user; 401 Unauthorized when its credential does not authenticate, or when it
        has none and `path` is not one anonymous requests may ask for."""
        if not self.admin_token and self.issuer is None:
            return ADMIN  # no credentials configured at all: the API is open (tests over plain HTTP)
        token = bearer_token(authorization)
        if token is None:
            if self.anonymous and (self.anonymous_paths is None or path in self.anonymous_paths):
                return ANONYMOUS_USER
            raise errors.Unauthorized("Unauthorized")
        outcome = await self.token(token)
        if outcome.user is None:
            raise errors.Unauthorized("Unauthorized")
        return outcome.user


def _go_list(items: Sequence[str]) -> str:
    return "[" + " ".join(f'"{i}"' for i in items) + "]"
