"""Is the app ready? Workloads and pods → ready, waiting, or failed with the pod's reason."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.devloop.readiness import plan_readiness, pod_failures, workload_state

Obj = dict[str, Any]


def pod(name: str, *, waiting: str = "", restarts: int = 0, ready: bool = False, labels: Obj | None = None,
        unschedulable: bool = False, phase: str = "Running") -> Obj:
    status: Obj = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if unschedulable:
        status["conditions"].append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                     "message": "0/1 nodes are available: 1 Insufficient cpu."})
    state: Obj = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    status["containerStatuses"] = [{"name": "app", "restartCount": restarts, "state": state}]
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns", "labels": labels or {"app": "web"}},
            "spec": {"restartPolicy": "Always"}, "status": status}


def deployment(desired: int = 2, *, ready: int = 2, updated: int = 2, available: int = 2, total: int = 2,
               generation: int = 1, observed: int = 1) -> Obj:
    return {"kind": "Deployment", "metadata": {"name": "web", "namespace": "ns", "generation": generation},
            "spec": {"replicas": desired, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": observed, "replicas": total, "readyReplicas": ready,
                       "updatedReplicas": updated, "availableReplicas": available}}


@pytest.mark.parametrize(("obj", "ready"), [
    (deployment(), True),
    (deployment(available=1), False),
    (deployment(observed=0), False),  # the controller has not seen the new spec yet
    (deployment(total=3), False),  # an old pod still around
    ({"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ns", "generation": 1},
      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}},
      "status": {"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2}}, True),
    ({"kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "ns"},
      "spec": {"selector": {"matchLabels": {"app": "ds"}}},
      "status": {"desiredNumberScheduled": 1, "numberReady": 0, "updatedNumberScheduled": 1}}, False),
    ({"kind": "Job", "metadata": {"name": "j", "namespace": "ns"}, "spec": {},
      "status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}}, True),
])
def test_workload_readiness_as_kubectl_rollout_status_reads_it(obj: Obj, ready: bool) -> None:
    assert workload_state(obj, []).ready is ready


@pytest.mark.parametrize(("p", "reason"), [
    (pod("a", waiting="ImagePullBackOff"), "ImagePullBackOff"),
    (pod("a", waiting="ErrImageNeverPull"), "ErrImageNeverPull"),
    (pod("a", waiting="CreateContainerConfigError"), "CreateContainerConfigError"),
    (pod("a", waiting="CrashLoopBackOff", restarts=2), "CrashLoopBackOff"),
    (pod("a", unschedulable=True), "Unschedulable"),
])
def test_pods_that_cannot_succeed(p: Obj, reason: str) -> None:
    assert [f.reason for f in pod_failures(p)] == [reason]


def test_a_first_crash_is_not_yet_a_failure() -> None:
    assert pod_failures(pod("a", waiting="CrashLoopBackOff", restarts=1)) == []
    assert pod_failures(pod("a", waiting="ContainerCreating")) == []
    assert pod_failures(pod("a", waiting="ErrImagePull")) == []  # its retry may still pull


def test_a_failing_pod_fails_its_deployment_and_the_app() -> None:
    state = plan_readiness([deployment(ready=1, available=1)],
                           [pod("web-1", ready=True), pod("web-2", waiting="ImagePullBackOff"),
                            pod("other", waiting="ImagePullBackOff", labels={"app": "other"})])
    assert not state.ready
    [failed] = state.failed
    assert failed.name == "web" and [f.pod for f in failed.failures] == ["web-2"]


def test_a_ready_deployment_ignores_a_leftover_failing_pod_and_bare_pods_count() -> None:
    state = plan_readiness([deployment(), pod("solo", ready=True)], [pod("web-x", waiting="ImagePullBackOff")])
    assert state.ready and state.failed == []


def test_a_failed_job_fails() -> None:
    job = {"kind": "Job", "metadata": {"name": "j", "namespace": "ns"}, "spec": {},
           "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                      "message": "Job has reached the specified backoff limit"}]}}
    [s] = plan_readiness([job], []).failed
    assert s.failed_reason.startswith("BackoffLimitExceeded")
