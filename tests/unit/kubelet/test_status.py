"""compute_pod_status: phases, conditions, container states and kubectl's STATUS column."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.kubelet.clock import rfc3339
from boxk8s.kubelet.plan import PodObserved
from boxk8s.kubelet.runtime.base import ContainerState, SandboxState
from boxk8s.kubelet.status import StatusInputs, compute_pod_status
from boxk8s.resources.tables_workloads import pod_status

NOW = 1_700_000_000.0
SANDBOX = SandboxState("sb", "default", "web", "uid-1", "10.244.0.9", True)


def pod(containers: tuple[str, ...] = ("app",), inits: tuple[str, ...] = (), policy: str = "Always",
        status: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    spec = {"restartPolicy": policy, "nodeName": "n1",
            "initContainers": [{"name": n, "image": "busybox"} for n in inits],
            "containers": [{"name": n, "image": "busybox", **extra} for n in containers]}
    return {"metadata": {"name": "web", "namespace": "default", "uid": "uid-1"}, "spec": spec,
            "status": status or {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}}


def c(name: str, status: str = "running", attempt: int = 0, code: int | None = None, init: bool = False,
      oom: bool = False) -> ContainerState:
    return ContainerState(
        id=f"{name}-{attempt}", pod_uid="uid-1", namespace="default", pod_name="web", name=name, attempt=attempt,
        init=init, status=status, exit_code=code, oom_killed=oom,  # type: ignore[arg-type]
        started_at="2024-01-01T00:00:01Z" if status != "created" else "",
        finished_at="2024-01-01T00:00:02Z" if status == "exited" else "", image="busybox",
        image_id="busybox@sha256:abc",
    )


def status(pod_: dict[str, Any], *containers: ContainerState, sandbox: SandboxState | None = SANDBOX,
           **inputs: Any) -> dict[str, Any]:
    inputs.setdefault("host_ip", "172.18.0.1")
    st = compute_pod_status(pod_, PodObserved(sandbox, containers), StatusInputs(**inputs), NOW)
    pod_["status"] = st
    return st


def cond(st: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(x for x in st["conditions"] if x["type"] == ctype)


def column(pod_: dict[str, Any]) -> str:
    return pod_status(pod_)[0]


def test_running_ready() -> None:
    p = pod()
    st = status(p, c("app"))
    assert st["phase"] == "Running"
    assert st["podIP"] == "10.244.0.9" and st["podIPs"] == [{"ip": "10.244.0.9"}]
    assert st["hostIP"] == "172.18.0.1" and st["hostIPs"] == [{"ip": "172.18.0.1"}]
    assert st["startTime"] == rfc3339(NOW) and st["qosClass"] == "BestEffort"
    assert [x["type"] for x in st["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(x["status"] == "True" for x in st["conditions"])
    assert cond(st, "PodScheduled")["lastTransitionTime"] == "2024-01-01T00:00:00Z"
    [cs] = st["containerStatuses"]
    assert cs == {"name": "app", "image": "busybox", "imageID": "docker-pullable://busybox@sha256:abc",
                  "ready": True, "restartCount": 0, "started": True,
                  "state": {"running": {"startedAt": "2024-01-01T00:00:01Z"}}, "lastState": {},
                  "containerID": "docker://app-0"}
    assert column(p) == "Running"


def test_transition_time_kept_when_unchanged() -> None:
    p = pod()
    first = status(p, c("app"))
    later = compute_pod_status(p, PodObserved(SANDBOX, (c("app"),)), StatusInputs(host_ip="172.18.0.1"), NOW + 50)
    assert cond(later, "Ready")["lastTransitionTime"] == cond(first, "Ready")["lastTransitionTime"]
    assert later == first


def test_readiness_probe_gates_ready() -> None:
    p = pod(readinessProbe={"exec": {"command": ["true"]}})
    st = status(p, c("app"))
    assert cond(st, "Ready")["status"] == "False"
    assert cond(st, "Ready")["reason"] == "ContainersNotReady"
    assert cond(st, "ContainersReady")["message"] == "containers with unready status: [app]"
    assert column(p) == "Running" and pod_status(p)[1] == 0
    st = status(p, c("app"), ready={"app-0": True})
    assert cond(st, "Ready")["status"] == "True"


def test_pending_creating() -> None:
    p = pod()
    st = status(p, sandbox=None)
    assert st["phase"] == "Pending"
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert cond(st, "PodReadyToStartContainers")["status"] == "False"
    assert column(p) == "ContainerCreating"


def test_init_progress() -> None:
    p = pod(inits=("init",))
    st = status(p, c("init", init=True))
    assert st["phase"] == "Pending"
    assert cond(st, "Initialized") == {"type": "Initialized", "status": "False", "lastProbeTime": None,
                                       "reason": "ContainersNotInitialized",
                                       "message": "containers with incomplete status: [init]",
                                       "lastTransitionTime": rfc3339(NOW)}
    assert st["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    assert column(p) == "Init:0/1"
    st = status(p, c("init", "exited", code=0, init=True), c("app"))
    assert st["phase"] == "Running" and cond(st, "Initialized")["status"] == "True"


def test_init_failure_never_fails_pod() -> None:
    p = pod(inits=("init",), policy="Never")
    st = status(p, c("init", "exited", code=1, init=True))
    assert st["phase"] == "Failed"
    assert column(p) == "Init:Error"


def test_init_crashloop_column() -> None:
    p = pod(inits=("init",))
    status(p, c("init", "exited", attempt=1, code=1, init=True),
           waiting={"init": ("CrashLoopBackOff", "back-off 10s ...")})
    assert p["status"]["phase"] == "Pending"
    assert column(p) == "Init:CrashLoopBackOff"


@pytest.mark.parametrize(("policy", "code", "oom", "phase", "col"), [
    ("Never", 0, False, "Succeeded", "Completed"),
    ("OnFailure", 0, False, "Succeeded", "Completed"),
    ("Never", 1, False, "Failed", "Error"),
    ("Never", 137, True, "Failed", "OOMKilled"),
    ("Always", 0, False, "Running", "Completed"),
])
def test_terminal_phases(policy: str, code: int, oom: bool, phase: str, col: str) -> None:
    p = pod(policy=policy)
    st = status(p, c("app", "exited", code=code, oom=oom))
    assert st["phase"] == phase
    assert column(p) == col
    if phase == "Succeeded":
        assert cond(st, "ContainersReady")["reason"] == "PodCompleted"


def test_crashloop_status() -> None:
    p = pod()
    msg = "back-off 20s restarting failed container=app pod=web_default(uid-1)"
    st = status(p, c("app", "exited", attempt=2, code=1), c("app", "exited", attempt=1, code=1),
                waiting={"app": ("CrashLoopBackOff", msg)})
    [cs] = st["containerStatuses"]
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
    assert cs["lastState"]["terminated"]["exitCode"] == 1 and cs["restartCount"] == 2
    assert st["phase"] == "Running" and column(p) == "CrashLoopBackOff"


def test_restarted_container_shows_last_state() -> None:
    p = pod()
    st = status(p, c("app", attempt=1), c("app", "exited", attempt=0, code=137, oom=True))
    [cs] = st["containerStatuses"]
    assert cs["restartCount"] == 1 and "running" in cs["state"]
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert pod_status(p)[3] == 1


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull",
                                    "CreateContainerConfigError"])
def test_waiting_reasons(reason: str) -> None:
    p = pod()
    st = status(p, waiting={"app": (reason, "why")})
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": reason, "message": "why"}}
    assert st["phase"] == "Pending" and column(p) == reason


def test_terminal_phase_is_sticky() -> None:
    p = pod(policy="Never")
    status(p, c("app", "exited", code=0))
    assert p["status"]["phase"] == "Succeeded"
    st = status(p)  # containers removed later: still Succeeded
    assert st["phase"] == "Succeeded"


def test_readiness_gates() -> None:
    p = pod()
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/ok"}]
    st = status(p, c("app"))
    assert cond(st, "Ready")["reason"] == "ReadinessGatesNotReady"
    assert cond(st, "ContainersReady")["status"] == "True"


def test_pod_scheduled_added_when_bound_directly() -> None:
    p = pod(status={"phase": "Pending"})
    st = status(p, c("app"))
    assert cond(st, "PodScheduled") == {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                        "lastTransitionTime": rfc3339(NOW)}


def test_a_running_container_removed_from_the_runtime_shows_a_restart_and_an_unknown_end() -> None:
    """kubelet's convertToAPIContainerStatuses: restartCount + 1 and ContainerStatusUnknown (137)."""
    p = pod()
    status(p, c("app"))
    before = p["status"]["containerStatuses"][0]
    gone = status(p)["containerStatuses"][0]
    assert gone["restartCount"] == 1 and gone["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert gone["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert gone["lastState"]["terminated"]["exitCode"] == 137
    assert p["status"]["phase"] == "Running"  # it ran: the pod does not go back to Pending
    # The new instance (attempt 1, as the plan starts it) keeps that end as its last state.
    back = status(p, c("app", attempt=1))["containerStatuses"][0]
    assert back["restartCount"] == 1 and "running" in back["state"]
    assert back["containerID"] != before["containerID"]
    assert back["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert status(p, c("app", attempt=1))["containerStatuses"][0]["lastState"] == back["lastState"]


def test_a_container_removed_without_a_status_in_between_shows_its_end_on_the_new_instance() -> None:
    p = pod()
    status(p, c("app"))
    back = status(p, c("app", attempt=1))["containerStatuses"][0]
    assert back["restartCount"] == 1
    assert back["lastState"] == {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                                "message": "The container could not be located when the pod "
                                                           "was terminated"}}


def test_a_finished_never_pods_removed_container_keeps_its_reported_end() -> None:
    p = pod(policy="Never")
    status(p, c("app", "exited", code=0))
    assert p["status"]["phase"] == "Succeeded"
    after = status(p)
    assert after["phase"] == "Succeeded"
    assert after["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
