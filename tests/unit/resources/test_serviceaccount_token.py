"""ServiceAccount tokens: the JWT, the claims of pkg/serviceaccount/claims.go and the validator's
checks (its claims_test.go cases: expiry with leeway, a deleted or recreated account, pod or secret)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from boxk8s.resources import jwt
from boxk8s.resources.meta import format_timestamp
from boxk8s.resources.serviceaccount_token import (
    InvalidToken,
    ServiceAccountInfo,
    TokenIssuer,
    claims,
    split_username,
    validate,
)

Obj = dict[str, Any]
NOW = 1_800_000_000.0
ISSUER = "https://kubernetes.default.svc.cluster.local"


def obj(name: str, uid: str, namespace: str = "ns", **md: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": namespace, "uid": uid, **md}}


ACCOUNT = obj("sa", "sa-uid")
POD = {**obj("p", "pod-uid"), "spec": {"serviceAccountName": "sa", "nodeName": "n1"}}
SECRET = obj("s", "secret-uid")
NODE = {"metadata": {"name": "n1", "uid": "node-uid"}}


class Objects:
    def __init__(self, *found: Obj) -> None:
        self.found = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in found}

    def service_account(self, namespace: str, name: str) -> Obj | None:
        return self.found.get((namespace, name))

    def pod(self, namespace: str, name: str) -> Obj | None:
        return self.found.get((namespace, name))

    def secret(self, namespace: str, name: str) -> Obj | None:
        return self.found.get((namespace, name))

    def node(self, name: str) -> Obj | None:
        return self.found.get(("", name))


def check(claim_set: Obj, *found: Obj, now: float = NOW, audiences: tuple[str, ...] = (ISSUER,)) -> ServiceAccountInfo:
    return validate(claim_set, issuer=ISSUER, audiences=audiences, now=now, lookup=Objects(*found))


def test_claims_as_upstream_writes_them() -> None:
    c = claims(ISSUER, ACCOUNT, audiences=[ISSUER], expiration_seconds=3607, now=NOW, pod=POD, node=NODE, jti="j")
    assert c == {
        "aud": [ISSUER], "exp": int(NOW) + 3607, "iat": int(NOW), "iss": ISSUER, "jti": "j", "nbf": int(NOW),
        "sub": "system:serviceaccount:ns:sa",
        "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "sa-uid"},
                          "pod": {"name": "p", "uid": "pod-uid"}, "node": {"name": "n1", "uid": "node-uid"}},
    }
    secret_bound = claims(ISSUER, ACCOUNT, audiences=["a"], expiration_seconds=600, now=NOW, secret=SECRET)
    assert secret_bound["kubernetes.io"]["secret"] == {"name": "s", "uid": "secret-uid"}
    assert "pod" not in secret_bound["kubernetes.io"]


def test_a_valid_pod_bound_token_speaks_for_its_account() -> None:
    info = check(claims(ISSUER, ACCOUNT, audiences=[ISSUER], expiration_seconds=3600, now=NOW, pod=POD, node=NODE,
                        jti="abc"), ACCOUNT, POD)
    assert info.username == "system:serviceaccount:ns:sa"
    assert info.groups == ["system:serviceaccounts", "system:serviceaccounts:ns"]
    assert info.extra() == {
        "authentication.kubernetes.io/pod-name": ["p"], "authentication.kubernetes.io/pod-uid": ["pod-uid"],
        "authentication.kubernetes.io/node-name": ["n1"], "authentication.kubernetes.io/node-uid": ["node-uid"],
        "authentication.kubernetes.io/credential-id": ["JTI=abc"]}


def deleted(o: Obj, at: float) -> Obj:
    return {**o, "metadata": {**o["metadata"], "deletionTimestamp": format_timestamp(at)}}


def token(**kw: Any) -> Obj:
    return claims(ISSUER, ACCOUNT, audiences=kw.pop("audiences", [ISSUER]), expiration_seconds=kw.pop("exp", 3600),
                  now=kw.pop("issued", NOW), **kw)


@pytest.mark.parametrize(("claim_set", "found", "now", "message"), [
    (token(issued=NOW - 3600 - 61), [ACCOUNT], NOW, "service account token has expired"),
    (token(issued=NOW + 61), [ACCOUNT], NOW, "service account token is not valid yet"),
    (token(), [], NOW, 'serviceaccounts "sa" not found'),
    (token(), [obj("sa", "other-uid")], NOW, "service account UID (other-uid) does not match claim (sa-uid)"),
    (token(), [deleted(ACCOUNT, NOW - 120)], NOW, "service account ns/sa has been deleted"),
    (token(pod=POD), [ACCOUNT], NOW, "service account token has been invalidated"),
    (token(pod=POD), [ACCOUNT, deleted(POD, NOW - 61)], NOW, "service account token has been invalidated"),
    (token(pod=POD), [ACCOUNT, {**POD, "metadata": {**POD["metadata"], "uid": "new"}}], NOW,
     "pod UID (new) does not match service account pod ref claim (pod-uid)"),
    (token(secret=SECRET), [ACCOUNT], NOW, "service account token has been invalidated"),
    (token(node=NODE), [ACCOUNT], NOW, "service account token has been invalidated"),
    (token(audiences=["https://vault"]), [ACCOUNT], NOW,
     f'token audiences ["https://vault"] is invalid for the target audiences ["{ISSUER}"]'),
])
def test_refused(claim_set: Obj, found: list[Obj], now: float, message: str) -> None:
    with pytest.raises(InvalidToken) as err:
        check(claim_set, *found, now=now)
    assert str(err.value) == message


def test_leeway_of_a_minute() -> None:
    check(token(issued=NOW - 3600 - 59), ACCOUNT)  # expired 59 s ago: still accepted
    check(token(pod=POD), ACCOUNT, deleted(POD, NOW - 30))  # a pod deleting for 30 s: still accepted
    check(token(secret=SECRET), ACCOUNT, SECRET)
    check(token(node=NODE), ACCOUNT, NODE)


def test_another_issuer_is_not_ours() -> None:
    with pytest.raises(InvalidToken):
        validate({**token(), "iss": "https://elsewhere"}, issuer=ISSUER, audiences=(ISSUER,), now=NOW,
                 lookup=Objects(ACCOUNT))


def test_signed_tokens_verify_only_with_their_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = TokenIssuer(key, ISSUER, (ISSUER,), clock=lambda: NOW)
    signed = issuer.sign(token())
    header = jwt._json_object(signed.split(".")[0], "header")
    assert header == {"alg": "ES256", "kid": jwt.key_id(key.public_key())}
    assert issuer.authenticate(signed, Objects(ACCOUNT)).name == "sa"
    assert issuer.issued_by_us(signed)
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(jwt.TokenError):
        jwt.verify(signed, other.public_key())
    head, payload, sig = signed.split(".")
    forged = jwt.b64url(b'{"iss":"' + ISSUER.encode() + b'","sub":"system:serviceaccount:ns:admin"}')
    with pytest.raises(InvalidToken):
        issuer.authenticate(f"{head}.{forged}.{sig}", Objects(ACCOUNT))
    assert not issuer.issued_by_us("not-a-jwt")


@pytest.mark.parametrize(("username", "expected"), [
    ("system:serviceaccount:ns:sa", ("ns", "sa")),
    ("system:serviceaccount:ns:sa.with.dots", ("ns", "sa.with.dots")),
    ("system:serviceaccount:ns", None),
    ("system:serviceaccount:ns:sa:extra", None),
    ("system:serviceaccount:NS:sa", None),
    ("system:serviceaccounts:ns", None),
    ("jane", None),
])
def test_split_username(username: str, expected: tuple[str, str] | None) -> None:
    assert split_username(username) == expected
