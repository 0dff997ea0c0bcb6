"""JSON Web Tokens as the apiserver's ServiceAccount token issuer writes them: JWS compact
serialisation signed with ES256 (ECDSA P-256, SHA-256), verified against one public key.

Upstream signs with go-jose (pkg/serviceaccount/jwt.go: `JWTTokenGenerator`); the header carries
`alg` and a `kid` derived from the public key (`keyIDFromPublicKey`: base64url of the SHA-256 of
its PKIX DER), so a verifier holding several keys knows which one signed. ES256 is one of the
algorithms the apiserver accepts for `--service-account-signing-key-file`; an EC key is what the
rest of the cluster's PKI uses (tls.py) and costs nothing to generate.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ALGORITHM = "ES256"
_COORD = 32  # bytes of r and of s in a P-256 JWS signature (RFC 7518 §3.4)


class TokenError(Exception):
    """The token is not a JWT signed by our key (malformed, other key, bad signature)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise TokenError("malformed token: bad base64") from e


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """keyIDFromPublicKey: base64url(SHA-256(PKIX DER of the public key))."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def sign(claims: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """The compact JWS of `claims` (header: alg ES256 and the key's kid)."""
    header = {"alg": ALGORITHM, "kid": key_id(key.public_key())}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return signing_input + "." + b64url(r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big"))


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: worth trying as a JWT (upstream's jwtTokenAuthenticator first
    checks the same before parsing)."""
    return token.count(".") == 2


def _parts(token: str) -> list[str]:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token: not a JWS compact serialisation")
    return parts


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except ValueError as e:
        raise TokenError(f"malformed token: the {what} is not JSON") from e
    if not isinstance(value, dict):
        raise TokenError(f"malformed token: the {what} is not an object")
    return value


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload without checking the signature (to see whose token it is, never to trust it)."""
    return _json_object(_parts(token)[1], "payload")


def verify(token: str, public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The claims of a token signed by `public_key`; raises TokenError otherwise."""
    parts = _parts(token)
    if _json_object(parts[0], "header").get("alg") != ALGORITHM:
        raise TokenError("token signed with an unexpected algorithm")
    raw = b64url_decode(parts[2])
    if len(raw) != 2 * _COORD:
        raise TokenError("invalid signature")
    signature = encode_dss_signature(int.from_bytes(raw[:_COORD], "big"), int.from_bytes(raw[_COORD:], "big"))
    try:
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise TokenError("invalid signature") from e
    return unverified_claims(token)
