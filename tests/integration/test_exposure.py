"""Nothing is served without the token: a walk over every path the discovery documents and the
OpenAPI index name (each resource's collection, object and subresources, the streams, watch,
metrics.k8s.io, /version, /openapi/*, paths nobody serves), with every verb, without credentials and
with credentials that do not authenticate. All of it is a 401 whose body is the apiserver's
Unauthorized Status and nothing else; only /healthz, /livez and /readyz answer anonymous requests
(KEP-4633's anonymous conditions). Over the real HTTPS API of an assembled cluster, with RBAC."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from boxk8s.cluster.placement import place
from boxk8s.config import ClusterSettings
from boxk8s.resources import jwt
from tests.integration.test_auth import ISSUER, Cluster
from tests.integration.test_auth import cluster as cluster  # noqa: F401  (the fixture)

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HEALTH = ("/healthz", "/livez", "/readyz")
SECRET_VALUE = "s3cr3t-value-never-served"
NAME_OF = {"namespaces": "team", "serviceaccounts": "reader", "secrets": "leaky", "nodes": "node-1"}
EXTRA = ("/", "/version", "/version/", "/api", "/api/", "/apis", "/apis/", "/openapi/v2", "/openapi/v3",
         "/openapi/v3/", "/metrics", "/logs", "/logs/kube.log", "/debug/pprof/", "/ui", "/no/such/path",
         "/api/v1/namespaces/team/secrets?watch=true", "/api/v1/watch/namespaces/team/secrets",
         "/api/v1/secrets?labelSelector=a%3Db", "/healthz/etcd", "/livez/ping", "/readyz/ping")


def forged_token() -> str:
    """A ServiceAccount-shaped JWT from our issuer's name, signed by another key."""
    claims = {"iss": ISSUER, "sub": "system:serviceaccount:team:reader", "aud": [ISSUER],
              "exp": 4_000_000_000, "iat": 1_700_000_000, "nbf": 1_700_000_000,
              "kubernetes.io": {"namespace": "team", "serviceaccount": {"name": "reader", "uid": "x"}}}
    return jwt.sign(claims, ec.generate_private_key(ec.SECP256R1()))


BAD_CREDENTIALS: tuple[dict[str, str], ...] = (
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": "Bearer "},  # no token at all
    {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()},  # not a bearer credential
)


async def served_paths(c: Cluster) -> list[str]:
    """Every path the discovery documents and the OpenAPI index name, filled with real names."""
    paths: list[str] = []
    versions = [f"/api/{v}" for v in (await c.ok("GET", "/api"))["versions"]]
    for group in (await c.ok("GET", "/apis"))["groups"]:
        paths.append(f"/apis/{group['name']}")
        versions += [f"/apis/{v['groupVersion']}" for v in group["versions"]]
    for gv in versions:
        paths.append(gv)
        for res in (await c.ok("GET", gv))["resources"]:
            plural, _, sub = res["name"].partition("/")
            name = NAME_OF.get(plural, "x")
            base = f"{gv}/namespaces/team/{plural}" if res["namespaced"] else f"{gv}/{plural}"
            one = f"{base}/{name}"
            if sub:
                paths += [f"{one}/{sub}", f"{one}/{sub}?follow=true", f"{one}/{sub}?command=ls&stdout=true"]
            else:
                paths += [base, one, f"{base}?watch=true", f"{gv}/watch/{plural}"]
                if res["namespaced"]:
                    paths += [f"{gv}/{plural}"]  # across namespaces
    index = await c.ok("GET", "/openapi/v3")
    paths += [entry["serverRelativeURL"] for entry in index["paths"].values()]
    return sorted(set(paths + list(EXTRA)))


async def refused(c: Cluster, method: str, path: str, headers: dict[str, str]) -> str:
    """'' when the request gets exactly the Unauthorized Status, else what it got instead."""
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    kw: dict[str, Any] = {"data": body, "headers": {**headers, "Content-Type": "application/json"}}
    if method == "PATCH":
        kw["headers"]["Content-Type"] = "application/merge-patch+json"
    async with c.session.request(method, path, **kw) as resp:
        raw = await resp.read()
    where = f"{method} {path} {headers}"
    if resp.status != 401:
        return f"{where}: {resp.status} {raw[:200]!r}"
    if SECRET_VALUE.encode() in raw or base64.b64encode(SECRET_VALUE.encode()) in raw:
        return f"{where}: the Secret's value in the body"
    if method == "HEAD":
        return "" if not raw else f"{where}: a body to HEAD"
    if resp.content_type != "application/json" or json.loads(raw) != UNAUTHORIZED:
        return f"{where}: {resp.content_type} {raw[:200]!r}"
    return ""


async def refuse_all(c: Cluster, requests: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    wrong: list[str] = []
    for i in range(0, len(requests), 32):  # a few at a time: the walk takes seconds, not minutes
        found = await asyncio.gather(*(refused(c, *r) for r in requests[i:i + 32]))
        wrong += [f for f in found if f]
    return wrong


async def test_every_path_and_verb_needs_the_token(cluster: Cluster) -> None:
    c = cluster
    await c.ok("POST", "/api/v1/namespaces/team/secrets",
               {"metadata": {"name": "leaky"}, "stringData": {"password": SECRET_VALUE}})
    paths = await served_paths(c)
    assert {"/api/v1/namespaces/team/pods/x/exec?command=ls&stdout=true", "/api/v1/namespaces/team/secrets/leaky",
            "/apis/metrics.k8s.io/v1beta1/namespaces/team/pods/x", "/api/v1/nodes/node-1/proxy",
            "/api/v1/namespaces/team/pods/x/portforward?command=ls&stdout=true"} <= set(paths)
    assert len(paths) > 400, len(paths)
    credentials = ({}, *BAD_CREDENTIALS, {"Authorization": f"Bearer {forged_token()}"})
    requests = [(m, p, h) for p in paths for m in VERBS for h in credentials]
    wrong = await refuse_all(c, requests)
    assert not wrong, f"{len(wrong)} of {len(requests)} requests were not refused:\n" + "\n".join(wrong[:20])


async def test_streams_and_upgrades_need_the_token(cluster: Cluster) -> None:
    """exec, attach and port-forward as kubectl opens them (a WebSocket upgrade, then SPDY), a log that
    follows, and a watch: refused before anything is upgraded or streamed."""
    ws = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    pod = "/api/v1/namespaces/team/pods/x"
    upgrades = [
        ("GET", f"{pod}/exec?command=sh&stdin=true&stdout=true&tty=true",
         {**ws, "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}),
        ("GET", f"{pod}/attach?stdout=true", {**ws, "Sec-WebSocket-Protocol": "v4.channel.k8s.io"}),
        ("GET", f"{pod}/portforward?ports=80", {**ws, "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io"}),
        ("POST", f"{pod}/exec?command=sh&stdout=true", {"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                                         "X-Stream-Protocol-Version": "v4.channel.k8s.io"}),
        ("POST", f"{pod}/portforward", {"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                        "X-Stream-Protocol-Version": "portforward.k8s.io"}),
        ("GET", f"{pod}/log?follow=true", {}),
        ("GET", "/api/v1/namespaces/team/secrets?watch=true&allowWatchBookmarks=true", {}),
        ("GET", "/apis/metrics.k8s.io/v1beta1/nodes", {}),
    ]
    requests = [(m, p, {**h, **cred}) for m, p, h in upgrades for cred in ({}, *BAD_CREDENTIALS)]
    assert not await refuse_all(cluster, requests)
    # and with the token the same watch is served (the walk above refused a working endpoint)
    async with cluster.session.get("/api/v1/namespaces/team/secrets?watch=true&timeoutSeconds=1",
                                   headers={"Authorization": f"Bearer {cluster.admin}"}) as resp:
        assert resp.status == 200


async def test_only_the_health_paths_answer_anonymous_requests(cluster: Cluster) -> None:
    for path in HEALTH:
        async with cluster.session.get(path) as resp:
            assert (resp.status, await resp.text()) == (200, "ok"), path
        for headers in ({"Authorization": f"Bearer {cluster.admin}"}, {"Authorization": "Basic eDp5"}):
            async with cluster.session.get(path, headers=headers) as resp:
                assert resp.status == 200, (path, headers)
        # a bearer token that does not authenticate is a 401 there too, never anonymous
        # (union.NewFailOnError before the anonymous authenticator)
        async with cluster.session.get(path, headers={"Authorization": "Bearer wrong"}) as resp:
            assert (resp.status, await resp.json()) == (401, UNAUTHORIZED), path


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
async def test_up_warns_when_asked_to_listen_off_loopback(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                          host: str) -> None:
    """`boxk8s up --host` is 127.0.0.1 by default (the API, the NodePorts and the Ingress proxy listen
    there); another address gets one warning line in the log (stderr, or boxk8s.log with -d)."""
    assert ClusterSettings(state_dir=tmp_path).host == "127.0.0.1"
    settings = ClusterSettings(state_dir=tmp_path, host=host, nodes=0, pod_subnet="10.99.0.0/16",
                               write_kubeconfig=False)
    with caplog.at_level(logging.WARNING, logger="boxk8s.cluster.placement"):
        placed = await place(settings)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert placed.host == host
    if host == "127.0.0.1":
        assert warnings == []
    else:
        assert warnings == ["listening on 0.0.0.0, not 127.0.0.1: other machines can reach the API (it asks for "
                            "the token), NodePort Services and the Ingress proxy (they ask for nothing)"]
