"""/livez, /readyz, /healthz and /metrics over the HTTPS API of an assembled cluster with RBAC: the
apiserver's texts, per-check paths, who may read what (system:monitoring), and /metrics parsed by
prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_auth import (
    RBAC,
    READER,
    SA_SUBJECT,
    Cluster,
    binding,
    eventually,
    secured_cluster,
)

LIVEZ = "[+]ping ok\n[+]log ok\n[+]etcd ok\n"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with secured_cluster(tmp_path) as c:
        yield c


async def text(cluster: Cluster, path: str, token: str | None = None) -> tuple[int, str]:
    code, body = await cluster.call("GET", path, token=token)
    return code, body.decode() if isinstance(body, bytes) else body


async def test_health_paths_as_the_apiserver_prints_them(cluster: Cluster) -> None:
    await cluster.c.informers.wait_synced()
    assert await text(cluster, "/livez") == (200, "ok")  # anyone, even anonymous
    assert await text(cluster, "/healthz?verbose") == (200, LIVEZ + "healthz check passed\n")
    assert await text(cluster, "/livez?verbose") == (200, LIVEZ + "livez check passed\n")
    assert await text(cluster, "/readyz?verbose") == (200, LIVEZ + (
        "[+]informer-sync ok\n[+]poststarthook/rbac/bootstrap-roles ok\n[+]shutdown ok\nreadyz check passed\n"))
    assert await text(cluster, "/readyz?verbose&exclude=etcd&exclude=nope") == (200, (
        "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n[+]informer-sync ok\n[+]poststarthook/rbac/bootstrap-roles ok\n"
        "[+]shutdown ok\n"
        'warn: some health checks cannot be excluded: no matches for "nope"\nreadyz check passed\n'))
    # one check per path, for who may see it (the admin here)
    assert await text(cluster, "/livez/etcd", token="admin") == (200, "ok")
    assert await text(cluster, "/readyz/poststarthook/rbac/bootstrap-roles", token="admin") == (200, "ok")
    assert (await cluster.call("GET", "/livez/nope", token="admin"))[0] == 404


async def test_a_failing_check_fails_the_path_and_withholds_its_reason(cluster: Cluster) -> None:
    store = cluster.c.store
    writer = store._writer  # noqa: SLF001 - the state the etcd check reads
    writer.running = False  # as if the store's writer had died
    try:
        code, body = await text(cluster, "/livez")
        assert (code, body) == (500, "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nlivez check failed\n")
        assert await text(cluster, "/livez?exclude=etcd") == (200, "ok")
        assert await text(cluster, "/livez/etcd", token="admin") == (
            500, "internal server error: the store's writer is not running\n")
    finally:
        writer.running = True


async def test_metrics_need_system_monitoring_and_parse(cluster: Cluster) -> None:
    code, body = await cluster.call("GET", "/metrics", token=None)
    assert (code, body["message"]) == (401, "Unauthorized")  # anonymous requests: the health paths only
    token = await cluster.token("team", "reader")
    code, body = await cluster.call("GET", "/metrics", token=token)
    assert (code, body["message"]) == (403, f'forbidden: User "{READER}" cannot get path "/metrics"')
    assert (await cluster.call("GET", "/livez/etcd", token=token))[0] == 403
    await cluster.ok("POST", f"{RBAC}/clusterrolebindings",
                     binding("monitoring", "ClusterRole", "system:monitoring", SA_SUBJECT, namespace=""))

    async def allowed() -> bool:
        return (await cluster.call("GET", "/metrics", token=token))[0] == 200
    await eventually(allowed)
    assert await text(cluster, "/livez/etcd", token=token) == (200, "ok")

    for i in range(3):
        await cluster.ok("POST", "/api/v1/namespaces/team/configmaps", {"metadata": {"name": f"c{i}"}})
    await cluster.ok("GET", "/api/v1/namespaces/team/configmaps")
    assert (await cluster.call("GET", "/api/v1/namespaces/team/configmaps/nope"))[0] == 404
    await cluster.ok("POST", "/api/v1/namespaces/team/configmaps?dryRun=All", {"metadata": {"name": "dry"}})

    code, body = await cluster.call("GET", "/metrics", token=token)
    metrics = {f.name: f for f in text_string_to_metric_families(body.decode())}
    samples = _samples(metrics)

    def request(verb: str, resource: str, scope: str, code: str, dry_run: str = "") -> float:
        return samples["apiserver_request_total"].get(
            (("code", code), ("component", "apiserver"), ("dry_run", dry_run), ("group", ""), ("resource", resource),
             ("scope", scope), ("subresource", ""), ("verb", verb), ("version", "v1")), 0)

    assert request("POST", "configmaps", "resource", "201") == 3
    assert request("LIST", "configmaps", "namespace", "200") == 1
    assert request("GET", "configmaps", "resource", "404") == 1
    assert request("POST", "configmaps", "resource", "201", dry_run="All") == 1
    assert metrics["apiserver_request_duration_seconds"].type == "histogram"
    count = samples["apiserver_request_duration_seconds_count"]
    assert count[(("component", "apiserver"), ("dry_run", ""), ("group", ""), ("resource", "configmaps"),
                  ("scope", "resource"), ("subresource", ""), ("verb", "POST"), ("version", "v1"))] == 3
    assert samples["apiserver_storage_objects"][(("resource", "configmaps"),)] >= 3
    assert samples["apiserver_storage_objects"][(("resource", "clusterroles.rbac.authorization.k8s.io"),)] > 0
    assert (("name", "scheduler"),) in samples["workqueue_depth"]
    assert samples["workqueue_adds_total"][(("name", "scheduler"),)] >= 0
    assert {k[0][1] for k in samples["apiserver_current_inflight_requests"]} == {"readOnly", "mutating"}
    assert samples["process_resident_memory_bytes"][()] > 0
    assert "apiserver_longrunning_requests" in metrics


def _samples(metrics: dict[str, Any]) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in metrics.values():
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out
