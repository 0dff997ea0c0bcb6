"""The kubelet's projected ServiceAccount tokens (token_manager.go's refresh rule)."""

from __future__ import annotations

from boxk8s.kubelet.tokens import Issued, Source, next_refresh, plan_refresh, token_request, token_sources

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"volumes": [
    {"name": "data", "emptyDir": {}},
    {"name": "kube-api-access-x", "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt"}},
    ]}},
    {"name": "vault", "projected": {"sources": [{"serviceAccountToken": {"audience": "vault", "path": "t"}}]}},
]}}
API = Source("kube-api-access-x", 0, "token", "", 3607)
VAULT = Source("vault", 0, "t", "vault", 3600)


def test_token_sources() -> None:
    assert token_sources(POD) == [API, VAULT]


def test_the_request_binds_the_token_to_the_pod() -> None:
    assert token_request(POD, API) == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
        "audiences": None, "expirationSeconds": 3607,
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u1"}}}
    assert token_request(POD, VAULT)["spec"]["audiences"] == ["vault"]


def test_a_token_is_refreshed_after_80_percent_of_its_life() -> None:
    issued = Issued("t", expires_at=1000 + 3600, expiration_seconds=3600)
    assert issued.refresh_at() == 1000 + 2880
    tokens = {("vault", 0): issued}
    assert plan_refresh([VAULT], tokens, now=1000 + 2879) == []
    assert plan_refresh([VAULT], tokens, now=1000 + 2880) == [VAULT]
    assert plan_refresh([API, VAULT], tokens, now=1000) == [API]  # never asked yet
    assert next_refresh(tokens) == 1000 + 2880
    assert next_refresh({}) is None


def test_a_long_token_is_refreshed_after_a_day() -> None:
    week = 7 * 24 * 3600
    assert Issued("t", expires_at=week, expiration_seconds=week).refresh_at() == 24 * 3600
