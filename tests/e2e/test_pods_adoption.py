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


def pod(name: str, sidecar: bool = False) -> dict[str, Any]:
    """One container (a solo pod: no sandbox container), or two joined to a sandbox."""
    containers = [{"name": n, "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", TRAP]}
                  for n in (["app", "side"] if sidecar else ["app"])]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 2, "containers": containers}}


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
    store = await Store.open_standalone(StoreSettings(path=state / "state.db"))
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
        b.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([pod("keeper", sidecar=True), pod("solo"),
                                                                 pod("goner")]))

        def running() -> dict[str, dict[str, Any]] | None:
            got = pods(b)
            ok = len(got) == 3 and all("running" in (app_status(p).get("state") or {}) for p in got.values()
                                       if p["status"].get("containerStatuses"))
            return got if ok and all(p["status"].get("containerStatuses") for p in got.values()) else None
        before = wait_for(running, 30, what="the pods running")
        uids = {name: p["metadata"]["uid"] for name, p in before.items()}
        assert container_names(by_pod_uid(b, uids["keeper"])) == ["POD", "app", "side"]
        assert container_names(by_pod_uid(b, uids["solo"])) == ["app"]
        assert container_names(by_pod_uid(b, uids["goner"])) == ["app"]

        b.proc.kill()  # SIGKILL: no clean stop, containers keep running
        b.proc.wait(timeout=10)
        asyncio.run(delete_key(state, "/registry/core/pods/default/goner"))

        again = start_boxk8s(state, port=b.port, cluster_name=b.cluster_name, pod_subnet=subnet)
        wait_for(lambda: "adopting pod/default/keeper (2 containers)" in again.log_path.read_text(), 30,
                 what="keeper adopted")
        wait_for(lambda: "adopting pod/default/solo (1 containers)" in again.log_path.read_text(), 30,
                 what="solo adopted")
        # The pod deleted while boxk8s was down: its container is removed.
        wait_for(lambda: by_pod_uid(again, uids["goner"]) == [], 30, what="goner's containers removed")
        after = pods(again)
        assert set(after) == {"keeper", "solo"}
        for name, ready, names in (("keeper", "2/2", ["POD", "app", "side"]), ("solo", "1/1", ["app"])):
            p, p0 = after[name], before[name]
            assert p["metadata"]["uid"] == uids[name]
            s, s0 = app_status(p), app_status(p0)
            assert s["containerID"] == s0["containerID"] and s["restartCount"] == 0
            assert s["state"]["running"]["startedAt"] == s0["state"]["running"]["startedAt"]
            assert p["status"]["podIP"] == p0["status"]["podIP"]
            # The kubelet has listed the runtime and synced the pod after adoption (READY is
            # reported again by the new process once its worker ran): nothing added, nothing restarted.
            again.kubectl("exec", name, "--", "true")
            wait_for(lambda name=name, ready=ready: ready in again.kubectl("get", "pod", name).stdout,  # type: ignore[misc]
                     what=f"{name} {ready}")
            containers = by_pod_uid(again, uids[name])
            assert container_names(containers) == names, containers
            assert all(c["State"] == "running" for c in containers)
            assert app_status(pods(again)[name])["restartCount"] == 0
    finally:
        code = stop_boxk8s(again) if again is not None else None
        if b.proc.poll() is None:
            b.proc.kill()
        remove_cluster_objects(b.cluster_name)
    assert code == 0, again.log_tail() if again else ""
    assert cluster_objects(b.cluster_name) == {"containers": [], "networks": [], "volumes": []}
