"""`kill -9` of boxk8s with pods running, then `boxk8s up` again: the kubelet adopts what runs
(same containers, no restarts, no duplicates) and removes what belongs to pods gone meanwhile."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from boxk8s.store import Store, StoreSettings
from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import cluster_objects, free_subnet, remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"
TRAP = 'trap "exit 0" TERM; while true; do sleep 1; done'


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 2,
        "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", TRAP]}]}}


def pods(c: Boxk8s) -> dict[str, dict[str, Any]]:
    items = json.loads(c.kubectl("get", "pods", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: p for p in items}


def app_status(p: dict[str, Any]) -> dict[str, Any]:
    return p["status"]["containerStatuses"][0]  # type: ignore[no-any-return]


def by_pod_uid(c: Boxk8s, uid: str) -> list[dict[str, str]]:
    out = subprocess.run(["docker", "ps", "-a", "--no-trunc", "--format", "{{json .}}",
                          "--filter", f"label=io.boxk8s.cluster={c.cluster_name}",
                          "--filter", f"label=io.kubernetes.pod.uid={uid}"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def container_names(containers: list[dict[str, str]]) -> list[str]:
    names = []
    for c in containers:
        labels = dict(kv.split("=", 1) for kv in c["Labels"].split(",") if "=" in kv)
        names.append(labels.get("io.kubernetes.container.name", "?"))
    return sorted(names)


async def delete_key(state: Path, key: str) -> None:
    store = await Store.open(StoreSettings(path=state / "state.db"))
    try:
        await store.delete(key)
    finally:
        await store.close()


def test_kill9_restart_adopts_running_pods_and_removes_deleted_ones(tmp_path: Path) -> None:
    subprocess.run(["bash", "scripts/build_images.sh"], check=True)
    state = tmp_path / "state"
    subnet = free_subnet()
    b = start_boxk8s(state, pod_subnet=subnet)
    again: Boxk8s | None = None
    try:
        b.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([pod("keeper"), pod("goner")]))

        def running() -> dict[str, dict[str, Any]] | None:
            got = pods(b)
            ok = len(got) == 2 and all("running" in (app_status(p).get("state") or {}) for p in got.values()
                                       if p["status"].get("containerStatuses"))
            return got if ok and all(p["status"].get("containerStatuses") for p in got.values()) else None
        before = wait_for(running, 30, what="both pods running")
        keeper_uid, goner_uid = before["keeper"]["metadata"]["uid"], before["goner"]["metadata"]["uid"]
        assert container_names(by_pod_uid(b, keeper_uid)) == ["POD", "app"]
        assert container_names(by_pod_uid(b, goner_uid)) == ["POD", "app"]

        b.proc.kill()  # SIGKILL: no clean stop, containers keep running
        b.proc.wait(timeout=10)
        asyncio.run(delete_key(state, "/registry/core/pods/default/goner"))

        again = start_boxk8s(state, port=b.port, cluster_name=b.cluster_name, pod_subnet=subnet)
        wait_for(lambda: "adopting pod/default/keeper (1 containers)" in again.log_path.read_text(), 30,
                 what="keeper adopted")
        # The pod deleted while boxk8s was down: its sandbox and container are removed.
        wait_for(lambda: by_pod_uid(again, goner_uid) == [], 30, what="goner's containers removed")
        after = pods(again)
        assert set(after) == {"keeper"}
        keeper = after["keeper"]
        assert keeper["metadata"]["uid"] == keeper_uid
        s, s0 = app_status(keeper), app_status(before["keeper"])
        assert s["containerID"] == s0["containerID"] and s["restartCount"] == 0
        assert s["state"]["running"]["startedAt"] == s0["state"]["running"]["startedAt"]
        assert keeper["status"]["podIP"] == before["keeper"]["status"]["podIP"]
        # The kubelet has listed the runtime and synced the pod after adoption (READY 1/1 is reported
        # again by the new process once its worker ran): still one sandbox and one container.
        again.kubectl("exec", "keeper", "--", "true")
        wait_for(lambda: "1/1" in again.kubectl("get", "pod", "keeper").stdout, what="keeper 1/1")
        containers = by_pod_uid(again, keeper_uid)
        assert container_names(containers) == ["POD", "app"], containers
        assert all(c["State"] == "running" for c in containers)
        assert app_status(pods(again)["keeper"])["restartCount"] == 0
    finally:
        code = stop_boxk8s(again) if again is not None else None
        if b.proc.poll() is None:
            b.proc.kill()
        remove_cluster_objects(b.cluster_name)
    assert code == 0, again.log_tail() if again else ""
    assert cluster_objects(b.cluster_name) == {"containers": [], "networks": [], "volumes": []}
