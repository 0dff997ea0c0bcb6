"""The `serviceaccounts/token` subresource (TokenRequest), as upstream's
pkg/registry/core/serviceaccount/storage/token.go: a bound ServiceAccount token, signed by the
cluster's issuer (serviceaccount_token.TokenIssuer), never stored.

The HTTP API (`kubectl create token`) and the kubelet (the projected token of every pod) both come
here, through the resource layer, so what they get is the same. Upstream's
`--service-account-extend-token-expiration` (a kubelet's 3607 s token silently valid for a year)
is not done: a token lives as long as it says, and the kubelet refreshes it.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from boxk8s import errors
from boxk8s.resources import field_errors, meta, registry
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.serviceaccount_token import DEFAULT_EXPIRATION_SECONDS, TokenIssuer, claims

Obj = dict[str, Any]

API_VERSION, KIND = "authentication.k8s.io/v1", "TokenRequest"
MIN_EXPIRATION_SECONDS = 10 * 60
MAX_EXPIRATION_SECONDS = 1 << 32


class Reader(Protocol):
    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj: ...


def _rt(plural: str) -> ResourceType:
    rt = registry.find("", "v1", plural)
    assert rt is not None
    return rt


def check_request(body: Any) -> Obj:
    """Decode and default a TokenRequest body (SetDefaults_TokenRequestSpec), then validate it
    (ValidateTokenRequest); 400 or 422 with the apiserver's messages."""
    if not isinstance(body, dict):
        raise errors.BadRequest("the body of the request was in an unknown format: expected a TokenRequest object")
    if body.get("apiVersion") not in (None, API_VERSION) or body.get("kind") not in (None, KIND):
        raise errors.BadRequest(f"the API version in the data ({body.get('apiVersion')}) and kind ({body.get('kind')}) "
                                f"do not match the expected {API_VERSION}, Kind={KIND}")
    request = copy.deepcopy(body)
    spec = request.get("spec")
    if spec is None:
        spec = request["spec"] = {}
    if not isinstance(spec, dict):
        raise errors.BadRequest("TokenRequest.spec: expected an object")
    expiration = spec.get("expirationSeconds")
    if expiration is None:
        expiration = spec["expirationSeconds"] = DEFAULT_EXPIRATION_SECONDS
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        raise errors.BadRequest(f"TokenRequest.spec.expirationSeconds: expected an integer, got {expiration!r}")
    audiences = spec.get("audiences")
    if audiences is not None and (not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences)):
        raise errors.BadRequest("TokenRequest.spec.audiences: expected a list of strings")
    problems = []
    if expiration < MIN_EXPIRATION_SECONDS:
        problems.append(field_errors.invalid("spec.expirationSeconds", expiration,
                                             "may not specify a duration less than 10 minutes"))
    if expiration > MAX_EXPIRATION_SECONDS:
        problems.append(field_errors.invalid("spec.expirationSeconds", expiration,
                                             "may not specify a duration larger than 2^32 seconds"))
    if problems:
        name = (request.get("metadata") or {}).get("name") or ""
        raise errors.invalid("authentication.k8s.io", KIND, name, [p.cause() for p in problems])
    return request


async def _get_or_none(api: Reader, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
    try:
        return await api.get(rt, namespace, name)
    except errors.NotFound:
        return None


async def _bound_objects(api: Reader, namespace: str, account: str, ref: Obj) -> tuple[Obj | None, Obj | None, Obj | None]:
    """(pod, secret, node) named by spec.boundObjectRef, checked as TokenREST.Create does."""
    api_version, kind, name = ref.get("apiVersion") or "", ref.get("kind") or "", ref.get("name") or ""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    version = api_version.rpartition("/")[2]
    pod = secret = node = None
    if group == "" and kind == "Pod":
        pod = await api.get(_rt("pods"), namespace, name)
        runs_as = (pod.get("spec") or {}).get("serviceAccountName") or ""
        if runs_as != account:
            raise errors.BadRequest(f'cannot bind token for serviceaccount "{account}" to pod running with '
                                    f'serviceaccount "{runs_as}"')
        found = pod
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if node_name:  # ServiceAccountTokenPodNodeInfo: a pod's token also names its node
            node = await _get_or_none(api, _rt("nodes"), None, node_name)
    elif group == "" and kind == "Secret":
        found = secret = await api.get(_rt("secrets"), namespace, name)
    elif group == "" and kind == "Node":
        found = node = await api.get(_rt("nodes"), None, name)
    else:
        raise errors.BadRequest(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    uid = (found.get("metadata") or {}).get("uid", "")
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.Conflict(
            f'Operation cannot be fulfilled on {kind} "{name}": the UID in the bound object reference '
            f"({ref['uid']}) does not match the UID in record ({uid}). The object might have been deleted and "
            "then recreated", name=name, kind=kind)
    return pod, secret, node


async def request_token(api: Reader, issuer: TokenIssuer | None, namespace: str, name: str, body: Any) -> Obj:
    """TokenREST.Create: the TokenRequest with its status (token, expirationTimestamp)."""
    if issuer is None:
        raise errors.InternalError("the ServiceAccount token issuer is not configured")
    request = check_request(body)
    account = await api.get(_rt("serviceaccounts"), namespace, name)
    spec = request["spec"]
    ref = spec.get("boundObjectRef")
    pod = secret = node = None
    if isinstance(ref, dict):
        pod, secret, node = await _bound_objects(api, namespace, name, ref)
    if not spec.get("audiences"):
        spec["audiences"] = list(issuer.audiences)
    now = issuer.clock()
    claim_set = claims(issuer.issuer, account, audiences=spec["audiences"], expiration_seconds=spec["expirationSeconds"],
                       now=now, pod=pod, secret=secret, node=node)
    spec.setdefault("boundObjectRef", None)
    md = request.get("metadata") or {}
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {**{k: v for k, v in md.items() if k not in ("name", "namespace")},
                     "name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": spec,
        "status": {"token": issuer.sign(claim_set), "expirationTimestamp": meta.format_timestamp(claim_set["exp"])},
    }
