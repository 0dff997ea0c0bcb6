"""The auth filter: the apiserver's WithAuthentication → WithImpersonation → WithAuthorization on
every request, as one aiohttp middleware. The health paths stay open to requests without credentials
(system:public-info-viewer allows them to everyone on a real cluster too, and the cluster limits
anonymous requests to them as KEP-4633's AuthenticationConfiguration does); a credential sent there
is checked like anywhere else (a bad token is a 401)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from boxk8s.api.auth.authn import Authenticator, bearer_token
from boxk8s.api.auth.authorizer import Authorizer, admission_check, attributes_of, forbidden
from boxk8s.api.auth.caches import BoundObjects, PolicyCache
from boxk8s.api.auth.impersonation import USER_HEADER as IMPERSONATE_USER
from boxk8s.api.auth.impersonation import impersonate
from boxk8s.api.auth.rbac import Attributes, Decision, Rule
from boxk8s.api.auth.requestinfo import info_of
from boxk8s.api.auth.user import REQUEST_USER, SYSTEM_MASTERS, UserInfo
from boxk8s.client import InformerFactory
from boxk8s.resources.requester import AUTHORIZER, REQUESTER
from boxk8s.resources.serviceaccount_token import TokenIssuer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
OPEN_PATHS = ("/healthz", "/livez", "/readyz")


@dataclass
class Security:
    """How the API authenticates and authorizes. Without an authorizer (no RBAC), whoever
    authenticates may do anything: the API of tests and of clusters built without informers."""

    authenticator: Authenticator
    authorizer: Authorizer | None = None
    policy: PolicyCache | None = None

    @classmethod
    def token_only(cls, token: str) -> Security:
        """The kubeconfig's token is the whole of authentication (no anonymous requests, no RBAC)."""
        return cls(Authenticator(token, anonymous=False))

    @classmethod
    def with_rbac(cls, token: str, issuer: TokenIssuer, factory: InformerFactory) -> Security:
        """The cluster's: the admin token, ServiceAccount tokens, anonymous requests to the health
        paths only (every other request without a token is a 401), RBAC over the shared informers
        (ask for them before the factory runs)."""
        policy = PolicyCache(factory)
        authenticator = Authenticator(token, issuer, BoundObjects(factory), anonymous_paths=OPEN_PATHS)
        return cls(authenticator, Authorizer(policy.policy), policy)

    def authorize(self, attrs: Attributes) -> Decision:
        return self.authorizer.authorize(attrs) if self.authorizer else Decision(True)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        if self.authorizer is None:
            return [Rule.of({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}),
                    Rule.of({"verbs": ["*"], "nonResourceURLs": ["*"]})], []
        return self.authorizer.rules_for(user, namespace)

    async def ready(self) -> None:
        """The policy caches are filled (decisions before that would see no bindings)."""
        if self.policy is not None and not self.policy.synced:
            await self.policy.wait_synced()

    def middleware(self) -> Middleware:
        @web.middleware
        async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            authorization = request.headers.get("Authorization")
            if request.path in OPEN_PATHS and bearer_token(authorization) is None:
                return await handler(request)
            user = await self.authenticator.authenticate(authorization, request.path)
            if self.authorizer is not None:
                if SYSTEM_MASTERS not in user.groups or IMPERSONATE_USER in request.headers:
                    await self.ready()
                user = impersonate(user, request.headers, self.authorize)
                attrs = attributes_of(user, info_of(request))
                decision = self.authorize(attrs)
                if not decision.allowed:
                    raise forbidden(attrs, decision.reason)
            request[REQUEST_USER] = user
            token = REQUESTER.set(user.as_dict())  # for the strategies that record who asked (CSRs)
            check = AUTHORIZER.set(admission_check(self.authorize))  # admission policies' `authorizer`
            try:
                return await handler(request)
            finally:
                AUTHORIZER.reset(check)
                REQUESTER.reset(token)

        return auth

