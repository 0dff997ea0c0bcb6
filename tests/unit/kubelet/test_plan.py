"""plan_pod_actions: tables of (pod, observed, back-off) → actions, no event loop."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.kubelet import plan as p
from boxk8s.kubelet.clock import rfc3339
from boxk8s.kubelet.runtime.base import ContainerState, SandboxState
from boxk8s.kubelet.settings import KubeletSettings

NOW = 1_700_000_000.0
S = KubeletSettings()
SANDBOX = SandboxState("sb", "default", "web", "uid-1", "10.244.0.2", True)


def pod(containers: list[str] = ("app",), inits: list[str] = (), policy: str = "Always",  # type: ignore[assignment]
        **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-1", **meta},
        "spec": {
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": 30,
            "initContainers": [{"name": n, "image": "busybox"} for n in inits],
            "containers": [{"name": n, "image": "busybox"} for n in containers],
        },
    }


def c(name: str, status: str = "running", attempt: int = 0, code: int | None = None, init: bool = False,
      finished: float | None = None, cid: str | None = None) -> ContainerState:
    return ContainerState(
        id=cid or f"{name}-{attempt}", pod_uid="uid-1", namespace="default", pod_name="web", name=name,
        attempt=attempt, init=init, status=status,  # type: ignore[arg-type]
        exit_code=code, finished_at=rfc3339(finished) if finished is not None else "",
    )


def obs(*containers: ContainerState, sandbox: SandboxState | None = SANDBOX, **unhealthy: str) -> p.PodObserved:
    return p.PodObserved(sandbox, tuple(containers), unhealthy)


def plan(pod_: dict[str, Any] | None, observed: p.PodObserved, backoff: dict[str, p.BackoffEntry] | None = None,
         now: float = NOW, settings: KubeletSettings = S) -> list[p.Action]:
    return p.plan_pod_actions(pod_, observed, now, backoff or {}, settings)


def kinds(actions: list[p.Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


@pytest.mark.parametrize(("pod_", "observed", "expected"), [
    pytest.param(pod(), obs(sandbox=None), [p.CreateSandbox()], id="no sandbox"),
    pytest.param(pod(), obs(), [p.StartContainer("app", False, 0)], id="start app"),
    pytest.param(pod(inits=["i1", "i2"]), obs(), [p.StartContainer("i1", True, 0)], id="first init first"),
    pytest.param(pod(inits=["i1", "i2"]), obs(c("i1", init=True)), [], id="init running: wait"),
    pytest.param(pod(inits=["i1", "i2"]), obs(c("i1", "exited", code=0, init=True, finished=NOW)),
                 [p.StartContainer("i2", True, 0)], id="next init after success"),
    pytest.param(pod(inits=["i1"]), obs(c("i1", "exited", code=0, init=True, finished=NOW)),
                 [p.StartContainer("app", False, 0)], id="apps after inits"),
    pytest.param(pod(inits=["i1"], policy="Never"), obs(c("i1", "exited", code=1, init=True, finished=NOW)),
                 [], id="failed init with Never: pod failed, nothing more"),
    pytest.param(pod(policy="Never"), obs(c("app", "exited", code=1, finished=NOW)), [], id="Never: no restart"),
    pytest.param(pod(policy="OnFailure"), obs(c("app", "exited", code=0, finished=NOW)), [],
                 id="OnFailure, success: no restart"),
    pytest.param(pod(), obs(c("app", "created", cid="x")), [p.StartCreated("x", "app")], id="created: start it"),
])
def test_plan_table(pod_: dict[str, Any], observed: p.PodObserved, expected: list[p.Action]) -> None:
    assert plan(pod_, observed) == expected


@pytest.mark.parametrize("policy", ["Always", "OnFailure"])
def test_first_crash_restarts_at_once_and_records_backoff(policy: str) -> None:
    actions = plan(pod(policy=policy), obs(c("app", "exited", code=1, finished=NOW - 1)))
    assert actions == [p.RecordBackoff("crash/app", p.BackoffEntry(10.0, NOW - 1)),
                       p.StartContainer("app", False, 1)]


def test_init_failure_restarts_unless_never() -> None:
    actions = plan(pod(inits=["i1"], policy="OnFailure"), obs(c("i1", "exited", code=1, init=True, finished=NOW)))
    assert kinds(actions) == ["RecordBackoff", "StartContainer"]
    assert actions[-1] == p.StartContainer("i1", True, 1)


def test_crashloop_delays_double_to_the_cap() -> None:
    """Drive the plan through crash after crash: delays 10, 20, 40, ... 300 (base/cap from settings)."""
    settings = KubeletSettings(crashloop_base_seconds=10, crashloop_max_seconds=300)
    backoff: dict[str, p.BackoffEntry] = {}
    now = NOW
    attempt = 0
    seen: list[float] = []
    for _crash in range(9):
        latest = c("app", "exited", attempt=attempt, code=1, finished=now)
        actions = plan(pod(), obs(latest), backoff, now, settings)
        waits = [a for a in actions if isinstance(a, p.Wait)]
        if waits:
            [w] = waits
            assert w.reason == "CrashLoopBackOff"
            seen.append(w.until - now)
            assert w.message == (f"back-off {p.format_duration(w.until - now)} restarting failed container=app "
                                 "pod=web_default(uid-1)")
            now = w.until
            actions = plan(pod(), obs(latest), backoff, now, settings)
        records = [a for a in actions if isinstance(a, p.RecordBackoff)]
        backoff[records[0].key] = records[0].entry
        assert isinstance(actions[-1], p.StartContainer)
        attempt = actions[-1].attempt
        now += 1  # it crashes a second after starting
    assert seen == [10, 20, 40, 80, 160, 300, 300, 300]


def test_crashloop_small_base_and_reset() -> None:
    settings = KubeletSettings(crashloop_base_seconds=0.5, crashloop_max_seconds=4)
    entry = p.BackoffEntry(4, NOW)
    # Ran for longer than 2 × max without trouble: back to base.
    later = NOW + 100
    actions = plan(pod(), obs(c("app", "exited", code=1, finished=later)), {"crash/app": entry}, later + 0.1, settings)
    assert actions[0] == p.RecordBackoff("crash/app", p.BackoffEntry(0.5, later))


def test_format_duration() -> None:
    assert [p.format_duration(x) for x in (10, 20, 40, 80, 160, 300, 0.1, 1.5)] == \
        ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "100ms", "1.5s"]


def test_image_pull_backoff_waits() -> None:
    entry = p.BackoffEntry(10, NOW - 3)
    [w] = plan(pod(), obs(), {"image/app": entry})
    assert w == p.Wait("app", "ImagePullBackOff", 'Back-off pulling image "busybox"', NOW + 7)
    assert plan(pod(), obs(), {"image/app": entry}, now=NOW + 8) == [p.StartContainer("app", False, 0)]



def test_image_pull_backoff_message_carries_the_last_pull_error() -> None:
    entry = p.BackoffEntry(delay=10, last=NOW, reason="ErrImagePull",
                           message='failed to pull and unpack image "busybox:latest": not found')
    [w] = plan(pod(), obs(), {"image/app": entry})
    assert w == p.Wait("app", "ImagePullBackOff", 'Back-off pulling image "busybox": ErrImagePull: '
                       'failed to pull and unpack image "busybox:latest": not found', NOW + 10)


def test_image_backoff_doubles() -> None:
    e1 = p.next_backoff(None, NOW, 10, 300, 600)
    e2 = p.next_backoff(e1, NOW + 10, 10, 300, 600)
    e3 = p.next_backoff(e2, NOW + 30, 10, 300, 600)
    assert (e1.delay, e2.delay, e3.delay) == (10, 20, 40)


def test_create_error_wait_keeps_reason() -> None:
    entry = p.BackoffEntry(10, NOW, "CreateContainerConfigError", 'configmap "x" not found')
    assert plan(pod(), obs(), {"create/app": entry}) == [
        p.Wait("app", "CreateContainerConfigError", 'configmap "x" not found', NOW + 10)]


def test_liveness_failure_kills() -> None:
    actions = plan(pod(), obs(c("app", cid="a1"), a1="liveness"))
    assert actions == [p.KillContainer("a1", "app", 30, "liveness", None)]


def test_deletion_sequence() -> None:
    deleting = pod(deletionTimestamp="2024-01-01T00:00:00Z", deletionGracePeriodSeconds=5)
    deleting["spec"]["containers"][0]["lifecycle"] = {"preStop": {"exec": {"command": ["sh", "-c", "sleep 1"]}}}
    running = obs(c("app", cid="a1"))
    assert plan(deleting, running) == [p.KillContainer("a1", "app", 5, "deletion", ("sh", "-c", "sleep 1"))]
    stopped = obs(c("app", "exited", code=0, cid="a1", finished=NOW))
    assert plan(deleting, stopped) == [p.RemoveContainer("a1", "app"), p.RemoveSandbox("sb"),
                                       p.FinishPod(delete_object=True)]
    assert plan(deleting, obs(sandbox=None)) == [p.FinishPod(delete_object=True)]


def test_deletion_grace_has_a_minimum() -> None:
    deleting = pod(deletionTimestamp="2024-01-01T00:00:00Z", deletionGracePeriodSeconds=0)
    [kill] = plan(deleting, obs(c("app", cid="a1")))
    assert isinstance(kill, p.KillContainer) and kill.grace == p.MIN_GRACE_SECONDS


def test_gone_pod_is_torn_down_without_deleting_an_object() -> None:
    assert kinds(plan(None, obs(c("app", cid="a1")))) == ["KillContainer"]
    assert plan(None, obs(c("app", "exited", code=0, cid="a1"))) == [
        p.RemoveContainer("a1", "app"), p.RemoveSandbox("sb"), p.FinishPod(delete_object=False)]


def test_previous_instance_kept_older_removed() -> None:
    observed = obs(c("app", attempt=2), c("app", "exited", attempt=1, code=1, finished=NOW),
                   c("app", "exited", attempt=0, code=1, finished=NOW - 5))
    assert plan(pod(), observed) == [p.RemoveContainer("app-0", "app")]


def test_dead_sandbox_is_replaced() -> None:
    dead = SandboxState("sb", "default", "web", "uid-1", "", False)
    assert kinds(plan(pod(), obs(c("app", cid="a1"), sandbox=dead))) == ["SandboxChanged", "KillContainer"]
    assert plan(pod(), obs(c("app", "exited", code=137, cid="a1", finished=NOW), sandbox=dead)) == [
        p.SandboxChanged("sb"), p.RemoveSandbox("sb")]
    # A Never pod's containers are killed and stay dead; a finished pod's sandbox just goes.
    assert kinds(plan(pod(policy="Never"), obs(c("app", cid="a1"), sandbox=dead))) == ["KillContainer"]
    assert plan(pod(policy="Never"), obs(c("app", "exited", code=0, cid="a1", finished=NOW), sandbox=dead)) == [
        p.RemoveSandbox("sb")]
    # A finished pod (Never) gets no new sandbox.
    assert plan(pod(policy="Never"), obs(c("app", "exited", code=0, finished=NOW), sandbox=None)) == []


def test_spec_change_restarts() -> None:
    running = ContainerState("a1", "uid-1", "default", "web", "app", 0, False, "running",
                             labels={p.LABEL_SPEC_HASH: "stale"})
    [kill] = plan(pod(), obs(running))
    assert isinstance(kill, p.KillContainer) and kill.reason == "spec-changed"


@pytest.mark.parametrize(("spec", "solo"), [
    ({"containers": [{"name": "a"}]}, True),
    ({"containers": [{"name": "a"}], "volumes": [{"name": "v", "emptyDir": {}}]}, True),
    ({"containers": [{"name": "a"}, {"name": "b"}]}, False),  # share localhost and IPC
    ({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}, False),
    ({"containers": [{"name": "a"}], "hostNetwork": True}, False),
    ({"containers": [{"name": "a"}], "shareProcessNamespace": True}, False),
    ({"containers": []}, False),
])
def test_is_solo(spec: dict[str, object], solo: bool) -> None:
    assert p.is_solo({"spec": spec}) is solo


def reported(name: str, restarts: int, state: dict[str, Any], cid: str = "docker://old") -> dict[str, Any]:
    return {"name": name, "restartCount": restarts, "state": state, **({"containerID": cid} if cid else {})}


def with_status(pod_: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {**pod_, "status": status}


def test_a_container_removed_behind_the_kubelets_back_comes_back_counted() -> None:
    # `docker rm -f` of a running container: the runtime has no instance, the report had one.
    gone = with_status(pod(), {"containerStatuses": [reported("app", 2, {"running": {}})]})
    assert plan(gone, obs()) == [p.StartContainer("app", False, 3)]
    # The status already said it vanished (restartCount counted, no containerID): not counted twice.
    said = with_status(pod(), {"containerStatuses": [reported("app", 3, {"waiting": {"reason": "ContainerCreating"}}, "")]})
    assert plan(said, obs()) == [p.StartContainer("app", False, 3)]
    # A fresh pod: nothing reported yet.
    assert plan(with_status(pod(), {"containerStatuses": [reported("app", 0, {"waiting": {}}, "")]}), obs()) == [
        p.StartContainer("app", False, 0)]


@pytest.mark.parametrize(("policy", "code", "started"), [
    ("Never", 0, False), ("Never", 1, False), ("OnFailure", 0, False), ("OnFailure", 1, True), ("Always", 0, True)])
def test_an_ended_container_removed_afterwards_restarts_only_per_policy(policy: str, code: int, started: bool) -> None:
    ended = with_status(pod(policy=policy), {"containerStatuses": [
        reported("app", 0, {"terminated": {"exitCode": code, "reason": "Error" if code else "Completed"}})]})
    assert plan(ended, obs()) == ([p.StartContainer("app", False, 1)] if started else [])
