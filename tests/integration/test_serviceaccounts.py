"""The ServiceAccount controller and admission plugin through the API (the `api` cluster runs the
controller: the plugin cannot do without it)."""

from __future__ import annotations

from typing import Any

from boxk8s.resources.registry import SYSTEM_NAMESPACES
from tests.integration.conftest import Api, assert_status, pod
from tests.integration.waiting import wait_for_condition


def sa_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/serviceaccounts" + (f"/{name}" if name else "")


async def has_default(api: Api, ns: str) -> dict[str, Any] | None:
    code, body, _ = await api.get(sa_path(ns, "default"))
    return body if code == 200 else None


async def test_default_account_in_every_namespace_and_recreated(api: Api) -> None:
    for ns in SYSTEM_NAMESPACES:
        await wait_for_condition(lambda ns=ns: has_default(api, ns), 10)
    await api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "team"}})
    sa = await wait_for_condition(lambda: has_default(api, "team"), 10)
    assert set(sa) == {"apiVersion", "kind", "metadata"}  # no token Secret since 1.24, nothing else
    await api.ok("DELETE", sa_path("team", "default"))
    again = await wait_for_condition(lambda: has_default(api, "team"), 10)
    assert again["metadata"]["uid"] != sa["metadata"]["uid"]


async def test_pod_in_a_new_namespace_waits_for_its_default_account(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "fresh"}})
    created = await api.ok("POST", "/api/v1/namespaces/fresh/pods", body=pod("p"))
    assert created["spec"]["serviceAccountName"] == "default"


async def test_pod_naming_a_missing_account_is_refused(api: Api) -> None:
    body = pod("p")
    body["spec"]["serviceAccountName"] = "robot"
    code, status, _ = await api.post("/api/v1/namespaces/default/pods", body)
    assert_status(code, status, 403, "Forbidden")
    assert status["message"] == ('pods "p" is forbidden: error looking up service account default/robot: '
                                 'serviceaccount "robot" not found')
    assert status["details"] == {"name": "p", "kind": "pods"}
    await api.ok("POST", sa_path("default"), body={"metadata": {"name": "robot"}})
    created = await api.ok("POST", "/api/v1/namespaces/default/pods", body=body)
    assert created["spec"]["serviceAccountName"] == "robot"
