"""TokenRequest (serviceaccounts/token): defaults, validation and binding, as TokenREST.Create."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from boxk8s import errors
from boxk8s.resources import jwt
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.serviceaccount_token import TokenIssuer
from boxk8s.resources.token_request import check_request, request_token

Obj = dict[str, Any]
ISSUER = "https://kubernetes.default.svc.cluster.local"
NOW = 1_800_000_000.0


class Store:
    def __init__(self, *objs: tuple[str, Obj]) -> None:
        self.objs = {(plural, o["metadata"].get("namespace"), o["metadata"]["name"]): o for plural, o in objs}

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.objs.get((rt.plural, namespace if rt.namespaced else None, name))
        if found is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return found


ACCOUNT = ("serviceaccounts", {"metadata": {"name": "sa", "namespace": "ns", "uid": "sa-uid"}})
POD = ("pods", {"metadata": {"name": "p", "namespace": "ns", "uid": "pod-uid"},
                "spec": {"serviceAccountName": "sa", "nodeName": "n1"}})
OTHER_POD = ("pods", {"metadata": {"name": "q", "namespace": "ns", "uid": "q-uid"},
                      "spec": {"serviceAccountName": "default"}})
NODE = ("nodes", {"metadata": {"name": "n1", "uid": "node-uid"}})


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(ec.generate_private_key(ec.SECP256R1()), ISSUER, (ISSUER,), clock=lambda: NOW)


def test_defaults() -> None:
    assert check_request({})["spec"] == {"expirationSeconds": 3600}
    assert check_request({"spec": {"expirationSeconds": 600}})["spec"]["expirationSeconds"] == 600


@pytest.mark.parametrize(("seconds", "message"), [
    (599, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: '
          "may not specify a duration less than 10 minutes"),
    ((1 << 32) + 1, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: '
                    f"{(1 << 32) + 1}: may not specify a duration larger than 2^32 seconds"),
])
def test_validation(seconds: int, message: str) -> None:
    with pytest.raises(errors.Invalid) as err:
        check_request({"spec": {"expirationSeconds": seconds}})
    assert err.value.message == message


async def test_a_token_bound_to_a_pod_names_the_pod_and_its_node(issuer: TokenIssuer) -> None:
    answer = await request_token(Store(ACCOUNT, POD, NODE), issuer, "ns", "sa", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3607, "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p"}}})
    assert answer["metadata"] == {"name": "sa", "namespace": "ns", "creationTimestamp": None}
    assert answer["spec"]["audiences"] == [ISSUER]
    assert answer["status"]["expirationTimestamp"] == "2027-01-15T09:00:07Z"
    c = jwt.verify(answer["status"]["token"], issuer.public_key)
    assert c["exp"] - c["iat"] == 3607 and c["sub"] == "system:serviceaccount:ns:sa"
    assert c["kubernetes.io"]["pod"] == {"name": "p", "uid": "pod-uid"}
    assert c["kubernetes.io"]["node"] == {"name": "n1", "uid": "node-uid"}


async def test_an_unbound_token_asks_for_its_audiences(issuer: TokenIssuer) -> None:
    answer = await request_token(Store(ACCOUNT), issuer, "ns", "sa", {"spec": {"audiences": ["vault"]}})
    assert answer["spec"] == {"audiences": ["vault"], "expirationSeconds": 3600, "boundObjectRef": None}
    assert jwt.verify(answer["status"]["token"], issuer.public_key)["aud"] == ["vault"]


@pytest.mark.parametrize(("objs", "name", "ref", "error", "message"), [
    ([], "sa", None, errors.NotFound, 'serviceaccounts "sa" not found'),
    ([ACCOUNT], "sa", {"apiVersion": "v1", "kind": "Pod", "name": "p"}, errors.NotFound, 'pods "p" not found'),
    ([ACCOUNT, OTHER_POD], "sa", {"apiVersion": "v1", "kind": "Pod", "name": "q"}, errors.BadRequest,
     'cannot bind token for serviceaccount "sa" to pod running with serviceaccount "default"'),
    ([ACCOUNT, POD], "sa", {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "old"}, errors.Conflict,
     'Operation cannot be fulfilled on Pod "p": the UID in the bound object reference (old) does not match the UID '
     "in record (pod-uid). The object might have been deleted and then recreated"),
    ([ACCOUNT], "sa", {"apiVersion": "v1", "kind": "ConfigMap", "name": "c"}, errors.BadRequest,
     "cannot bind token to object of type /v1, Kind=ConfigMap"),
    ([ACCOUNT], "sa", {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}, errors.BadRequest,
     "cannot bind token to object of type apps/v1, Kind=Deployment"),
])
async def test_refusals(issuer: TokenIssuer, objs: list[tuple[str, Obj]], name: str, ref: Obj | None,
                        error: type[errors.ApiError], message: str) -> None:
    with pytest.raises(error) as err:
        await request_token(Store(*objs), issuer, "ns", name, {"spec": {"boundObjectRef": ref}})
    assert err.value.message == message
