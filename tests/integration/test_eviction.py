"""POST pods/NAME/eviction over HTTP: the codes, Status bodies and side effects of the apiserver's EvictionREST.

The PDBs' statuses are written here through their status subresource (no disruption controller
runs), so each case pins the budget the eviction sees.
"""

from __future__ import annotations

import asyncio
from typing import Any

from boxk8s.api.protobuf import MAGIC, PROTOBUF, message_class
from tests.integration.conftest import PODS, Api, assert_status

PDBS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def eviction(name: str, api_version: str = "policy/v1", **delete_options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": api_version, "kind": "Eviction",
                            "metadata": {"name": name, "namespace": "default"}}
    if delete_options:
        body["deleteOptions"] = delete_options
    return body


async def running_pod(api: Api, name: str, *, ready: bool = True, phase: str = "Running", node: str = "",
                      labels: dict[str, str] | None = None, grace: int = 30) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}], "terminationGracePeriodSeconds": grace}
    if node:
        spec["nodeName"] = node  # bound: its deletion is graceful (the kubelet would finish it)
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": "web"}},
            "spec": spec}
    pod = await api.ok("POST", PODS, body=body)
    pod["status"] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return await api.ok("PUT", f"{PODS}/{name}/status", body=pod)


async def budget(api: Api, name: str = "web", *, allowed: int = 1, current: int = 3, desired: int = 2,
                 selector: dict[str, Any] | None = None, policy: str = "", observed: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"minAvailable": desired, "selector": selector or {"matchLabels": {"app": "web"}}}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    pdb = await api.ok("POST", PDBS, body={"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                           "metadata": {"name": name}, "spec": spec})
    if not observed:
        return pdb
    pdb["status"] = {"observedGeneration": pdb["metadata"]["generation"], "disruptionsAllowed": allowed,
                     "currentHealthy": current, "desiredHealthy": desired, "expectedPods": 3,
                     "conditions": [{"type": "DisruptionAllowed", "status": "True" if allowed else "False",
                                     "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z",
                                     "reason": "SufficientPods" if allowed else "InsufficientPods", "message": ""}]}
    return await api.ok("PUT", f"{PDBS}/{name}/status", body=pdb)


async def evict(api: Api, name: str, body: Any = None, **kw: Any) -> tuple[int, Any, Any]:
    return await api.post(f"{PODS}/{name}/eviction", eviction(name) if body is None else body, **kw)


def too_many_requests(cause: str, retry_after: int | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    if retry_after is not None:
        details["retryAfterSeconds"] = retry_after
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": TOO_MANY,
            "reason": "TooManyRequests", "details": details, "code": 429}


async def test_discovery_offers_the_policy_v1_eviction(api: Api) -> None:
    """kubectl drain's CheckEvictionSupport: pods/eviction in /api/v1 with its group and version."""
    resources = (await api.ok("GET", "/api/v1"))["resources"]
    entry = next(r for r in resources if r["name"] == "pods/eviction")
    assert (entry["kind"], entry["group"], entry["version"], entry["verbs"]) == ("Eviction", "policy", "v1", ["create"])


async def test_without_a_budget_the_pod_is_deleted(api: Api) -> None:
    await running_pod(api, "p")
    code, body, _ = await evict(api, "p")
    assert (code, body) == (201, SUCCESS)
    code, _, _ = await api.get(f"{PODS}/p")
    assert code == 404


async def test_a_budget_with_room_is_spent_and_the_pod_deleted(api: Api) -> None:
    await running_pod(api, "p", node="n1")
    await budget(api, allowed=1)
    code, body, _ = await evict(api, "p")
    assert (code, body) == (201, SUCCESS)
    pdb = await api.ok("GET", f"{PDBS}/web")
    status = pdb["status"]
    assert status["disruptionsAllowed"] == 0
    assert list(status["disruptedPods"]) == ["p"]
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("DisruptionAllowed", "False", "InsufficientPods")]
    pod = await api.ok("GET", f"{PODS}/p")  # bound to a node: terminating, with its grace period
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 30
    target = next(c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"], target["message"]) == (
        "True", "EvictionByEvictionAPI", "Eviction API: evicting")


async def test_an_exhausted_budget_answers_429_as_the_apiserver(api: Api) -> None:
    await running_pod(api, "p", node="n1")
    before = await budget(api, allowed=0, current=2, desired=2)
    code, body, resp = await evict(api, "p")
    assert_status(code, body, 429, "TooManyRequests")
    assert body == too_many_requests("The disruption budget web needs 2 healthy pods and has 2 currently")
    assert "Retry-After" not in resp.headers  # retryAfterSeconds 0: client-go does not retry, kubectl does
    pod = await api.ok("GET", f"{PODS}/p")
    assert "deletionTimestamp" not in pod["metadata"]
    assert [c["type"] for c in pod["status"]["conditions"]] == ["Ready"]
    assert (await api.ok("GET", f"{PDBS}/web"))["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_a_budget_not_yet_observed_answers_429_retry_after_10(api: Api) -> None:
    await running_pod(api, "p")
    await budget(api, observed=False)
    code, body, resp = await evict(api, "p")
    assert body == too_many_requests("The disruption budget web is still being processed by the server.", 10)
    assert code == 429 and resp.headers["Retry-After"] == "10"


async def test_two_budgets_refuse_with_a_500_status(api: Api) -> None:
    await running_pod(api, "p")
    await budget(api, "web")
    await budget(api, "everything", selector={"matchExpressions": [{"key": "app", "operator": "Exists"}]})
    code, body, _ = await evict(api, "p")
    # The apiserver's create handler writes 201 whatever the returned Status says; the Status says 500.
    assert (code, body) == (201, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        "code": 500})
    assert "deletionTimestamp" not in (await api.ok("GET", f"{PODS}/p"))["metadata"]


async def test_pending_and_finished_pods_skip_the_budget(api: Api) -> None:
    await budget(api, allowed=0, current=0, desired=3)
    for name, phase in (("pending", "Pending"), ("done", "Succeeded"), ("failed", "Failed")):
        await running_pod(api, name, phase=phase, ready=False)
        code, body, _ = await evict(api, name)
        assert (code, body) == (201, SUCCESS), name
        assert (await api.get(f"{PODS}/{name}"))[0] == 404
    assert (await api.ok("GET", f"{PDBS}/web"))["status"]["disruptionsAllowed"] == 0


async def test_a_terminating_pod_is_deleted_again_whatever_the_budget(api: Api) -> None:
    await running_pod(api, "p", node="n1")
    await budget(api, allowed=0)
    await api.ok("DELETE", f"{PODS}/p")
    code, body, _ = await evict(api, "p", eviction("p", gracePeriodSeconds=0))
    assert (code, body) == (201, SUCCESS)
    assert (await api.get(f"{PODS}/p"))[0] == 404


async def test_unready_pods(api: Api) -> None:
    """IfHealthyBudget (the default): an unready pod goes while the app is whole, without spending
    the budget; AlwaysAllow: always; otherwise the budget decides."""
    await running_pod(api, "a", ready=False)
    await budget(api, allowed=0, current=2, desired=2)
    assert (await evict(api, "a"))[:2] == (201, SUCCESS)
    assert (await api.ok("GET", f"{PDBS}/web"))["status"].get("disruptedPods") is None

    await running_pod(api, "b", ready=False, labels={"app": "db"})
    await budget(api, "db", allowed=0, current=1, desired=2, selector={"matchLabels": {"app": "db"}})
    code, body, _ = await evict(api, "b")
    assert (code, body) == (429, too_many_requests("The disruption budget db needs 2 healthy pods and has 1 currently"))

    await running_pod(api, "c", ready=False, labels={"app": "batch"})
    await budget(api, "batch", allowed=0, current=0, desired=2, selector={"matchLabels": {"app": "batch"}},
                 policy="AlwaysAllow")
    assert (await evict(api, "c"))[:2] == (201, SUCCESS)


async def test_delete_options_are_honoured(api: Api) -> None:
    await running_pod(api, "now", node="n1")
    assert (await evict(api, "now", eviction("now", gracePeriodSeconds=0)))[:2] == (201, SUCCESS)
    assert (await api.get(f"{PODS}/now"))[0] == 404

    pod = await running_pod(api, "pinned", node="n1")
    code, body, _ = await evict(api, "pinned", eviction("pinned", preconditions={"uid": "not-its-uid"}))
    assert_status(code, body, 409, "Conflict")
    assert body["message"] == ('Operation cannot be fulfilled on Pod "pinned": the UID in the precondition '
                               f"(not-its-uid) does not match the UID in record ({pod['metadata']['uid']}). "
                               "The object might have been deleted and then recreated")
    good = eviction("pinned", preconditions={"uid": pod["metadata"]["uid"]}, gracePeriodSeconds=0)
    assert (await evict(api, "pinned", good))[:2] == (201, SUCCESS)


async def test_dry_run_changes_nothing(api: Api) -> None:
    await running_pod(api, "p", node="n1")
    pdb = await budget(api, allowed=1)
    code, body, _ = await evict(api, "p", params={"dryRun": "All"})
    assert (code, body) == (201, SUCCESS)
    assert (await evict(api, "p", eviction("p", dryRun=["All"])))[:2] == (201, SUCCESS)
    pod = await api.ok("GET", f"{PODS}/p")
    assert "deletionTimestamp" not in pod["metadata"] and len(pod["status"]["conditions"]) == 1
    assert (await api.ok("GET", f"{PDBS}/web"))["metadata"]["resourceVersion"] == pdb["metadata"]["resourceVersion"]


def protobuf_eviction(name: str, api_version: str) -> bytes:
    """What kubectl drain sends: a policy Eviction in the Kubernetes protobuf envelope."""
    msg = message_class("k8s.io.api.policy.v1.Eviction")()
    msg.metadata.name = name
    msg.metadata.namespace = "default"
    msg.deleteOptions.gracePeriodSeconds = 0
    unknown = message_class("k8s.io.apimachinery.pkg.runtime.Unknown")()
    unknown.typeMeta.apiVersion = api_version
    unknown.typeMeta.kind = "Eviction"
    unknown.raw = msg.SerializeToString()
    return MAGIC + unknown.SerializeToString()


async def test_protobuf_and_v1beta1_bodies(api: Api) -> None:
    for name, api_version in (("pb1", "policy/v1"), ("pb1beta1", "policy/v1beta1")):
        await running_pod(api, name, node="n1")
        code, body, _ = await api.request("POST", f"{PODS}/{name}/eviction", data=protobuf_eviction(name, api_version),
                                          content_type=PROTOBUF)
        assert (code, body) == (201, SUCCESS), api_version
        assert (await api.get(f"{PODS}/{name}"))[0] == 404, api_version  # gracePeriodSeconds 0 was honoured
    await running_pod(api, "json1beta1")
    assert (await evict(api, "json1beta1", eviction("json1beta1", "policy/v1beta1")))[:2] == (201, SUCCESS)


async def test_concurrent_evictions_spend_the_budget_once(api: Api) -> None:
    """Both read disruptionsAllowed 1; the status write of one makes the other's conflict, re-read, refuse."""
    await running_pod(api, "a", node="n1")
    await running_pod(api, "b", node="n1")
    await budget(api, allowed=1, current=3, desired=2)
    results = await asyncio.gather(evict(api, "a"), evict(api, "b"))
    assert sorted(code for code, _, _ in results) == [201, 429]
    status = (await api.ok("GET", f"{PDBS}/web"))["status"]
    assert status["disruptionsAllowed"] == 0 and len(status["disruptedPods"]) == 1


async def test_bad_requests(api: Api) -> None:
    await running_pod(api, "p")
    code, body, _ = await evict(api, "p", eviction("q"))
    assert_status(code, body, 400, "BadRequest")
    assert body["message"] == "name in URL does not match name in Eviction object"
    code, body, _ = await evict(api, "p", {"apiVersion": "v1", "kind": "Eviction", "metadata": {"name": "p"}})
    assert_status(code, body, 400, "BadRequest")
    code, body, _ = await evict(api, "missing")
    assert_status(code, body, 404, "NotFound")
    assert body["message"] == 'pods "missing" not found'
    code, body, _ = await api.get(f"{PODS}/p/eviction")
    assert_status(code, body, 405, "MethodNotAllowed")
