"""DaemonSets against the store, the scheduler and kubelets on fake nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.client import Kind
from boxk8s.controllers.revision import CONTROLLER_REVISIONS
from tests.integration.test_statefulset import Env, controller_env, eventually, ready, watch_pods

assert Kind.DAEMONSET and CONTROLLER_REVISIONS


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with controller_env(tmp_path, nodes=3) as e:
        yield e


def daemonset(name: str = "agent", image: str = "agent:1", **spec: Any) -> dict[str, Any]:
    template_spec = spec.pop("template_spec", {})
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "containers": [{"name": "agent", "image": image, "command": ["sleep", "3600"]}], **template_spec}},
            **spec,
        },
    }


async def daemon_pods(env: Env, app: str = "agent") -> list[dict[str, Any]]:
    return [p for p in await env.client.list(Kind.POD, "default")
            if (p["metadata"].get("labels") or {}).get("app") == app and not p["metadata"].get("deletionTimestamp")]


async def placed(env: Env, nodes: set[str], image: str = "agent:1") -> dict[str, Any] | None:
    """Exactly one ready pod of `image` on each of `nodes`, and a status that says so."""
    pods = await daemon_pods(env)
    on = sorted(p["spec"].get("nodeName", "") for p in pods if ready(p) and p["spec"]["containers"][0]["image"] == image)
    if on != sorted(nodes) or len(pods) != len(nodes):
        return None
    ds = await env.client.get(Kind.DAEMONSET, "default", "agent")
    st = ds.get("status") or {}
    n = len(nodes)
    want = {"desiredNumberScheduled": n, "currentNumberScheduled": n, "numberReady": n, "numberAvailable": n,
            "updatedNumberScheduled": n, "numberMisscheduled": 0, "observedGeneration": ds["metadata"]["generation"]}
    return st if all(st.get(k) == v for k, v in want.items()) else None


async def test_one_pod_per_node_including_new_nodes(env: Env) -> None:
    await env.client.create(Kind.DAEMONSET, "default", daemonset())
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3"}))
    pod = (await daemon_pods(env))[0]
    assert pod["metadata"]["name"].startswith("agent-")
    assert pod["metadata"]["labels"]["controller-revision-hash"]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": [pod["spec"]["nodeName"]]}]}]}
    assert {t["key"] for t in pod["spec"]["tolerations"]} >= {"node.kubernetes.io/not-ready",
                                                              "node.kubernetes.io/unschedulable"}
    # a node that joins later gets one; a tainted one does not
    await env.add_node("node-4")
    await env.add_node("node-5", taints=({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},))
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3", "node-4"}))
    messages = [e["message"] for e in await env.client.list(Kind.EVENT, "default") if e["reason"] == "SuccessfulCreate"]
    assert len(messages) == 4 and all(m.startswith("Created pod: agent-") for m in messages)
    # a cordoned node keeps its daemon pod (the unschedulable toleration)
    await env.client.patch(Kind.NODE, None, "node-2", {"spec": {"unschedulable": True}})
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3", "node-4"}))


async def test_node_selector_and_label_changes(env: Env) -> None:
    await env.client.patch(Kind.NODE, None, "node-1", {"metadata": {"labels": {"disk": "ssd"}}})
    await env.client.create(Kind.DAEMONSET, "default", daemonset(template_spec={"nodeSelector": {"disk": "ssd"}}))
    await eventually(lambda: placed(env, {"node-1"}))
    await env.client.patch(Kind.NODE, None, "node-3", {"metadata": {"labels": {"disk": "ssd"}}})
    await eventually(lambda: placed(env, {"node-1", "node-3"}))
    await env.client.patch(Kind.NODE, None, "node-1", {"metadata": {"labels": {"disk": None}}})
    await eventually(lambda: placed(env, {"node-3"}))


async def test_rolling_update_max_unavailable(env: Env) -> None:
    await env.client.create(Kind.DAEMONSET, "default", daemonset())
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3"}))
    async with watch_pods(env) as added:
        await env.client.patch(Kind.DAEMONSET, "default", "agent", {"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "agent:2"}]}}}}, "strategic")
        await eventually(lambda: placed(env, {"node-1", "node-2", "node-3"}, "agent:2"))
    assert len(added) == 3
    revisions = sorted(r["revision"] for r in await env.client.list(CONTROLLER_REVISIONS, "default"))
    assert revisions == [1, 2]


async def test_rolling_update_max_surge(env: Env) -> None:
    await env.client.create(Kind.DAEMONSET, "default", daemonset(
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3"}))
    await env.client.patch(Kind.DAEMONSET, "default", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": "agent:2"}]}}}}, "strategic")
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3"}, "agent:2"))


async def test_on_delete(env: Env) -> None:
    await env.client.create(Kind.DAEMONSET, "default", daemonset(updateStrategy={"type": "OnDelete"}))
    await eventually(lambda: placed(env, {"node-1", "node-2", "node-3"}))
    await env.client.patch(Kind.DAEMONSET, "default", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": "agent:2"}]}}}}, "strategic")

    async def status_seen() -> bool:
        ds = await env.client.get(Kind.DAEMONSET, "default", "agent")
        st = ds.get("status") or {}
        return st.get("observedGeneration") == 2 and st.get("updatedNumberScheduled") == 0

    await eventually(status_seen)
    images = {p["spec"]["containers"][0]["image"] for p in await daemon_pods(env)}
    assert images == {"agent:1"}
