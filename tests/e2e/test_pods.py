"""Pods on real Docker, driven by the real kubectl: containers, volumes, env, logs, exec,
restart policies and CrashLoopBackOff, probes, graceful termination, limits, images.

One cluster for the module (`cluster` fixture); every test uses its own pods and cleans up.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import cluster_objects, remove_cluster_objects

IMAGE = "boxk8s-busybox:latest"
LABEL_CLUSTER = "io.boxk8s.cluster"
LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_CONTAINER = "io.kubernetes.container.name"
TRAP = 'trap "exit 0" TERM; while true; do sleep 1; done'
MKTMP = "mkdir -p /tmp; "  # the busybox image is FROM scratch: it has no /tmp


@pytest.fixture(scope="module")
def busybox_image() -> None:
    subprocess.run(["bash", "scripts/build_images.sh"], check=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, busybox_image: None) -> Iterator[Boxk8s]:
    """The module's cluster; after it stops and is cleaned up, no Docker object of it is left."""
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state")
    try:
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"
    assert_nothing_left(b.cluster_name)


def assert_nothing_left(name: str) -> None:
    assert cluster_objects(name) == {"containers": [], "networks": [], "volumes": []}
    # Also what carries the cluster's name without its label (names are `boxk8s-<cluster>-…`).
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        out = subprocess.run(["docker", *kind, "-q", "--filter", f"name={name}"], capture_output=True,
                             text=True, check=True).stdout
        assert not out.split(), f"docker {' '.join(kind)}: left {out.split()}"


def pod_json(c: Boxk8s, name: str, *extra: str) -> dict[str, Any]:
    return json.loads(c.kubectl("get", "pod", name, "-o", "json", *extra).stdout)


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, **spec}}


def apply(c: Boxk8s, *objects: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def busybox(name: str, command: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": command, **extra}


def statuses(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in (p.get("status") or {}).get("containerStatuses") or []}


def condition(p: dict[str, Any], ctype: str) -> str:
    for cond in (p.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return str(cond.get("status"))
    return ""


def status_of(c: Boxk8s, name: str, cname: str | None = None) -> dict[str, Any]:
    got = statuses(pod_json(c, name))
    if cname is None:
        return next(iter(got.values()), {})
    return got.get(cname, {})


def wait_running(c: Boxk8s, name: str, timeout: float = 30) -> dict[str, Any]:
    def running() -> dict[str, Any] | None:
        p = pod_json(c, name)
        sts = statuses(p)
        if sts and all("running" in s.get("state", {}) for s in sts.values()):
            return p
        return None
    return wait_for(running, timeout, what=f"pod {name} running")  # type: ignore[no-any-return]


def delete(c: Boxk8s, *names: str) -> None:
    c.kubectl("delete", "pod", *names, "--ignore-not-found", "--wait=false")


def wait_gone(c: Boxk8s, *names: str, timeout: float = 30) -> None:
    def gone() -> bool:
        out = c.kubectl("get", "pods", "-o", "name").stdout.split()
        return not any(f"pod/{n}" in out for n in names)
    wait_for(gone, timeout, what=f"pods {names} gone")


def docker_containers(c: Boxk8s, uid: str, *, all_: bool = True) -> list[dict[str, Any]]:
    args = ["docker", "ps", "--no-trunc", "--format", "{{json .}}",
            "--filter", f"label={LABEL_CLUSTER}={c.cluster_name}", "--filter", f"label={LABEL_POD_UID}={uid}"]
    if all_:
        args.insert(2, "-a")
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def docker_inspect(cid: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]  # type: ignore[no-any-return]


def parse_time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def cid(s: dict[str, Any]) -> str:
    return str(s.get("containerID", "")).split("://", 1)[-1]


class Lines:
    """A subprocess whose stdout lines are read by a thread into a queue (kubectl -w, logs -f)."""

    def __init__(self, c: Boxk8s, *args: str, docker: bool = False) -> None:
        cmd = list(args) if docker else ["kubectl", "--kubeconfig", str(c.kubeconfig), "--cache-dir",
                                         str(c.cache_dir), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, predicate: Any, timeout: float = 20, what: str = "line") -> str:
        def found() -> str | None:
            while True:
                try:
                    line = self.lines.get_nowait()
                except queue.Empty:
                    return None
                self.seen.append(line)
                if predicate(line):
                    return line
        try:
            return wait_for(found, timeout, interval=0.05, what=what)  # type: ignore[no-any-return]
        except AssertionError as e:
            raise AssertionError(f"{e}; lines seen: {self.seen[-15:]}") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class JsonWatch:
    """`kubectl get pods -w -o json` of one pod: every version as it changes (from before it exists)."""

    def __init__(self, c: Boxk8s, name: str) -> None:
        self.proc = subprocess.Popen(
            ["kubectl", "--kubeconfig", str(c.kubeconfig), "--cache-dir", str(c.cache_dir),
             "get", "pods", f"--field-selector=metadata.name={name}", "-w", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.objects: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder = json.JSONDecoder()
        buf = ""
        for line in self.proc.stdout:
            buf += line
            while True:
                stripped = buf.lstrip()
                if not stripped:
                    buf = ""
                    break
                try:
                    obj, end = decoder.raw_decode(stripped)
                except json.JSONDecodeError:
                    break
                with self._lock:
                    self.objects.append(obj)
                buf = stripped[end:]

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.objects)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=5)

    def __enter__(self) -> JsonWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- containers, volumes, env, exec, logs ------------------------------------------------------

FULL_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "full"},
    "spec": {
        "terminationGracePeriodSeconds": 3,
        "initContainers": [busybox("init", ["sh", "-c", "echo init-was-here > /shared/index.html"],
                                   volumeMounts=[{"name": "shared", "mountPath": "/shared"}])],
        "containers": [
            busybox("web", ["httpd", "-f", "-p", "8080", "-h", "/shared"], env=[
                {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            ], volumeMounts=[
                {"name": "shared", "mountPath": "/shared"},
                {"name": "config", "mountPath": "/etc/config"},
                {"name": "secret", "mountPath": "/etc/secret", "readOnly": True},
            ]),
            # Prints a line each time the test drops a file into the shared volume.
            busybox("client", ["sh", "-c", "echo client-started; trap 'exit 0' TERM; while true; do "
                                           "if [ -f /shared/say ]; then cat /shared/say; rm -f /shared/say; fi; "
                                           "sleep 0.2; done"],
                    volumeMounts=[{"name": "shared", "mountPath": "/shared"}]),
        ],
        "volumes": [
            {"name": "shared", "emptyDir": {}},
            {"name": "config", "configMap": {"name": "app-config"}},
            {"name": "secret", "secret": {"secretName": "app-secret"}},
        ],
    },
}


def test_pod_with_init_shared_volume_env_files_exec_and_logs(cluster: Boxk8s) -> None:
    apply(cluster,
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
           "data": {"greeting": "hello-from-configmap"}},
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret"},
           "stringData": {"password": "s3cret-value"}},
          FULL_POD)
    p = wait_running(cluster, "full")
    wait_for(lambda: condition(pod_json(cluster, "full"), "Ready") == "True", what="full Ready")
    init = p["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["state"]["terminated"]["exitCode"] == 0
    assert condition(p, "Initialized") == "True"
    pod_ip, node = p["status"]["podIP"], p["spec"]["nodeName"]
    assert pod_ip and node

    def exec_(container: str, *command: str) -> str:
        return cluster.kubectl("exec", "full", "-c", container, "--", *command).stdout

    env = dict(line.split("=", 1) for line in exec_("web", "env").splitlines() if "=" in line)
    assert env["GREETING"] == "hello-from-configmap"
    assert env["PASSWORD"] == "s3cret-value"
    assert env["POD_NAME"] == "full"
    assert env["POD_NAMESPACE"] == "default"
    assert env["POD_IP"] == pod_ip
    assert env["NODE_NAME"] == node
    assert exec_("web", "cat", "/etc/config/greeting") == "hello-from-configmap"
    assert exec_("web", "cat", "/etc/secret/password") == "s3cret-value"
    # The init container wrote into the emptyDir; the second container reaches the first over localhost.
    assert exec_("web", "cat", "/shared/index.html") == "init-was-here\n"
    assert exec_("client", "wget", "-qO-", "http://127.0.0.1:8080/index.html") == "init-was-here\n"
    assert exec_("client", "sh", "-c", "echo $HOSTNAME") == "full\n"

    # Logs: per container, and followed (a line written after `logs -f` started shows up).
    assert cluster.kubectl("logs", "full", "-c", "client").stdout == "client-started\n"
    assert cluster.kubectl("logs", "full", "-c", "init").stdout == ""
    default = cluster.kubectl("logs", "full")  # kubectl picks the first container and says so
    assert 'Defaulted container "web"' in default.stderr and default.stdout == ""
    with Lines(cluster, "logs", "-f", "full", "-c", "client") as follow:
        follow.wait_line(lambda line: line == "client-started", what="first log line")
        exec_("client", "sh", "-c", "echo said-later > /shared/say.tmp && mv /shared/say.tmp /shared/say")
        follow.wait_line(lambda line: line == "said-later", what="line written later")
    assert cluster.kubectl("logs", "full", "-c", "client").stdout == "client-started\nsaid-later\n"
    assert cluster.kubectl("logs", "full", "-c", "client", "--tail", "1").stdout == "said-later\n"
    delete(cluster, "full")
    wait_gone(cluster, "full")


# ---- restart policies and CrashLoopBackOff -----------------------------------------------------

def restart_gaps(objects: list[dict[str, Any]], cname: str) -> dict[int, float]:
    """restart n → seconds between the end of attempt n-1 and the start of attempt n, from statuses."""
    finished: dict[str, float] = {}  # container id → finishedAt
    started: dict[int, tuple[float, str]] = {}  # restart count → (startedAt, the previous container's id)
    for obj in objects:
        s = statuses(obj).get(cname)
        if not s:
            continue
        last = (s.get("lastState") or {}).get("terminated")
        if last and last.get("finishedAt"):
            finished[cid(last)] = parse_time(last["finishedAt"])
        state = s.get("state") or {}
        current = state.get("running") or state.get("terminated")
        if current and current.get("startedAt") and last and s["restartCount"] > 0:
            started[s["restartCount"]] = (parse_time(current["startedAt"]), cid(last))
        if state.get("terminated", {}).get("finishedAt"):
            finished[cid(s)] = parse_time(state["terminated"]["finishedAt"])
    return {n: at - finished[prev] for n, (at, prev) in started.items() if prev in finished}


def test_crashloop_backoff_doubles_and_logs_previous(cluster: Boxk8s) -> None:
    with Lines(cluster, "get", "pods", "--field-selector=metadata.name=crash", "-w",
                                     "--no-headers") as table, JsonWatch(cluster, "crash") as watch:
        apply(cluster, pod("crash", [busybox("app", ["sh", "-c", "echo crash-marker; exit 1"])]))
        table.wait_line(lambda line: line.split()[2:3] == ["Error"], what="STATUS Error")
        table.wait_line(lambda line: line.split()[2:3] == ["CrashLoopBackOff"], what="STATUS CrashLoopBackOff")
        wait_for(lambda: len(restart_gaps(watch.snapshot(), "app")) >= 4, timeout=40, what="4 restarts observed")
        gaps = restart_gaps(watch.snapshot(), "app")
        table.wait_line(lambda line: line.split()[3:4] == ["4"], what="RESTARTS 4")
    restarts = [int(line.split()[3]) for line in table.seen if line.split()[3:4] and line.split()[3].isdigit()]
    assert restarts == sorted(restarts) and restarts[-1] == 4, table.seen  # RESTARTS only grows
    # The first restart is immediate; then back-off waits base (1 s), 2 s, 4 s: each gap at least the
    # one before and roughly double it (status times have whole seconds, hence the slack).
    later = [gaps[n] for n in sorted(gaps) if n >= 2][:3]
    assert len(later) == 3, gaps
    assert later[0] >= 1 and later[1] >= 2 and later[2] >= 4, gaps
    assert later[0] <= later[1] <= later[2], gaps
    assert later[2] >= 1.5 * later[0] and later[1] >= 1.5 * later[0] - 1, gaps
    s = status_of(cluster, "crash")
    assert s["lastState"]["terminated"]["exitCode"] == 1 and s["lastState"]["terminated"]["reason"] == "Error"
    # --previous: the instance before the current one printed the marker too.
    assert cluster.kubectl("logs", "crash", "--previous").stdout == "crash-marker\n"
    assert cluster.kubectl("logs", "crash", "-c", "app", "-p").stdout == "crash-marker\n"
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=crash").stdout
    assert "BackOff" in events and "Back-off restarting failed container app" in events
    delete(cluster, "crash")


def test_restart_policies(cluster: Boxk8s) -> None:
    apply(cluster,
          pod("onfailure-ok", [busybox("app", ["sh", "-c", "exit 0"])], restartPolicy="OnFailure"),
          pod("onfailure-bad", [busybox("app", ["sh", "-c", "exit 1"])], restartPolicy="OnFailure"),
          pod("never-bad", [busybox("app", ["sh", "-c", "exit 1"])], restartPolicy="Never"))
    ok = wait_for(lambda: (p := pod_json(cluster, "onfailure-ok"))["status"].get("phase") == "Succeeded" and p,
                  what="onfailure-ok Succeeded")
    s = statuses(ok)["app"]
    assert s["state"]["terminated"]["reason"] == "Completed" and s["restartCount"] == 0
    assert "Completed" in cluster.kubectl("get", "pod", "onfailure-ok").stdout
    bad = wait_for(lambda: (p := pod_json(cluster, "never-bad"))["status"].get("phase") == "Failed" and p,
                   what="never-bad Failed")
    s = statuses(bad)["app"]
    assert s["state"]["terminated"]["reason"] == "Error" and s["state"]["terminated"]["exitCode"] == 1
    assert s["restartCount"] == 0
    assert "Error" in cluster.kubectl("get", "pod", "never-bad").stdout
    wait_for(lambda: status_of(cluster, "onfailure-bad").get("restartCount", 0) >= 2, what="onfailure-bad restarts")
    assert pod_json(cluster, "onfailure-bad")["status"]["phase"] in ("Running", "Pending")
    # Nothing of the finished pods was restarted: one container each besides the sandbox.
    for name in ("onfailure-ok", "never-bad"):
        p = pod_json(cluster, name)
        assert statuses(p)["app"]["restartCount"] == 0 and p["status"]["phase"] in ("Succeeded", "Failed")
        apps = [c for c in docker_containers(cluster, p["metadata"]["uid"]) if "_POD_" not in c["Names"]
                and f"{LABEL_CONTAINER}=POD" not in c["Labels"]]
        assert len(apps) == 1, apps
    delete(cluster, "onfailure-ok", "onfailure-bad", "never-bad")
    wait_gone(cluster, "onfailure-ok", "onfailure-bad", "never-bad", "crash")


# ---- probes ------------------------------------------------------------------------------------

def exec_probe(path: str, **timing: Any) -> dict[str, Any]:
    return {"exec": {"command": ["cat", path]}, "periodSeconds": 1, "failureThreshold": 1, **timing}


def test_liveness_failure_restarts_the_container(cluster: Boxk8s) -> None:
    apply(cluster, pod("live", [busybox("app", ["sh", "-c", f"{MKTMP}touch /tmp/healthy; {TRAP}"],
                                        livenessProbe=exec_probe("/tmp/healthy"))],
                       terminationGracePeriodSeconds=2))
    first = wait_running(cluster, "live")
    first_id = cid(statuses(first)["app"])
    cluster.kubectl("exec", "live", "--", "rm", "/tmp/healthy")

    def restarted() -> dict[str, Any] | None:
        s = status_of(cluster, "live")
        return s if s["restartCount"] >= 1 and "running" in s["state"] else None
    s = wait_for(restarted, 30, what="live restarted")
    assert cid(s) != first_id and cid(s["lastState"]["terminated"]) == first_id
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=live").stdout
    assert "Liveness probe failed" in events and "failed liveness probe, will be restarted" in events
    # The new container made its file again: it stays healthy (its probe passes).
    assert cluster.kubectl("exec", "live", "--", "cat", "/tmp/healthy").returncode == 0
    delete(cluster, "live")


def test_readiness_flips_ready_and_startup_gates_it(cluster: Boxk8s) -> None:
    apply(cluster,
          pod("ready", [busybox("app", ["sh", "-c", MKTMP + TRAP], readinessProbe=exec_probe("/tmp/ready"))],
              terminationGracePeriodSeconds=2),
          pod("gated", [busybox("app", ["sh", "-c", MKTMP + TRAP],
                                startupProbe=exec_probe("/tmp/started", failureThreshold=120),
                                readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": 1})],
              terminationGracePeriodSeconds=2))

    def ready_column(name: str) -> str:
        return cluster.kubectl("get", "pod", name, "--no-headers").stdout.split()[1]

    with JsonWatch(cluster, "gated") as watch:
        wait_running(cluster, "ready")
        assert ready_column("ready") == "0/1" and condition(pod_json(cluster, "ready"), "Ready") == "False"
        cluster.kubectl("exec", "ready", "--", "touch", "/tmp/ready")
        wait_for(lambda: ready_column("ready") == "1/1", what="ready 1/1")
        assert condition(pod_json(cluster, "ready"), "Ready") == "True"
        cluster.kubectl("exec", "ready", "--", "rm", "/tmp/ready")
        wait_for(lambda: ready_column("ready") == "0/1", what="ready 0/1 again")
        p = pod_json(cluster, "ready")
        assert condition(p, "Ready") == "False" and statuses(p)["app"]["ready"] is False
        assert statuses(p)["app"]["restartCount"] == 0  # readiness never restarts

        # The startup probe fails (its file is missing) a few times: meanwhile readiness, which
        # would pass, is not run, so the pod stays unready and not started.
        def startup_failures() -> int:
            events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=gated",
                                     "-o", "json").stdout
            return sum(e.get("count", 1) for e in json.loads(events)["items"] if e["reason"] == "Unhealthy")
        wait_for(lambda: startup_failures() >= 3, what="3 startup probe failures")
        p = pod_json(cluster, "gated")
        s = statuses(p)["app"]
        assert "running" in s["state"] and s["started"] is False and s["ready"] is False
        assert ready_column("gated") == "0/1"
        cluster.kubectl("exec", "gated", "--", "touch", "/tmp/started")
        wait_for(lambda: ready_column("gated") == "1/1", what="gated 1/1 after startup")
        history = [statuses(o).get("app") or {} for o in watch.snapshot()]
    assert any(s.get("started") for s in history)
    assert not any(s.get("ready") and not s.get("started") for s in history), history
    first_started = next(i for i, s in enumerate(history) if s.get("started"))
    assert not any(s.get("ready") for s in history[:first_started])
    delete(cluster, "ready", "gated")
    wait_gone(cluster, "live", "ready", "gated")


# ---- termination -------------------------------------------------------------------------------

def die_events(c: Boxk8s, container_id: str) -> Lines:
    """`docker events` for one container's `die` (with its exit code), started before it dies."""
    return Lines(c, "docker", "events", "--filter", f"container={container_id}", "--filter", "event=die",
                 "--format", "{{.Status}} {{index .Actor.Attributes \"exitCode\"}}", docker=True)


def test_delete_sigterm_trapping_pod_finishes_early(cluster: Boxk8s) -> None:
    apply(cluster, pod("trapper", [busybox("app", ["sh", "-c", TRAP])]))  # default grace: 30 s
    p = wait_running(cluster, "trapper")
    app_id = cid(statuses(p)["app"])
    with die_events(cluster, app_id) as died:
        cluster.kubectl("delete", "pod", "trapper", timeout=20)  # waits until the object is gone
        assert "trapper" not in cluster.kubectl("get", "pods", "-o", "name").stdout
        line = died.wait_line(lambda line: line.startswith("die"), what="die event")
    assert line == "die 0"
    assert docker_containers(cluster, p["metadata"]["uid"]) == []


def test_delete_sigterm_ignoring_pod_is_killed_after_grace(cluster: Boxk8s) -> None:
    apply(cluster, pod("stubborn", [busybox("app", ["sleep", "3600"])], terminationGracePeriodSeconds=3))
    p = wait_running(cluster, "stubborn")
    uid, app_id = p["metadata"]["uid"], cid(statuses(p)["app"])
    with die_events(cluster, app_id) as died, \
            Lines(cluster, "get", "pods", "--field-selector=metadata.name=stubborn", "-w",
                  "--output-watch-events", "--no-headers") as watch:
        watch.wait_line(lambda line: line.startswith("ADDED"), what="watch started")
        cluster.kubectl("delete", "pod", "stubborn", "--wait=false")
        watch.wait_line(lambda line: line.startswith("DELETED"), timeout=30, what="pod DELETED")
        # The object goes only once its containers (and sandbox) are gone.
        assert docker_containers(cluster, uid) == []
        line = died.wait_line(lambda line: line.startswith("die"), what="die event")
    assert line == "die 137"


# ---- resources ---------------------------------------------------------------------------------

def test_memory_limit_oomkilled_and_limits_in_docker(cluster: Boxk8s) -> None:
    hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    apply(cluster, pod("hog", [busybox("app", ["sh", "-c", hog],
                                       resources={"limits": {"memory": "16Mi", "cpu": "500m"}})],
                       restartPolicy="Never"))

    def terminated() -> dict[str, Any] | None:
        s = status_of(cluster, "hog")
        return (s.get("state") or {}).get("terminated")
    t = wait_for(terminated, 60, what="hog terminated")
    assert t["reason"] == "OOMKilled" and t["exitCode"] == 137, t
    assert pod_json(cluster, "hog")["status"]["phase"] == "Failed"
    assert "OOMKilled" in cluster.kubectl("get", "pod", "hog").stdout
    host = docker_inspect(cid(status_of(cluster, "hog")))["HostConfig"]
    assert host["Memory"] == 16 * 1024 * 1024
    assert host["NanoCpus"] == 500_000_000
    delete(cluster, "hog")


# ---- images ------------------------------------------------------------------------------------

def test_missing_images(cluster: Boxk8s) -> None:
    with Lines(cluster, "get", "pods", "--field-selector=metadata.name=nopull", "-w", "--no-headers") as table:
        apply(cluster,
              pod("nopull", [{"name": "app", "image": "boxk8s-no-such-image:v1", "imagePullPolicy": "IfNotPresent"}]),
              pod("neverpull", [{"name": "app", "image": "boxk8s-no-such-image:v1", "imagePullPolicy": "Never"}]))
        # STATUS shows the failed pull, then the back-off, as on Kubernetes.
        table.wait_line(lambda line: line.split()[2:3] == ["ErrImagePull"], what="STATUS ErrImagePull")
        table.wait_line(lambda line: line.split()[2:3] == ["ImagePullBackOff"], what="STATUS ImagePullBackOff")

    def waiting(name: str, reason: str) -> dict[str, Any] | None:
        w = (status_of(cluster, name).get("state") or {}).get("waiting") or {}
        return w if w.get("reason") == reason else None
    w = wait_for(lambda: waiting("nopull", "ImagePullBackOff"), 30, what="ImagePullBackOff")
    assert 'Back-off pulling image "boxk8s-no-such-image:v1"' in w["message"]
    assert "ErrImagePull" in w["message"] and "boxk8s-no-such-image" in w["message"].split(":", 1)[1], w
    assert "ImagePullBackOff" in cluster.kubectl("get", "pod", "nopull").stdout
    w = wait_for(lambda: waiting("neverpull", "ErrImageNeverPull"), 30, what="ErrImageNeverPull")
    assert w["message"] == 'Container image "boxk8s-no-such-image:v1" is not present with pull policy of Never'
    assert "ErrImageNeverPull" in cluster.kubectl("get", "pod", "neverpull").stdout
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=nopull").stdout
    assert "Failed to pull image" in events
    delete(cluster, "nopull", "neverpull")
    wait_gone(cluster, "trapper", "stubborn", "hog", "nopull", "neverpull")
