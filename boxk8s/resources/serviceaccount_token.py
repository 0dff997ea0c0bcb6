"""ServiceAccount tokens: the usernames and groups of service accounts, the claims of a bound token
and their validation, as upstream's k8s.io/apiserver/pkg/authentication/serviceaccount/util.go
and pkg/serviceaccount/{claims.go,jwt.go}.

A bound token (TokenRequest) is a JWT whose private claim `kubernetes.io` names the namespace, the
ServiceAccount (name and uid) and, when bound, the Pod, Secret or Node (name and uid) it lives and
dies with; `validate` checks what upstream's validator checks, through a `Lookup` of the current
objects (the API's informer caches), so a token whose account or bound object is gone, or was
recreated with another uid, no longer authenticates. Pure but for the signature (jwt.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from boxk8s.resources import jwt, meta
from boxk8s.resources.names import dns1123_label, dns1123_subdomain

Obj = dict[str, Any]

USERNAME_PREFIX = "system:serviceaccount:"  # ServiceAccountUsernamePrefix
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
GROUP_PREFIX = "system:serviceaccounts:"
LEEWAY_SECONDS = 60  # go-jose's jwt.DefaultLeeway: exp, nbf and deletions are judged with it
WARN_ONLY_EXPIRATION_SECONDS = 60 * 60 + 7  # WarnOnlyBoundTokenExpirationSeconds: what the kubelet asks
DEFAULT_EXPIRATION_SECONDS = 60 * 60  # SetDefaults_TokenRequestSpec

# user.Info extra keys a ServiceAccount token carries (pkg/serviceaccount/util.go UserInfo)
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


def make_username(namespace: str, name: str) -> str:
    return f"{USERNAME_PREFIX}{namespace}:{name}"


def split_username(username: str) -> tuple[str, str] | None:
    """SplitUsername: (namespace, name) of a ServiceAccount username, None for any other name."""
    if not username.startswith(USERNAME_PREFIX):
        return None
    parts = username[len(USERNAME_PREFIX):].split(":")
    if len(parts) != 2:
        return None
    namespace, name = parts
    if dns1123_label(namespace) or dns1123_subdomain(name):
        return None
    return namespace, name


def make_group_names(namespace: str) -> list[str]:
    """MakeGroupNames: every service account is in these two groups."""
    return [ALL_SERVICE_ACCOUNTS_GROUP, GROUP_PREFIX + namespace]


class InvalidToken(Exception):
    """A ServiceAccount token that does not authenticate; the message is upstream's."""


@dataclass(frozen=True)
class ServiceAccountInfo:
    """apiserverserviceaccount.ServiceAccountInfo: who a valid token speaks for."""

    namespace: str
    name: str
    uid: str
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    credential_id: str = ""

    @property
    def username(self) -> str:
        return make_username(self.namespace, self.name)

    @property
    def groups(self) -> list[str]:
        return make_group_names(self.namespace)

    def extra(self) -> dict[str, list[str]]:
        """ServiceAccountInfo.UserInfo's extra."""
        out: dict[str, list[str]] = {}
        if self.pod_name:
            out[EXTRA_POD_NAME] = [self.pod_name]
            out[EXTRA_POD_UID] = [self.pod_uid]
        if self.node_name:
            out[EXTRA_NODE_NAME] = [self.node_name]
            if self.node_uid:
                out[EXTRA_NODE_UID] = [self.node_uid]
        if self.credential_id:
            out[EXTRA_CREDENTIAL_ID] = [self.credential_id]
        return out


def _ref(obj: Obj | None) -> dict[str, str] | None:
    if obj is None:
        return None
    md = obj.get("metadata") or {}
    return {"name": md.get("name", ""), "uid": md.get("uid", "")}


def claims(issuer: str, account: Obj, *, audiences: Sequence[str], expiration_seconds: int, now: float,
           pod: Obj | None = None, secret: Obj | None = None, node: Obj | None = None,
           jti: str = "") -> Obj:
    """serviceaccount.Claims: the public and private claims of a token for `account`, bound to at
    most one of pod / secret / node (a pod-bound token also names the pod's node, when given)."""
    md = account.get("metadata") or {}
    namespace, name = md.get("namespace", ""), md.get("name", "")
    issued = int(now)
    private: Obj = {"namespace": namespace, "serviceaccount": _ref(account)}
    if pod is not None:
        private["pod"] = _ref(pod)
        if node is not None:
            private["node"] = _ref(node)
    elif secret is not None:
        private["secret"] = _ref(secret)
    elif node is not None:
        private["node"] = _ref(node)
    return {
        "aud": list(audiences),
        "exp": issued + int(expiration_seconds),
        "iat": issued,
        "iss": issuer,
        "jti": jti or meta.new_uid(),
        "kubernetes.io": private,
        "nbf": issued,
        "sub": make_username(namespace, name),
    }


class Lookup(Protocol):
    """The current objects a bound token is checked against (None: not found)."""

    def service_account(self, namespace: str, name: str) -> Obj | None: ...
    def pod(self, namespace: str, name: str) -> Obj | None: ...
    def secret(self, namespace: str, name: str) -> Obj | None: ...
    def node(self, name: str) -> Obj | None: ...


def _deleted_before(obj: Obj, cutoff: float) -> bool:
    ts = meta.parse_time((obj.get("metadata") or {}).get("deletionTimestamp"))
    return ts is not None and ts.timestamp() < cutoff


def _check_bound(kind: str, ref: Obj, found: Obj | None, cutoff: float) -> None:
    """validator.Validate's checks of a bound pod, secret or node."""
    if found is None or _deleted_before(found, cutoff):
        raise InvalidToken("service account token has been invalidated")
    uid = (found.get("metadata") or {}).get("uid", "")
    if ref.get("uid") != uid:
        raise InvalidToken(f"{kind} UID ({uid}) does not match service account {kind} ref claim ({ref.get('uid')})")


def validate(claim_set: Obj, *, issuer: str, audiences: Sequence[str], now: float, lookup: Lookup) -> ServiceAccountInfo:
    """validator.Validate (and the authenticator's issuer and audience checks) for verified claims:
    the ServiceAccountInfo the token speaks for, or InvalidToken with upstream's message."""
    if claim_set.get("iss") != issuer:
        raise InvalidToken("token issuer is not trusted")  # another issuer's token: not ours to judge
    token_auds = claim_set.get("aud")
    token_auds = [token_auds] if isinstance(token_auds, str) else list(token_auds or [])
    if audiences and not set(token_auds) & set(audiences):
        raise InvalidToken(f"token audiences {_go_list(token_auds)} is invalid for the target audiences "
                           f"{_go_list(list(audiences))}")
    exp, nbf = claim_set.get("exp"), claim_set.get("nbf")
    if isinstance(exp, int | float) and now - LEEWAY_SECONDS > exp:
        raise InvalidToken("service account token has expired")
    if isinstance(nbf, int | float) and now + LEEWAY_SECONDS < nbf:
        raise InvalidToken("service account token is not valid yet")
    private = claim_set.get("kubernetes.io")
    if not isinstance(private, dict):
        raise InvalidToken("service account token claims could not be validated due to unexpected private claim")
    namespace = str(private.get("namespace") or "")
    sa_ref = private.get("serviceaccount") or {}
    name = str(sa_ref.get("name") or "")
    cutoff = now - LEEWAY_SECONDS
    account = lookup.service_account(namespace, name)
    if account is None:
        raise InvalidToken(f'serviceaccounts "{name}" not found')
    if _deleted_before(account, cutoff):
        raise InvalidToken(f"service account {namespace}/{name} has been deleted")
    uid = (account.get("metadata") or {}).get("uid", "")
    if uid != sa_ref.get("uid"):
        raise InvalidToken(f"service account UID ({uid}) does not match claim ({sa_ref.get('uid')})")
    info: Obj = {"namespace": namespace, "name": name, "uid": uid}
    secret_ref, pod_ref, node_ref = private.get("secret"), private.get("pod"), private.get("node")
    if isinstance(secret_ref, dict):
        _check_bound("secret", secret_ref, lookup.secret(namespace, str(secret_ref.get("name") or "")), cutoff)
    if isinstance(pod_ref, dict):
        _check_bound("pod", pod_ref, lookup.pod(namespace, str(pod_ref.get("name") or "")), cutoff)
        info.update(pod_name=pod_ref.get("name", ""), pod_uid=pod_ref.get("uid", ""))
    if isinstance(node_ref, dict):
        if pod_ref is None:  # a node-bound token: the node must still be there (ServiceAccountTokenNodeBindingValidation)
            _check_bound("node", node_ref, lookup.node(str(node_ref.get("name") or "")), cutoff)
        info.update(node_name=node_ref.get("name", ""), node_uid=node_ref.get("uid", ""))
    jti = claim_set.get("jti")
    if isinstance(jti, str) and jti:
        info["credential_id"] = f"JTI={jti}"
    return ServiceAccountInfo(**info)


def _go_list(items: list[str]) -> str:
    """%q of a []string: ["a" "b"]."""
    return "[" + " ".join(f'"{i}"' for i in items) + "]"


@dataclass
class TokenIssuer:
    """The cluster's ServiceAccount token issuer (--service-account-issuer, --api-audiences,
    --service-account-signing-key-file): signs tokens and checks them."""

    key: ec.EllipticCurvePrivateKey
    issuer: str
    audiences: tuple[str, ...]
    clock: Callable[[], float] = time.time
    public_key: ec.EllipticCurvePublicKey = field(init=False)

    def __post_init__(self) -> None:
        self.public_key = self.key.public_key()

    def sign(self, claim_set: Obj) -> str:
        return jwt.sign(claim_set, self.key)

    def issued_by_us(self, token: str) -> bool:
        """Whether a token claims our issuer (the authenticator leaves others' JWTs alone)."""
        try:
            return jwt.unverified_claims(token).get("iss") == self.issuer
        except jwt.TokenError:
            return False

    def authenticate(self, token: str, lookup: Lookup, audiences: Sequence[str] | None = None) -> ServiceAccountInfo:
        """The account a token speaks for; InvalidToken when it does not authenticate."""
        try:
            claim_set = jwt.verify(token, self.public_key)
        except jwt.TokenError as e:
            raise InvalidToken(str(e)) from e
        return validate(claim_set, issuer=self.issuer, audiences=self.audiences if audiences is None else audiences,
                        now=self.clock(), lookup=lookup)
