"""Is the app ready, still coming, or unable to succeed? Pure, for `boxk8s up --wait`.

Ready as `kubectl rollout status` and `kubectl wait` read it: a Deployment whose observed
generation is current and whose updated, available and total replicas all equal the desired
count (kubectl's DeploymentStatusViewer); a StatefulSet or DaemonSet likewise with its ready
counts; a Job complete (condition Complete); a bare Pod Ready. A pod that cannot succeed fails the
wait at once instead of at the timeout: an image that cannot be pulled (ImagePullBackOff, after a
first ErrImagePull; ErrImageNeverPull, InvalidImageName), a container crash-looping after its second
restart, a container whose config cannot be made (CreateContainerConfigError), or a pod the
scheduler cannot place (PodScheduled False, Unschedulable); a Job with condition Failed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources import selectors

Obj = Mapping[str, Any]

# ErrImagePull alone may pass (a registry hiccup); the back-off after it says the retry failed too.
IMAGE_FAILURES = ("ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName")
CONFIG_FAILURES = ("CreateContainerConfigError", "CreateContainerError")
CRASH_RESTARTS = 2  # CrashLoopBackOff counts as failed once the container restarted this often
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


@dataclass(frozen=True)
class PodFailure:
    namespace: str
    pod: str
    container: str  # "" for the pod as a whole (unschedulable)
    reason: str
    message: str


@dataclass(frozen=True)
class WorkloadState:
    kind: str
    namespace: str
    name: str
    ready: bool
    progress: str  # e.g. "2/3 ready"
    failures: tuple[PodFailure, ...] = ()
    failed_reason: str = ""  # the workload itself failed (a Job's Failed condition)

    @property
    def failed(self) -> bool:
        return bool(self.failures or self.failed_reason)


@dataclass
class Readiness:
    states: list[WorkloadState] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(s.ready for s in self.states)

    @property
    def failed(self) -> list[WorkloadState]:
        return [s for s in self.states if s.failed]


def _conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def pod_failures(pod: Obj) -> list[PodFailure]:
    """Why this pod cannot succeed (empty while it may still)."""
    md, status = pod.get("metadata") or {}, pod.get("status") or {}
    ns, name = md.get("namespace", ""), md.get("name", "")
    out: list[PodFailure] = []
    scheduled = _conditions(pod).get("PodScheduled") or {}
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        out.append(PodFailure(ns, name, "", "Unschedulable", str(scheduled.get("message", ""))))
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason", ""))
        crashing = reason == "CrashLoopBackOff" and int(cs.get("restartCount", 0)) >= CRASH_RESTARTS
        if reason in IMAGE_FAILURES or reason in CONFIG_FAILURES or crashing:
            out.append(PodFailure(ns, name, str(cs.get("name", "")), reason, str(waiting.get("message", ""))))
    return out


def _replicas(kind: str, obj: Obj) -> tuple[bool, str]:
    spec, status, md = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    current = int(status.get("observedGeneration", 0)) >= int(md.get("generation", 0))
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled", 0))
        ready = int(status.get("numberReady", 0))
        updated = int(status.get("updatedNumberScheduled", 0))
        return current and ready == desired and updated == desired, f"{ready}/{desired} ready"
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas", 0))
    updated = int(status.get("updatedReplicas", 0))
    total = int(status.get("replicas", 0))
    if kind == "Deployment":
        available = int(status.get("availableReplicas", 0))
        done = updated == desired and total == desired and available == desired
    else:  # StatefulSet: kubectl's StatefulSetStatusViewer (RollingUpdate)
        done = ready == desired and updated == desired
    return current and done, f"{ready}/{desired} ready"


def _owned_pods(obj: Obj, pods: Iterable[Obj]) -> list[Obj]:
    md = obj.get("metadata") or {}
    selector = (obj.get("spec") or {}).get("selector")
    if not selector:
        return []
    return [p for p in pods if (p.get("metadata") or {}).get("namespace") == md.get("namespace")
            and selectors.label_selector_matches(selector, (p.get("metadata") or {}).get("labels") or {})]


def workload_state(obj: Obj, pods: Iterable[Obj]) -> WorkloadState:
    kind, md = str(obj.get("kind", "")), obj.get("metadata") or {}
    ns, name = str(md.get("namespace", "")), str(md.get("name", ""))
    if kind == "Pod":
        ready = (_conditions(obj).get("Ready") or {}).get("status") == "True"
        phase = (obj.get("status") or {}).get("phase", "Pending")
        failures = tuple(pod_failures(obj))
        failed = "pod failed" if phase == "Failed" and (obj.get("spec") or {}).get("restartPolicy") == "Never" else ""
        return WorkloadState(kind, ns, name, ready or phase == "Succeeded", str(phase), failures, failed)
    owned = _owned_pods(obj, pods)
    failures = tuple(f for p in owned for f in pod_failures(p))
    if kind == "Job":
        conditions = _conditions(obj)
        complete = (conditions.get("Complete") or {}).get("status") == "True"
        failed = conditions.get("Failed") or {}
        reason = f"{failed.get('reason', 'Failed')}: {failed.get('message', '')}" if failed.get("status") == "True" else ""
        succeeded = int((obj.get("status") or {}).get("succeeded", 0))
        completions = int((obj.get("spec") or {}).get("completions") or 1)
        return WorkloadState(kind, ns, name, complete, f"{succeeded}/{completions} complete", failures, reason)
    ready, progress = _replicas(kind, obj)
    return WorkloadState(kind, ns, name, ready, progress, () if ready else failures)


def plan_readiness(workloads: Iterable[Obj], pods: Iterable[Obj]) -> Readiness:
    pods = list(pods)
    return Readiness([workload_state(w, pods) for w in workloads if w.get("kind") in WORKLOAD_KINDS])
