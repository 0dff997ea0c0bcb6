"""ResourceQuota through the API: the controller's status, admission's refusals and charges,
consistent under concurrent creates, and usage given back when objects go or finish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.controllers.resourcequota import ResourceQuotaController
from tests.integration.conftest import PODS, SVCS, Api, assert_status, running_api
from tests.integration.waiting import wait_for_condition

QUOTAS = "/api/v1/namespaces/default/resourcequotas"
CMS = "/api/v1/namespaces/default/configmaps"
DEADLINE = 10.0


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path, controllers=[ResourceQuotaController]) as a:
        yield a


def quota(name: str, hard: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": {"hard": hard, **spec}}


def pod(name: str, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
        **spec: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": "busybox", "resources": resources}], **spec}}


async def status_of(api: Api, name: str, **used: str) -> dict[str, Any] | None:
    """The quota's status once the controller has measured it (and, if given, once used is this)."""
    q = await api.ok("GET", f"{QUOTAS}/{name}")
    status = q.get("status") or {}
    if status.get("hard") != q["spec"]["hard"] or set(status.get("used") or {}) != set(q["spec"]["hard"]):
        return None
    return status if all(status["used"].get(k) == v for k, v in used.items()) else None


async def test_status_refusals_and_charges(api: Api) -> None:
    await api.ok("POST", PODS, body=pod("before", {"cpu": "300m"}, {"memory": "64Mi"}))
    await api.ok("POST", QUOTAS, body=quota("q", {"pods": "3", "requests.cpu": "1", "limits.memory": "1Gi"}))
    status = await wait_for_condition(lambda: status_of(api, "q"), DEADLINE)
    assert status == {"hard": {"pods": "3", "requests.cpu": "1", "limits.memory": "1Gi"},
                      "used": {"pods": "1", "requests.cpu": "300m", "limits.memory": "64Mi"}}

    code, body, _ = await api.post(PODS, pod("bare"))
    assert_status(code, body, 403, "Forbidden")
    assert body["message"] == ('pods "bare" is forbidden: failed quota: q: '
                               "must specify limits.memory for: main; requests.cpu for: main")

    await api.ok("POST", PODS, body=pod("p1", {"cpu": "500m"}, {"memory": "128Mi"}))
    charged = (await api.ok("GET", f"{QUOTAS}/q"))["status"]["used"]
    assert charged == {"pods": "2", "requests.cpu": "800m", "limits.memory": "192Mi"}  # charged by admission

    code, body, _ = await api.post(PODS, pod("p2", {"cpu": "500m"}, {"memory": "128Mi"}))
    assert_status(code, body, 403, "Forbidden")
    assert body["message"] == ('pods "p2" is forbidden: exceeded quota: q, requested: requests.cpu=500m, '
                               "used: requests.cpu=800m, limited: requests.cpu=1")
    assert body["details"] == {"name": "p2", "kind": "pods"}

    # a dry run is checked, not charged
    await api.ok("POST", PODS, body=pod("dry", {"cpu": "100m"}, {"memory": "1Mi"}), params={"dryRun": "All"})
    assert (await api.ok("GET", f"{QUOTAS}/q"))["status"]["used"] == charged

    # deleting gives the usage back (the controller's replenishment)
    await api.ok("DELETE", f"{PODS}/p1")
    await wait_for_condition(lambda: status_of(api, "q", pods="1", **{"requests.cpu": "300m"}), DEADLINE)
    await api.ok("POST", PODS, body=pod("p2", {"cpu": "500m"}, {"memory": "128Mi"}))


async def test_concurrent_creates_never_exceed(api: Api) -> None:
    await api.ok("POST", QUOTAS, body=quota("count", {"count/configmaps": "5", "configmaps": "5"}))
    await wait_for_condition(lambda: status_of(api, "count"), DEADLINE)
    results = await asyncio.gather(*(api.post(CMS, {"metadata": {"name": f"cm-{i}"}, "data": {"k": "v"}})
                                     for i in range(20)))
    codes = sorted(code for code, _, _ in results)
    assert codes == [201] * 5 + [403] * 15, codes
    refused = next(body for code, body, _ in results if code == 403)
    assert refused["message"].endswith(
        "is forbidden: exceeded quota: count, requested: configmaps=1,count/configmaps=1, "
        "used: configmaps=5,count/configmaps=5, limited: configmaps=5,count/configmaps=5")
    status = await wait_for_condition(lambda: status_of(api, "count"), DEADLINE)
    assert status["used"] == {"count/configmaps": "5", "configmaps": "5"}


async def test_services_node_ports_and_terminal_pods(api: Api) -> None:
    await api.ok("POST", QUOTAS, body=quota("svc", {"services": "2", "services.nodeports": "1",
                                                     "services.loadbalancers": "0"}))
    await wait_for_condition(lambda: status_of(api, "svc"), DEADLINE)
    node_port = {"metadata": {"name": "np"},
                 "spec": {"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}
    code, body, _ = await api.post(SVCS, node_port)
    assert body["message"] == ('services "np" is forbidden: exceeded quota: svc, requested: services.nodeports=2, '
                               "used: services.nodeports=0, limited: services.nodeports=1")
    await api.ok("POST", SVCS, body={"metadata": {"name": "plain"}, "spec": {"ports": [{"port": 80}]}})
    code, body, _ = await api.patch(f"{SVCS}/plain", {"spec": {"type": "LoadBalancer"}}, "application/merge-patch+json")
    assert code == 403 and body["message"] == (  # only what is exceeded is named: one node port still fits
        'services "plain" is forbidden: exceeded quota: svc, requested: services.loadbalancers=1, '
        "used: services.loadbalancers=0, limited: services.loadbalancers=0")

    await api.ok("POST", QUOTAS, body=quota("pods", {"pods": "1", "count/pods": "2"}))
    await wait_for_condition(lambda: status_of(api, "pods"), DEADLINE)
    await api.ok("POST", PODS, body=pod("job"))
    done = await api.ok("GET", f"{PODS}/job")
    done["status"] = {"phase": "Succeeded"}
    await api.ok("PUT", f"{PODS}/job/status", body=done)
    # a finished pod stops counting as `pods`, not as `count/pods`
    await wait_for_condition(lambda: status_of(api, "pods", pods="0", **{"count/pods": "1"}), DEADLINE)
    await api.ok("POST", PODS, body=pod("next"))


async def test_custom_resources_are_counted(tmp_path: Path) -> None:
    """count/<plural>.<group> of a CRD's kind: measured by the controller, charged and refused by
    admission, given back when one is deleted (the controller watches the kinds CRDs serve)."""
    from boxk8s.controllers.crd import CRDController
    from tests.integration.crd_fixtures import WIDGETS, crd_env, install, widget, widget_crd

    async with crd_env(tmp_path, [CRDController, ResourceQuotaController]) as env:
        api = env.api
        await install(api, widget_crd())
        await api.ok("POST", WIDGETS, body=widget("one"))
        await api.ok("POST", QUOTAS, body=quota("crs", {"count/widgets.example.com": "2"}))
        await wait_for_condition(lambda: status_of(api, "crs", **{"count/widgets.example.com": "1"}), DEADLINE)
        await api.ok("POST", WIDGETS, body=widget("two"))
        code, body, _ = await api.post(WIDGETS, widget("three"))
        assert_status(code, body, 403, "Forbidden")
        assert body["message"] == ('widgets.example.com "three" is forbidden: exceeded quota: crs, requested: '
                                   'count/widgets.example.com=1, used: count/widgets.example.com=2, '
                                   'limited: count/widgets.example.com=2')
        await api.ok("DELETE", f"{WIDGETS}/one")
        await wait_for_condition(lambda: status_of(api, "crs", **{"count/widgets.example.com": "1"}), DEADLINE)
        await api.ok("POST", WIDGETS, body=widget("three"))
