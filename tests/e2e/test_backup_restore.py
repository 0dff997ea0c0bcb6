"""A Deployment running on Docker, `boxk8s backup`, the cluster gone, `boxk8s restore` into a new folder,
`boxk8s up` there: the same pods run again, their containers adopted when they were left running,
recreated when `boxk8s down` removed them. The kubeconfig of the first folder works on the restored one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from boxk8s import instance
from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import cluster_objects, free_subnet, remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"
TRAP = 'trap "exit 0" TERM; while true; do sleep 1; done'


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels}, "spec": {"terminationGracePeriodSeconds": 2, "containers": [
                {"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", TRAP]}]}}}}


def running_pods(c: Boxk8s, kubeconfig: Path | None = None) -> dict[str, dict[str, Any]] | None:
    """The pods of app=web by name, once both run with their app container ready."""
    args = ["--kubeconfig", str(kubeconfig)] if kubeconfig else []
    out = c.kubectl(*args, "get", "pods", "-l", "app=web", "-o", "json").stdout
    pods = {p["metadata"]["name"]: p for p in json.loads(out)["items"]}
    ok = len(pods) == 2 and all(
        p["status"].get("phase") == "Running" and (p["status"].get("containerStatuses") or [{}])[0].get("ready")
        for p in pods.values())
    return pods if ok else None


def container_id(p: dict[str, Any]) -> str:
    return p["status"]["containerStatuses"][0]["containerID"]  # type: ignore[no-any-return]


def boxk8s(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "boxk8s.cli", *args], cwd=cwd, env=instance.child_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def settled(c: Boxk8s, kubeconfig: Path, before: dict[str, dict[str, Any]], adopted: bool) -> dict[str, dict[str, Any]]:
    """The pods running again, with the containers they had (adopted) or new ones (recreated): the
    restored status names the old containers until the kubelet has synced each pod."""
    old_ids = {container_id(p) for p in before.values()}

    def check() -> dict[str, dict[str, Any]] | None:
        pods = running_pods(c, kubeconfig)
        if pods is None:
            return None
        ids = {container_id(p) for p in pods.values()}
        return pods if (ids == old_ids if adopted else ids.isdisjoint(old_ids)) else None
    after: dict[str, dict[str, Any]] = wait_for(check, 90, what="the deployment's pods running again")
    assert set(after) == set(before)  # the same pods (names and uids), from the backup
    docker = _containers(c.cluster_name)
    ids = [d["Id"] for d in docker]
    assert len(ids) == len(set(ids))
    for name, p in after.items():
        assert p["metadata"]["uid"] == before[name]["metadata"]["uid"]
        if adopted:  # the same container, not restarted
            assert p["status"]["containerStatuses"][0]["restartCount"] == 0
        assert docker[ids.index(container_id(p).removeprefix("docker://"))]["State"] == "running"
        # The kubelet takes the pod over (adoption) a moment after the API answers: exec works once it has.
        wait_for(lambda name=name: c.kubectl("--kubeconfig", str(kubeconfig), "exec", name, "--", "true",  # type: ignore[misc]
                                             check=False).returncode == 0, 30, what=f"exec into {name}")
    return after


def test_a_restored_cluster_runs_its_deployment_again(tmp_path: Path) -> None:
    """Restored twice from one backup: after a plain stop (the containers still run: adopted), then
    after `boxk8s down` (the containers removed: recreated)."""
    subprocess.run(["bash", "scripts/build_images.sh"], check=True)
    folders = {n: tmp_path / n / ".boxk8s" for n in ("first", "adopting", "recreating")}
    for f in folders.values():
        f.parent.mkdir()
    subnet = free_subnet()
    b = start_boxk8s(folders["first"], pod_subnet=subnet)
    again: Boxk8s | None = None
    try:
        b.kubectl("apply", "-f", "-", input=yaml.safe_dump(deployment("web", 2)))
        before = wait_for(lambda: running_pods(b), 60, what="the deployment's pods running")
        backup = tmp_path / "backup.tar.gz"
        boxk8s("backup", "--state-dir", str(folders["first"]), str(backup), cwd=tmp_path)
        assert stop_boxk8s(b) == 0, b.log_tail()  # a clean stop leaves the pods' containers running

        boxk8s("restore", str(backup), "--state-dir", str(folders["adopting"]), cwd=tmp_path)
        again = start_boxk8s(folders["adopting"], port=b.port, cluster_name=b.cluster_name, pod_subnet=subnet)
        settled(again, b.kubeconfig, before, adopted=True)  # with the first folder's kubeconfig
        assert stop_boxk8s(again) == 0, again.log_tail()

        boxk8s("down", "--state-dir", str(folders["adopting"]), cwd=tmp_path)
        assert cluster_objects(b.cluster_name)["containers"] == []
        boxk8s("restore", str(backup), "--state-dir", str(folders["recreating"]), cwd=tmp_path)
        again = start_boxk8s(folders["recreating"], port=b.port, cluster_name=b.cluster_name, pod_subnet=subnet)
        settled(again, b.kubeconfig, before, adopted=False)
    finally:
        code = stop_boxk8s(again) if again is not None else 0
        if b.proc.poll() is None:
            b.proc.kill()
        remove_cluster_objects(b.cluster_name)
    assert code == 0, again.log_tail() if again else ""


def _containers(cluster: str) -> list[dict[str, str]]:
    out = subprocess.run(["docker", "ps", "-a", "--no-trunc", "--format", "{{json .}}", "--filter",
                          f"label=io.boxk8s.cluster={cluster}"], capture_output=True, text=True, check=True).stdout
    return [{"Id": c["ID"], "State": c["State"]} for c in map(json.loads, filter(str.strip, out.splitlines()))]
